import Pipeline

extension Decrypt {
    /// Options of a `decrypt` transform:
    ///
    /// ```yaml
    /// transforms:
    ///   plain:
    ///     type: decrypt
    ///     inputs: [file]
    ///     key: spike-shared-key     # the room's shared E2EE key; or key_env: VAR
    /// ```
    public struct Config: Decodable, Sendable, Hashable {
        public var key: String?
        public var keyEnv: String?

        enum CodingKeys: String, CodingKey {
            case key
            case keyEnv = "key_env"
        }

        public init(key: String? = nil, keyEnv: String? = nil) {
            self.key = key
            self.keyEnv = keyEnv
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            key = try c.decodeIfPresent(String.self, forKey: .key)
            keyEnv = try c.decodeIfPresent(String.self, forKey: .keyEnv)
            if (key == nil) == (keyEnv == nil) {
                throw DecodingError.dataCorruptedError(forKey: .key, in: c, debugDescription: "give exactly one of key or key_env")
            }
            if key?.isEmpty == true {
                throw DecodingError.dataCorruptedError(forKey: .key, in: c, debugDescription: "key must not be empty")
            }
        }
    }

    public static let registration = StageRegistration(
        type: "decrypt", kind: .transform,
        summary: "decrypts E2EE ciphertext recorded in passthrough mode with the room's shared key"
    ) { options, context in
        .transform(try Decrypt(config: try options.decode(Config.self), environment: context.environment,
                               stage: context.stageName, file: context.configPath))
    }
}

import Pipeline
import Codecs

extension Decode {
    /// The payload encodings `decode` understands, by the names LiveKit and MCAP's registry use.
    public enum Encoding: String, Sendable, CaseIterable {
        case json
        case cbor
        case msgpack

        /// Accepts the registry name and common spellings (`messagepack`, `application/json`).
        public init?(name: String) {
            switch name.lowercased() {
            case "json", "application/json": self = .json
            case "cbor", "application/cbor": self = .cbor
            case "msgpack", "messagepack", "application/msgpack", "application/x-msgpack": self = .msgpack
            default: return nil
            }
        }
    }

    /// What to do with a frame that does not decode.
    public enum OnError: String, Sendable, CaseIterable {
        /// Pass it on without a value (nothing is lost; the default).
        case pass
        /// Drop it. Either way it is counted as `undecodable`.
        case drop
    }

    /// Options of a `decode` transform:
    ///
    /// ```yaml
    /// transforms:
    ///   decoded:
    ///     type: decode
    ///     inputs: [in]
    ///     encoding: json        # optional: used when the track declares no frame encoding
    ///     on_error: pass        # optional: pass (default) or drop
    /// ```
    ///
    /// The encoding comes from the track (`TrackInfo.frameEncoding`) when it names one of json,
    /// cbor, msgpack; otherwise from `encoding`; a frame with neither is undecodable.
    public struct Config: Decodable, Sendable {
        public var encoding: Encoding?
        public var onError: OnError

        public init(encoding: Encoding? = nil, onError: OnError = .pass) {
            self.encoding = encoding
            self.onError = onError
        }

        enum CodingKeys: String, CodingKey {
            case encoding
            case onError = "on_error"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let name = try c.decodeIfPresent(String.self, forKey: .encoding) {
                guard let encoding = Encoding(name: name) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .encoding, in: c,
                        debugDescription: "'\(name)' is not one of \(Encoding.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                self.encoding = encoding
            }
            let onError = try c.decodeIfPresent(String.self, forKey: .onError) ?? "pass"
            guard let policy = OnError(rawValue: onError) else {
                throw DecodingError.dataCorruptedError(forKey: .onError, in: c,
                                                       debugDescription: "'\(onError)' is not one of pass, drop")
            }
            self.onError = policy
        }
    }

    public static let registration = StageRegistration(
        type: "decode", kind: .transform,
        summary: "decodes JSON, CBOR or MessagePack payloads into a value tree (value.a.b)"
    ) { options, _ in
        .transform(Decode(config: try options.decode(Config.self)))
    }
}

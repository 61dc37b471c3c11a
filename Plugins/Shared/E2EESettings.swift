import DataTracks
import Foundation
import Pipeline

/// The `e2ee` option of the room stages:
///
/// ```yaml
/// e2ee:
///   mode: passthrough        # room source: passthrough (default without a key) or decrypt
///   key: spike-shared-key    # the room's shared key, as LiveKit's SDKs take it (`shared_key`);
///                            # or key_env: VAR
/// ```
///
/// A shared key is key material, not the AES key: it goes through PBKDF2-HMAC-SHA256 (100,000
/// rounds, salt `LKFrameEncryptionKey`) as in every LiveKit SDK, once, here.
public struct E2EESettings: Decodable, Sendable, Hashable {
    public enum Mode: String, Decodable, Sendable, Hashable, CaseIterable {
        /// Keep ciphertext with its key index and IV (`SealedFrame`); no key needed.
        case passthrough
        /// Decrypt with the key and keep plaintext.
        case decrypt
    }

    public var mode: Mode?
    public var key: String?
    public var keyEnv: String?

    enum CodingKeys: String, CodingKey {
        case mode, key
        case keyEnv = "key_env"
    }

    public init(mode: Mode? = nil, key: String? = nil, keyEnv: String? = nil) {
        self.mode = mode
        self.key = key
        self.keyEnv = keyEnv
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let raw = try c.decodeIfPresent(String.self, forKey: .mode) {
            guard let mode = Mode(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .mode, in: c,
                    debugDescription: "e2ee.mode must be one of \(Mode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
            }
            self.mode = mode
        }
        key = try c.decodeIfPresent(String.self, forKey: .key)
        keyEnv = try c.decodeIfPresent(String.self, forKey: .keyEnv)
        if key != nil && keyEnv != nil {
            throw DecodingError.dataCorruptedError(forKey: .keyEnv, in: c, debugDescription: "give either e2ee.key or e2ee.key_env, not both")
        }
        if key?.isEmpty == true {
            throw DecodingError.dataCorruptedError(forKey: .key, in: c, debugDescription: "e2ee.key must not be empty")
        }
    }

    /// What a stage does with encrypted tracks: the mode, and the keys when it has one.
    public struct Resolved: Sendable {
        public var mode: Mode
        public var keys: E2EEKeyProvider?
    }

    /// Mode and keys: `decrypt` needs a key; without a mode, a key means decrypt and no key
    /// means passthrough.
    public func resolve(environment: [String: String], stage: String, file: String?) throws -> Resolved {
        func problem(_ message: String) -> PipelineError { PipelineError(message: message, file: file, stage: stage) }
        var material = key
        if let keyEnv {
            let env = environment.isEmpty ? ProcessInfo.processInfo.environment : environment
            guard let value = env[keyEnv], !value.isEmpty else {
                throw problem("e2ee.key_env: environment variable \(keyEnv) is not set or empty")
            }
            material = value
        }
        let mode = self.mode ?? (material == nil ? .passthrough : .decrypt)
        if mode == .decrypt && material == nil { throw problem("e2ee.mode decrypt needs e2ee.key or e2ee.key_env") }
        guard let material else { return Resolved(mode: mode, keys: nil) }
        do {
            return Resolved(mode: mode, keys: try E2EEKeyProvider(sharedKey: Array(material.utf8)))
        } catch {
            throw problem("e2ee.key: \(error)")
        }
    }
}

import Pipeline
import Codecs

extension Decode {
    /// The payload encodings `decode` understands, by the names LiveKit and MCAP's registry use.
    public enum Encoding: String, Sendable, CaseIterable {
        case json
        case cbor
        case msgpack
        /// Protocol Buffers; needs the message type's FileDescriptorSet (schema encoding `protobuf`).
        case protobuf
        /// ROS 2 messages in CDR; needs the `.msg` definitions (schema encoding `ros2msg`).
        case cdr

        /// Accepts the registry name and common spellings (`messagepack`, `application/json`).
        public init?(name: String) {
            switch name.lowercased() {
            case "json", "application/json": self = .json
            case "cbor", "application/cbor": self = .cbor
            case "msgpack", "messagepack", "application/msgpack", "application/x-msgpack": self = .msgpack
            case "protobuf", "proto", "application/protobuf", "application/x-protobuf": self = .protobuf
            case "cdr", "ros2": self = .cdr
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
    ///     schema: foxglove.Imu  # optional: schema name for protobuf/cdr tracks that declare none
    ///     on_error: pass        # optional: pass (default) or drop
    /// ```
    ///
    /// The encoding comes from the track (`TrackInfo.frameEncoding`) when it declares one;
    /// otherwise from `encoding`. A frame with neither, with an encoding not listed above, or
    /// (protobuf, cdr) without a schema is undecodable, counted by reason (docs/schemas.md).
    public struct Config: Decodable, Sendable {
        public var encoding: Encoding?
        public var schema: String?
        public var onError: OnError

        public init(encoding: Encoding? = nil, schema: String? = nil, onError: OnError = .pass) {
            self.encoding = encoding
            self.schema = schema
            self.onError = onError
        }

        enum CodingKeys: String, CodingKey {
            case encoding
            case schema
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
            schema = try c.decodeIfPresent(String.self, forKey: .schema)
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
        summary: "decodes JSON, CBOR, MessagePack, Protobuf or ROS 2 CDR payloads into a value tree (value.a.b)"
    ) { options, context in
        .transform(Decode(config: try options.decode(Config.self), schemaDirectories: context.schemaDirectories))
    }
}

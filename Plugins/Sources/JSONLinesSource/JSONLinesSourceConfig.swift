import Pipeline

extension JSONLinesSource {
    /// Options of a `jsonl` source:
    ///
    /// ```yaml
    /// sources:
    ///   frames:
    ///     type: jsonl
    ///     path: frames.jsonl        # required; "-" reads standard input
    ///     frame_encoding: json      # optional: stamped on every track (JSON lines carry none)
    ///     batch_size: 1024          # optional: frames per batch sent downstream
    /// ```
    public struct Config: Decodable, Sendable {
        public var path: String
        public var frameEncoding: String?
        public var batchSize: Int

        public init(path: String, frameEncoding: String? = nil, batchSize: Int = 1024) {
            self.path = path
            self.frameEncoding = frameEncoding
            self.batchSize = batchSize
        }

        enum CodingKeys: String, CodingKey {
            case path
            case frameEncoding = "frame_encoding"
            case batchSize = "batch_size"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            frameEncoding = try c.decodeIfPresent(String.self, forKey: .frameEncoding)
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 1024
            guard batchSize >= 1 else {
                throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "must be at least 1")
            }
        }
    }

    public static let registration = StageRegistration(
        type: "jsonl", kind: .source,
        summary: "reads frames from a JSON lines file ({identity, track, time_ns, user_timestamp, payload_b64})"
    ) { options, _ in
        .source(JSONLinesSource(config: try options.decode(Config.self)))
    }
}

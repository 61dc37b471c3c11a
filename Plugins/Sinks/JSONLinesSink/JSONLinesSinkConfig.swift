import Pipeline

extension JSONLinesSink {
    /// Options of a `jsonl` sink:
    ///
    /// ```yaml
    /// sinks:
    ///   out:
    ///     type: jsonl
    ///     inputs: [decoded]
    ///     path: out.jsonl          # required; "-" writes standard output
    ///     include_value: true      # optional: add "value" for frames a decode stage decoded
    /// ```
    public struct Config: Decodable, Sendable {
        public var path: String
        public var includeValue: Bool

        public init(path: String, includeValue: Bool = true) {
            self.path = path
            self.includeValue = includeValue
        }

        enum CodingKeys: String, CodingKey {
            case path
            case includeValue = "include_value"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            includeValue = try c.decodeIfPresent(Bool.self, forKey: .includeValue) ?? true
        }
    }

    public static let registration = StageRegistration(
        type: "jsonl", kind: .sink,
        summary: "writes frames as JSON lines, with \"value\" when decoded"
    ) { options, _ in
        .sink(JSONLinesSink(config: try options.decode(Config.self)))
    }
}

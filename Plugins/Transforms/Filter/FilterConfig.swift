import Pipeline

extension Filter {
    /// Options of a `filter` transform:
    ///
    /// ```yaml
    /// transforms:
    ///   hot_imu:
    ///     type: filter
    ///     inputs: [decoded]
    ///     condition: 'track == "imu" && value.accel.z > 9.5'
    /// ```
    ///
    /// The condition language is described on `FilterExpression`. A syntax error is reported
    /// at its line and column in the config file (for a condition written on one line).
    public struct Config: Decodable, Sendable {
        public var condition: String

        public init(condition: String) {
            self.condition = condition
        }

        enum CodingKeys: String, CodingKey {
            case condition
        }
    }

    public static let registration = StageRegistration(
        type: "filter", kind: .transform,
        summary: "keeps frames for which a condition over identity, track, time, size, value… is true"
    ) { options, _ in
        let config = try options.decode(Config.self)
        do {
            return .transform(try Filter(config: config))
        } catch let error as FilterSyntaxError {
            // Point at the column inside the condition's text when it maps onto one file line.
            let node = options.node?["condition"]
            if let node, let offset = node.textColumnOffset, !config.condition.contains("\n") {
                let at = ConfigPosition(line: node.position.line, column: node.position.column + offset + error.column - 1)
                throw options.error("condition: \(error.message)", at: at)
            }
            throw options.error("condition, column \(error.column): \(error.message)", at: node?.position)
        }
    }
}

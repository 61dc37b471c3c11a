import Pipeline
import Codecs

/// Keeps the frames for which the condition is true; events pass through. The condition is
/// parsed once when the stage is built.
public struct Filter: TransformStage {
    public let config: Config
    let expression: FilterExpression

    /// Throws `FilterSyntaxError` (internal; the registration maps it to the config file) when
    /// the condition does not parse; programmatic callers get it as the thrown error.
    public init(config: Config) throws {
        self.config = config
        self.expression = try FilterParser.parse(config.condition)
    }

    /// The `value…` paths the condition names; `track`, `identity` and the other fields are
    /// not in the value.
    public var valueReads: ValueReads { .paths(expression.valuePaths) }

    public func process(_ batch: Batch) async throws -> Batch {
        Batch(frames: batch.frames.filter { expression.accepts($0) }, events: batch.events)
    }
}

extension FilterSyntaxError: CustomStringConvertible {
    var description: String { "column \(column): \(message)" }
}

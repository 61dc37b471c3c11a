/// A stage's own options from the config (everything but `type` and `inputs`), with the
/// position of each value in its file so errors can name file, line and column.
///
/// Stages declare a `Config: Decodable` type and call `decode`; keys the type does not read are
/// rejected as unknown options.
public struct StageOptions: Sendable {
    // Filled in by the config loader (PipelineConfig). Placeholder storage until then.
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        throw PipelineError(message: "stage options decoding is not implemented yet")
    }
}

/// The Pipeline module's one error type: what went wrong and where.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var stage: String?

    public init(message: String, file: String? = nil, line: Int? = nil, column: Int? = nil, stage: String? = nil) {
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.stage = stage
    }

    public var description: String {
        var place = file ?? ""
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        var s = place.isEmpty ? "" : place + ": "
        if let stage { s += "stage '\(stage)': " }
        return s + message
    }
}

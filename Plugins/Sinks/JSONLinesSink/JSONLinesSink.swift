import Pipeline

/// Writes frames as JSON lines (format: `JSONLinesCodec`). The file is created at the first
/// batch (or at `finish` for an empty run), so building the stage touches nothing.
public actor JSONLinesSink: SinkStage {
    public let config: Config
    private var writer: JSONLinesWriter?

    public init(config: Config) {
        self.config = config
    }

    /// `"value"` is written whole when `include_value` is on.
    public nonisolated var valueReads: ValueReads { config.includeValue ? .all : .none }

    private func open() throws -> JSONLinesWriter {
        if let writer { return writer }
        let made = try JSONLinesWriter(path: config.path, includeValue: config.includeValue)
        writer = made
        return made
    }

    public func write(_ batch: Batch) async throws {
        let writer = try open()
        for frame in batch.frames { try writer.write(frame) }
    }

    public func finish() async throws {
        try open().close()
    }
}

extension JSONLinesSink {
    public nonisolated var outputFiles: [String] { [config.path] }
}

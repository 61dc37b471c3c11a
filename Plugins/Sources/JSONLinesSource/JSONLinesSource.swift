import Pipeline

/// Reads frames from a JSON lines file (format: `JSONLinesCodec`) and emits them in batches.
/// A malformed line stops the source with an error naming the file, line and column. The file
/// is opened when the source runs, not when it is built, so `validate` touches nothing.
public struct JSONLinesSource: SourceStage {
    public let config: Config

    public init(config: Config) {
        self.config = config
    }

    public func run(into output: any BatchEmitter) async throws {
        let reader = try JSONLinesReader(path: config.path, frameEncoding: config.frameEncoding)
        var frames: [Frame] = []
        frames.reserveCapacity(config.batchSize)
        while let frame = try reader.next() {
            frames.append(frame)
            if frames.count >= config.batchSize {
                try await output.emit(Batch(frames: frames))
                frames.removeAll(keepingCapacity: true)
            }
        }
        if !frames.isEmpty { try await output.emit(Batch(frames: frames)) }
    }
}

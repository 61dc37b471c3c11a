import Pipeline

/// Reads frames from a JSON lines file (format: `JSONLinesCodec`) and emits them in batches.
/// A malformed line stops the source with an error naming the file, line and column. The file
/// is opened when the source runs, not when it is built, so `validate` touches nothing. From a
/// pipe (`path: "-"`), frames are passed on as they arrive rather than in full batches.
public struct JSONLinesSource: SourceStage {
    public let config: Config

    public init(config: Config) {
        self.config = config
    }

    public func run(into output: any BatchEmitter) async throws {
        let reader = try JSONLinesReader(path: config.path, frameEncoding: config.frameEncoding)
        var frames: [Frame] = []
        frames.reserveCapacity(config.batchSize)
        while true {
            switch try reader.step(blocking: false) {
            case .frame(let frame):
                frames.append(frame)
                if frames.count >= config.batchSize {
                    try await output.emit(Batch(frames: frames))
                    frames.removeAll(keepingCapacity: true)
                }
            case .wouldBlock:
                // A quiet pipe (standard input): pass on what has arrived, then wait without
                // blocking a thread, so SIGINT (task cancellation) is noticed promptly.
                if !frames.isEmpty {
                    try await output.emit(Batch(frames: frames))
                    frames.removeAll(keepingCapacity: true)
                }
                try await Task.sleep(nanoseconds: 2_000_000)
            case .end:
                if !frames.isEmpty { try await output.emit(Batch(frames: frames)) }
                return
            }
        }
    }
}

extension JSONLinesSource {
    public nonisolated var inputFiles: [String] { [config.path] }
}

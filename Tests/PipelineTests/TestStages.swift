import Foundation
@testable import Pipeline
import TrackModel

/// Real stages for runtime tests (they produce and record real frames; nothing is faked about
/// the runtime under test).
struct CountingSource: SourceStage {
    var count: Int
    var batchSize: Int
    var track = TrackInfo(identity: "robot-1", name: "imu")
    var sessionMetadata: [String: String] = [:]

    func run(into output: any BatchEmitter) async throws {
        var sent = 0
        while sent < count {
            let n = min(batchSize, count - sent)
            let frames = (0..<n).map { i in
                Frame(track: track, payload: [UInt8(truncatingIfNeeded: sent + i)], userTimestamp: UInt64(sent + i),
                      receiveTimeNs: Int64(sent + i), sequence: UInt64(sent + i))
            }
            try await output.emit(Batch(frames: frames))
            sent += n
        }
    }
}

/// Emits one-frame batches until cancelled (a live source that never ends by itself).
struct EndlessSource: SourceStage {
    var delayNanoseconds: UInt64 = 0
    func run(into output: any BatchEmitter) async throws {
        var i: UInt64 = 0
        while true {
            try await output.emit(Batch(frames: [Frame(track: TrackInfo(identity: "a", name: "b"), payload: [1],
                                                       userTimestamp: i, receiveTimeNs: Int64(i))]))
            i += 1
            if delayNanoseconds > 0 { try await Task.sleep(nanoseconds: delayNanoseconds) }
        }
    }
}

/// A live source that holds what arrives until the pipeline stops, then hands it all over in
/// one-frame batches (the room source's pattern: its last frames go out after the stop).
struct HoldingSource: SourceStage {
    var held: Int
    func run(into output: any BatchEmitter) async throws {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self)
        await withSourceStopHandler {
            for await _ in wakes {}
        } onStop: {
            wake.finish()
        }
        for i in 0..<held {
            try await output.emit(Batch(frames: [Frame(track: TrackInfo(identity: "a", name: "held"), payload: [UInt8(i & 0xFF)],
                                                       userTimestamp: UInt64(i), receiveTimeNs: Int64(i))]))
        }
    }
}

struct FailingSource: SourceStage {
    var after: Int
    func run(into output: any BatchEmitter) async throws {
        try await CountingSource(count: after, batchSize: 10).run(into: output)
        throw PipelineError(message: "disk on fire", file: "in.dat", line: 3)
    }
}

actor CollectingSink: SinkStage {
    private(set) var frames: [Frame] = []
    private(set) var inherited: [[String: String]] = []
    private(set) var finishCount = 0
    private(set) var writesAfterFinish = 0
    var delayNanoseconds: UInt64

    init(delayNanoseconds: UInt64 = 0) {
        self.delayNanoseconds = delayNanoseconds
    }

    func write(_ batch: Batch) async throws {
        if finishCount > 0 { writesAfterFinish += 1 }
        frames.append(contentsOf: batch.frames)
        if delayNanoseconds > 0 { try? await Task.sleep(nanoseconds: delayNanoseconds) }
    }

    func finish() async throws {
        finishCount += 1
    }

    func inherit(sessionMetadata: [String: String]) {
        inherited.append(sessionMetadata)
    }
}

/// Sets `value` to "marked": lets tests see which path a frame took.
struct MarkingTransform: TransformStage {
    func process(_ batch: consuming Batch) async throws -> Batch {
        Batch(frames: batch.frames.map { var f = $0; f.value = .string("marked"); return f }, events: batch.events)
    }
}

struct FailingTransform: TransformStage {
    func process(_ batch: consuming Batch) async throws -> Batch {
        throw PipelineError(message: "cannot digest")
    }
}

/// A registry for config tests: a source with options, a transform, a sink.
enum TestRegistry {
    struct SourceOptions: Decodable {
        var count: Int
        var label: String?
        var nested: Nested?
        struct Nested: Decodable {
            var ratio: Double
            var tags: [String]?
        }
    }
    struct NoOptions: Decodable {}

    static let all: [StageRegistration] = [
        StageRegistration(type: "counter", kind: .source, summary: "counts") { options, _ in
            let o = try options.decode(SourceOptions.self)
            return .source(CountingSource(count: o.count, batchSize: 16))
        },
        StageRegistration(type: "live", kind: .source, summary: "endless", isLive: true) { options, _ in
            _ = try options.decode(NoOptions.self)
            return .source(EndlessSource())
        },
        StageRegistration(type: "mark", kind: .transform, summary: "marks") { options, _ in
            _ = try options.decode(NoOptions.self)
            return .transform(MarkingTransform())
        },
        StageRegistration(type: "collect", kind: .sink, summary: "collects") { options, _ in
            _ = try options.decode(NoOptions.self)
            return .sink(CollectingSink())
        },
    ]
}

import Foundation
@testable import Pipeline
import Recording
@testable import Stages
import TrackModel
import Codecs
import Synthetic
import TestSupport

actor CollectingSink: SinkStage {
    private(set) var frames: [Frame] = []
    private(set) var finishCount = 0
    /// What it says it reads of `Frame.value` (a decode upstream builds only that).
    nonisolated let valueReads: ValueReads
    init(valueReads: ValueReads = .all) { self.valueReads = valueReads }
    func write(_ batch: Batch) async throws { frames.append(contentsOf: batch.frames) }
    func finish() async throws { finishCount += 1 }
}

struct ArraySource: SourceStage {
    var frames: [Frame]
    var batchSize: Int
    func run(into output: any BatchEmitter) async throws {
        var i = 0
        while i < frames.count {
            try await output.emit(Batch(frames: Array(frames[i..<min(i + batchSize, frames.count)])))
            i += batchSize
        }
    }
}


func temporaryPath(_ name: String) -> String { TestSupport.temporaryPath(name, folder: "trackbag-stages") }

func frame(_ identity: String = "robot-1", _ track: String = "imu", payload: [UInt8] = [], ts: UInt64? = nil,
           time: Int64 = 0, value: Value? = nil, encoding: String? = nil) -> Frame {
    Frame(track: TrackInfo(identity: identity, name: track, frameEncoding: encoding), payload: payload,
          userTimestamp: ts, receiveTimeNs: time, value: value)
}

import Foundation
@testable import Pipeline
import Recording
@testable import Stages

actor CollectingSink: SinkStage {
    private(set) var frames: [Frame] = []
    private(set) var finishCount = 0
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

/// SplitMix64 (Steele, Lea, Flood 2014): a seedable generator so a failing property test
/// can be replayed from its seed (`SystemRandomNumberGenerator` cannot be seeded).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trackbag-stages-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(hex.filter { !$0.isWhitespace })
    while chars.count >= 2 {
        out.append(UInt8(String(chars[0..<2]), radix: 16)!)
        chars.removeFirst(2)
    }
    return out
}

func frame(_ identity: String = "robot-1", _ track: String = "imu", payload: [UInt8] = [], ts: UInt64? = nil,
           time: Int64 = 0, value: Value? = nil, encoding: String? = nil) -> Frame {
    Frame(track: TrackInfo(identity: identity, name: track, frameEncoding: encoding), payload: payload,
          userTimestamp: ts, receiveTimeNs: time, value: value)
}

import Synthetic
import XCTest
@testable import Pipeline
import Recording
@testable import Stages
import TrackModel

/// Every built-in transform passes user timestamps through untouched: random
/// frames through random chains of the transforms, configured so they keep every frame, and
/// through jsonl sink → source round trips.
final class PropertyTests: XCTestCase {
    func randomFrames(_ rng: inout SplitMix64, count: Int) -> [Frame] {
        let tracks = [TrackInfo(identity: "robot-1", name: "imu", frameEncoding: "json"),
                      TrackInfo(identity: "robot-2", name: "telemetry", frameEncoding: "cbor"),
                      TrackInfo(identity: "robot-2", name: "blob")]
        var time: Int64 = 1_700_000_000_000_000_000
        return (0..<count).map { i in
            let payload: [UInt8]
            switch rng.next() % 4 {
            case 0: payload = Array(#"{"x":\#(rng.next() % 1000),"y":[1,2]}"#.utf8)
            case 1: payload = []
            default: payload = (0..<Int(rng.next() % 200)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            let ts: UInt64?
            switch rng.next() % 6 {
            case 0: ts = nil
            case 1: ts = 0
            case 2: ts = UInt64.max
            default: ts = rng.next()
            }
            time += Int64(rng.next() % 5_000_000)
            return Frame(track: tracks[Int(rng.next() % 3)], payload: payload, userTimestamp: ts,
                         receiveTimeNs: time, sequence: UInt64(i))
        }
    }

    func randomTransform(_ rng: inout SplitMix64) throws -> (String, any TransformStage) {
        switch rng.next() % 4 {
        case 0:
            let encoding: Decode.Encoding? = [nil, .json, .cbor, .msgpack][Int(rng.next() % 4)]
            return ("decode", Decode(config: .init(encoding: encoding, onError: .pass)))
        case 1:
            let always = ["true", "user_timestamp == null || user_timestamp >= 0", "size >= 0 || value.x == 1",
                          #"!(track == "never") && time > 0"#]
            return ("filter", try Filter(config: .init(condition: always[Int(rng.next() % UInt64(always.count))])))
        case 2:
            return ("downsample", Downsample(config: .init(rule: .every(1))))
        default:
            return ("downsample-rate", Downsample(config: .init(rule: .maxRateHz(1e12))))
        }
    }

    func testUserTimestampsSurviveRandomPipelines() async throws {
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            let frames = randomFrames(&rng, count: Int(rng.next() % 500) + 1)
            var graph = PipelineGraph()
            graph.addSource("src", ArraySource(frames: frames, batchSize: Int(rng.next() % 64) + 1))
            var previous = "src"
            var names: [String] = []
            for step in 0..<Int(rng.next() % 5) {
                let (name, stage) = try randomTransform(&rng)
                names.append(name)
                graph.addTransform("t\(step)", stage, inputs: [previous], buffer: EdgeBuffer(capacity: Int(rng.next() % 100) + 1))
                previous = "t\(step)"
            }
            let roundTrip = rng.next() % 2 == 0
            let sink = CollectingSink()
            if roundTrip {
                let path = temporaryPath("prop-\(seed).jsonl")
                graph.addSink("file", JSONLinesSink(config: .init(path: path)), inputs: [previous])
                try await graph.run()
                var back = PipelineGraph()
                back.addSource("file", JSONLinesSource(config: .init(path: path, batchSize: 17)))
                back.addSink("mem", sink, inputs: ["file"])
                try await back.run()
            } else {
                graph.addSink("mem", sink, inputs: [previous])
                try await graph.run()
            }
            let out = await sink.frames
            let context = "seed \(seed), chain \(names), jsonl round trip \(roundTrip)"
            XCTAssertEqual(out.count, frames.count, context)
            XCTAssertEqual(out.map(\.userTimestamp), frames.map(\.userTimestamp), context)
            XCTAssertEqual(out.map(\.payload), frames.map(\.payload), context)
            XCTAssertEqual(out.map(\.receiveTimeNs), frames.map(\.receiveTimeNs), context)
        }
    }
}

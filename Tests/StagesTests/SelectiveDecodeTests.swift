import XCTest
import Codecs
@testable import Pipeline
@testable import Stages
import Synthetic
import TrackModel

/// `decode` builds only what the stages downstream read (`PipelineGraph.valueReads`), and the
/// frames that come out of filter and downsample are the same as with a full decode.
final class SelectiveDecodeTests: XCTestCase {
    func testStagesSayWhatTheyRead() throws {
        let filter = try Filter(config: .init(condition: #"value.accel.z > 9.5 && track != "x" && (value.tags[1] == "b" || size > 3)"#))
        XCTAssertEqual(filter.valueReads, .paths([[.member("accel"), .member("z")], [.member("tags"), .index(1)]]))
        XCTAssertEqual(try Filter(config: .init(condition: #"identity matches "r*" && time > 0"#)).valueReads, .none)
        XCTAssertEqual(try Filter(config: .init(condition: "value != null")).valueReads, .paths([[]]))
        XCTAssertEqual(ValueReads.paths([[]]).selection, .whole)
        XCTAssertEqual(Downsample(config: .init(rule: .every(2))).valueReads, .none)
        XCTAssertEqual(JSONLinesSink(config: .init(path: "/dev/null")).valueReads, .all)
        XCTAssertEqual(JSONLinesSink(config: .init(path: "/dev/null", includeValue: false)).valueReads, .none)
        XCTAssertEqual(RecordingSink(config: .init(path: "/dev/null")).valueReads, .none)
    }

    func testGraphUnitesWhatConsumersReadThroughTransforms() throws {
        var graph = PipelineGraph()
        graph.addSource("in", ArraySource(frames: [], batchSize: 1))
        graph.addTransform("decode", Decode(config: .init(encoding: .json)), inputs: ["in"])
        graph.addTransform("hot", try Filter(config: .init(condition: "value.accel.z > 9.5")), inputs: ["decode"])
        graph.addTransform("thin", Downsample(config: .init(rule: .every(2))), inputs: ["hot"])
        graph.addTransform("mode", try Filter(config: .init(condition: #"value.mode == "auto""#)), inputs: ["decode"])
        graph.addSink("a", CollectingSink(valueReads: .none), inputs: ["thin"])
        graph.addSink("b", CollectingSink(valueReads: .paths([[.member("seq")]])), inputs: ["mode", "thin"])
        let decode = graph.nodes[1]
        XCTAssertEqual(graph.valueReads(downstreamOf: decode),
                       .paths([[.member("accel"), .member("z")], [.member("mode")], [.member("seq")]]))
        // One consumer that reads everything (or does not say) makes it all.
        graph.addSink("c", CollectingSink(), inputs: ["thin"])
        XCTAssertEqual(graph.valueReads(downstreamOf: decode), .all)
    }

    /// Telemetry-like payloads, some malformed, on four tracks.
    func payloads() -> [[UInt8]] {
        var rng = SplitMix64(seed: 42)
        return (0..<600).map { i in
            let z = Double(Int.random(in: 900...1000, using: &rng)) / 100
            var text = #"{"seq":\#(i),"pos":{"x":1.5,"y":[1,2,{"q":"\u00e9"}]},"accel":{"x":0.1,"z":\#(z)},"tags":["a","\#(i % 3 == 0 ? "b" : "c")"],"mode":"auto"}"#
            switch i % 50 {
            case 7: text.removeLast()                                          // truncated
            case 13: text = text.replacingOccurrences(of: #""x":1.5"#, with: #""x":01.5"#)  // bad number where nothing is read
            case 21: text = text.replacingOccurrences(of: #"\u00e9"#, with: #"\ud800"#)    // unpaired surrogate, skipped part
            case 33: text = #"{"accel":{"z":9.9},"accel":{"z":1}}"#            // duplicate: the first counts
            case 41: text = "[9.9]"                                            // not an object
            default: break
            }
            return Array(text.utf8)
        }
    }

    func run(selective: Bool, onError: Decode.OnError) async throws -> (frames: [Frame], undecodable: [String: UInt64]) {
        let frames = payloads().enumerated().map { i, payload in
            frame("robot-\(i % 2)", "imu-\(i % 4 / 2)", payload: payload, ts: UInt64(i), time: Int64(i) * 1_000_000, encoding: "json")
        }
        var graph = PipelineGraph()
        graph.addSource("in", ArraySource(frames: frames, batchSize: 37))
        let decode = Decode(config: .init(onError: onError))
        graph.addTransform("decode", decode, inputs: ["in"])
        graph.addTransform("filter", try Filter(config: .init(condition: #"value.accel.z > 9.5 || value.tags[1] == "b""#)),
                           inputs: ["decode"])
        graph.addTransform("downsample", Downsample(config: .init(rule: .maxRateHz(400))), inputs: ["filter"])
        let sink = CollectingSink(valueReads: selective ? .none : .all)
        graph.addSink("out", sink, inputs: ["downsample"])
        try await graph.run()
        let statistics = await decode.statistics()
        return (await sink.frames, Dictionary(statistics.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }))
    }

    func testFilterAndDownsampleKeepTheSameFramesAsWithAFullDecode() async throws {
        for onError in [Decode.OnError.pass, .drop] {
            let full = try await run(selective: false, onError: onError)
            let selective = try await run(selective: true, onError: onError)
            XCTAssertGreaterThan(full.frames.count, 50)
            XCTAssertLessThan(full.frames.count, 400)
            XCTAssertEqual(selective.frames.map(\.userTimestamp), full.frames.map(\.userTimestamp))
            XCTAssertEqual(selective.frames.map(\.payload), full.frames.map(\.payload))
            XCTAssertEqual(selective.undecodable, full.undecodable)
            XCTAssertEqual(full.undecodable["undecodable_bad_payload"], 36)
            // The selective values hold just what the filter reads.
            let first = try XCTUnwrap(selective.frames.first { $0.value.map { if case .object = $0 { return true } else { return false } } ?? false })
            XCTAssertEqual(first.value.map { Set(($0.objectKeys)) }, ["accel", "tags"])
        }
    }
}

private extension Value {
    var objectKeys: [String] {
        if case .object(let members) = self { return members.map(\.key) }
        return []
    }
}

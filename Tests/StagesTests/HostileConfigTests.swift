import Foundation
import XCTest
@testable import Pipeline
import Recording
@testable import Stages
import TrackModel

/// Configs and pipelines built to hurt: an output that is an input, YAML alias bombs,
/// conditions too large to evaluate. Each is refused with an error naming the place.
final class HostileConfigTests: XCTestCase {
    func makeRecording(_ name: String) throws -> String {
        let p = temporaryPath("hostile-\(UUID().uuidString)-\(name)")
        let w = try RecordingWriter(path: p, options: .init(chunkIntervalNs: nil))
        let t = try w.addTrack(TrackInfo(identity: "r", name: "a"))
        for i in 0..<3 { try w.append(track: t, receiveTimeNs: Int64(i), userTimestamp: nil, payload: [UInt8(i)]) }
        try w.close()
        return p
    }

    func testEverySinkThatWritesAnInputIsRefusedBeforeRunning() async throws {
        let p = try makeRecording("in.tbag")
        let before = try Data(contentsOf: URL(fileURLWithPath: p))
        let link = p + ".link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: p)
        defer { try? FileManager.default.removeItem(atPath: link) }
        let sinks: [(String, any SinkStage)] = [
            ("recording", RecordingSink(config: .init(path: p, overwrite: true))),
            ("recording-link", RecordingSink(config: .init(path: link, overwrite: true))),
            ("jsonl", JSONLinesSink(config: .init(path: link))),
            ("mcap", try MCAPSink(config: .init(path: p + "-wal"))),
        ]
        for (name, sink) in sinks {
            var graph = PipelineGraph()
            graph.addSource("in", try RecordingSource(config: .init(path: p)), type: "recording")
            graph.addSink(name, sink, inputs: ["in"])
            let problems = graph.problems()
            XCTAssertEqual(problems.count, 1, name)
            XCTAssertTrue(problems.first?.message.contains("never overwrites what it reads") == true, "\(problems)")
            do {
                _ = try await graph.run()
                XCTFail("\(name): ran")
            } catch {}
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), before, name)
        }
    }

    func testConfigWhoseSinkWritesItsSourceIsRefusedAtItsLine() throws {
        let p = try makeRecording("cfg.tbag")
        let config = try PipelineConfig.parse("""
            sources:
              in: {type: recording, path: '\(p)'}
            sinks:
              out: {type: recording, inputs: [in], path: '\(p)', overwrite: true}
            """, file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: BuiltinStages.all)) { error in
            let e = error as? PipelineError
            XCTAssertEqual(e?.line, 4)
            XCTAssertEqual(e?.stage, "out")
            XCTAssertTrue(e?.message.contains("never overwrites what it reads") == true, "\(String(describing: e))")
        }
    }

    func testBillionLaughsIsRefusedQuickly() throws {
        // 350 bytes that expand to 10^8 scalars.
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 {
            let prev = String(UnicodeScalar(UInt8(96 + i)))
            let this = String(UnicodeScalar(UInt8(97 + i)))
            text += "\(this): &\(this) [" + Array(repeating: "*\(prev)", count: 10).joined(separator: ", ") + "]\n"
        }
        let started = Date()
        XCTAssertThrowsError(try PipelineConfig.parse(text, file: "bomb.yaml")) { error in
            let e = error as? PipelineError
            XCTAssertTrue(e?.message.contains("expands to more than 100000 nodes") == true, "\(error)")
            XCTAssertEqual(e?.file, "bomb.yaml")
            XCTAssertNotNil(e?.line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testHugeAndDeepConditionsAreRefusedNamingTheColumn() throws {
        // The 400k-term condition: refused before lexing, no stack overflow.
        let huge = Array(repeating: "size > 1", count: 400_000).joined(separator: " && ")
        XCTAssertThrowsError(try Filter(config: .init(condition: huge))) { error in
            XCTAssertTrue((error as? FilterSyntaxError)?.message.contains("longer than 100000 bytes") == true, "\(error)")
        }
        let long = Array(repeating: "size>1", count: 2_600).joined(separator: "&&")
        XCTAssertThrowsError(try Filter(config: .init(condition: long))) { error in
            let e = error as? FilterSyntaxError
            XCTAssertTrue(e?.message.contains("more than 10000 tokens") == true, "\(error)")
            XCTAssertGreaterThan(e?.column ?? 0, 1)
        }
        // A 300-term chain (1,200 tokens) parses to a tree 300 deep: refused at the operator.
        let chain300 = Array(repeating: "size > 1", count: 300).joined(separator: " && ")
        XCTAssertThrowsError(try Filter(config: .init(condition: chain300))) { error in
            let e = error as? FilterSyntaxError
            XCTAssertTrue(e?.message.contains("more than 256 operations deep") == true, "\(error)")
            XCTAssertEqual(e?.column, 254 * 12 + 10)
        }
        // Within the token limit, a chain deeper than the tree limit.
        let chain = Array(repeating: "size", count: 300).joined(separator: " + ") + " > 1"
        XCTAssertThrowsError(try Filter(config: .init(condition: chain))) { error in
            let e = error as? FilterSyntaxError
            XCTAssertTrue(e?.message.contains("more than 256 operations deep") == true, "\(error)")
        }
        // 120 terms stay within both limits and evaluate.
        let fine = Array(repeating: "size > 1", count: 120).joined(separator: " && ")
        XCTAssertTrue(try Filter(config: .init(condition: fine)).expression.accepts(frame(payload: [1, 2, 3])))
    }
}

import Synthetic
import XCTest
@testable import Pipeline
import Recording
@testable import Stages

final class JSONLinesTests: XCTestCase {
    func testLineFormatIsCanonical() {
        let f = frame("robot-1", "imu", payload: [0, 1, 2], ts: UInt64.max, time: 1_700_000_000_000_000_001)
        XCTAssertEqual(JSONLinesCodec.line(f),
                       #"{"identity":"robot-1","track":"imu","time_ns":1700000000000000001,"user_timestamp":18446744073709551615,"payload_b64":"AAEC"}"# + "\n")
        let g = frame("a\"b", "t", payload: [], ts: nil, time: -5, value: .object([("z", .double(9.81))]))
        XCTAssertEqual(JSONLinesCodec.line(g),
                       #"{"identity":"a\"b","track":"t","time_ns":-5,"user_timestamp":null,"payload_b64":"","value":{"z":9.81}}"# + "\n")
        XCTAssertFalse(JSONLinesCodec.line(g, includeValue: false).contains("value"))
    }

    func testDecodeAcceptsAnyKeyOrderAndWhitespace() throws {
        let line = try JSONLinesCodec.decode(Array(#" { "payload_b64" : "AQ==", "user_timestamp": 0, "time_ns": 7, "track": "imu", "identity": "r" } "#.utf8))
        XCTAssertEqual(line.identity, "r")
        XCTAssertEqual(line.track, "imu")
        XCTAssertEqual(line.timeNs, 7)
        XCTAssertEqual(line.userTimestamp, 0)
        XCTAssertEqual(line.payload, [1])
    }

    func testMalformedLineNamesFileLineAndColumn() async throws {
        let path = temporaryPath("bad.jsonl")
        let good = JSONLinesCodec.line(frame(ts: 1))
        try (good + good + #"{"identity":"r","track":"imu","time_ns":1,"user_timestamp":-3,"payload_b64":""}"# + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        var graph = PipelineGraph()
        graph.addSource("in", JSONLinesSource(config: .init(path: path)))
        let sink = CollectingSink()
        graph.addSink("out", sink, inputs: ["in"])
        do {
            try await graph.run()
            XCTFail("expected an error")
        } catch let error as PipelineError {
            XCTAssertEqual(error.file, path)
            XCTAssertEqual(error.line, 3)
            XCTAssertEqual(error.stage, "in")
            XCTAssertTrue(error.message.contains("user_timestamp"), error.message)
        }
        let finishes = await sink.finishCount
        XCTAssertEqual(finishes, 1)

        for (text, column) in [("{\"identity\":\"r\",\n", 17), ("not json\n", 1), ("[1]\n", 1)] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let reader = try JSONLinesReader(path: path)
            XCTAssertThrowsError(try reader.next()) { error in
                let e = error as? PipelineError
                XCTAssertEqual(e?.line, 1)
                XCTAssertEqual(e?.column, column, "\(text): \(error)")
            }
        }
        XCTAssertThrowsError(try JSONLinesReader(path: temporaryPath("missing.jsonl")))
    }

    func testFileRoundTripIsByteExact() async throws {
        var rng = SplitMix64(seed: 7)
        var frames: [Frame] = []
        for i in 0..<3000 {
            let payload = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let ts: UInt64? = i % 5 == 0 ? nil : (i % 7 == 0 ? UInt64.max : (i % 11 == 0 ? 0 : rng.next()))
            frames.append(frame("robot-\(i % 3)", ["imu", "gps", "ünï\"code"][i % 3], payload: payload, ts: ts,
                                time: 1_700_000_000_000_000_000 + Int64(i) * 1_000_003))
        }
        let first = temporaryPath("rt1.jsonl"), second = temporaryPath("rt2.jsonl")
        var a = PipelineGraph()
        a.addSource("mem", ArraySource(frames: frames, batchSize: 100))
        a.addSink("out", JSONLinesSink(config: .init(path: first)), inputs: ["mem"])
        try await a.run()
        var b = PipelineGraph()
        b.addSource("in", JSONLinesSource(config: .init(path: first, batchSize: 64)))
        let collected = CollectingSink()
        b.addSink("out", JSONLinesSink(config: .init(path: second)), inputs: ["in"])
        b.addSink("mem", collected, inputs: ["in"])
        try await b.run()
        let one = try Data(contentsOf: URL(fileURLWithPath: first)), two = try Data(contentsOf: URL(fileURLWithPath: second))
        XCTAssertEqual(one, two)
        XCTAssertEqual(String(decoding: one, as: UTF8.self).split(separator: "\n").count, 3000)
        let back = await collected.frames
        XCTAssertEqual(back.map(\.userTimestamp), frames.map(\.userTimestamp))
        XCTAssertEqual(back.map(\.payload), frames.map(\.payload))
        XCTAssertEqual(back.map(\.receiveTimeNs), frames.map(\.receiveTimeNs))
        XCTAssertEqual(back.map(\.track.key), frames.map(\.track.key))
    }

    /// From a pipe that stays open (a live feed on standard input), frames are passed on as
    /// they arrive, and a stop request ends the run promptly with every frame delivered.
    func testPipeInputPassesFramesOnAndStopsOnRequest() async throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let lines = (0..<10).map { JSONLinesCodec.line(frame(ts: UInt64($0), time: Int64($0))) }.joined()
        _ = lines.utf8CString.withUnsafeBufferPointer { write(fds[1], $0.baseAddress, $0.count - 1) }
        let sink = CollectingSink()
        var graph = PipelineGraph()
        graph.addSource("stdin", JSONLinesSource(config: .init(path: "/proc/self/fd/\(fds[0])")), isLive: true)
        graph.addSink("mem", sink, inputs: ["stdin"])
        let stop = PipelineStop()
        Task {
            // Stop once all ten arrived (they must, though the batch of 1024 never fills).
            for _ in 0..<500 {
                if await sink.frames.count == 10 { break }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            stop.stop()
        }
        let report = try await graph.run(stop: stop)
        XCTAssertEqual(report.ending, .stopped)
        let frames = await sink.frames
        XCTAssertEqual(frames.map(\.userTimestamp), (0..<10).map { UInt64($0) })
        let finishes = await sink.finishCount
        XCTAssertEqual(finishes, 1)
    }
}

import XCTest
import TestSupport
@testable import Pipeline
import Recording
@testable import Stages
import TrackModel
import Codecs
import Synthetic

final class TransformTests: XCTestCase {
    func testDecodeUsesTrackEncodingThenOptionAndCountsFailures() async throws {
        let stage = Decode(config: .init(encoding: .json, onError: .pass))
        let batch = Batch(frames: [
            frame(payload: Array(#"{"a":1}"#.utf8), ts: 5),
            frame(payload: hex("a16161 01"), ts: 6, encoding: "cbor"),
            frame(payload: hex("81a16101"), ts: 7, encoding: "msgpack"),
            frame(payload: [0xFF], ts: 8),
            frame(payload: [1], ts: nil, encoding: "protobuf"),
        ], events: [SessionEvent(timeNs: 1, kind: .note, detail: "kept")])
        let out = try await stage.process(batch)
        XCTAssertEqual(out.frames.map(\.value), [.object([("a", .int(1))]), .object([("a", .int(1))]),
                                                 .object([("a", .int(1))]), nil, nil])
        XCTAssertEqual(out.frames.map(\.userTimestamp), [5, 6, 7, 8, nil])
        XCTAssertEqual(out.frames.map(\.payload), batch.frames.map(\.payload))
        XCTAssertEqual(out.events, batch.events)
        let stats = await stage.statistics()
        XCTAssertEqual(stats.first?.value, 2)

        let dropping = Decode(config: .init(encoding: nil, onError: .drop))
        let kept = try await dropping.process(batch)
        XCTAssertEqual(kept.frames.map(\.userTimestamp), [6, 7])
    }

    func testFilterLanguage() throws {
        let f = frame("robot-7", "imu", payload: [1, 2, 3], ts: 42, time: 1_000,
                      value: .object([("accel", .object([("z", .double(9.8))])), ("list", .array([.int(3), .string("x")])),
                                      ("on", .bool(true))]))
        let cases: [(String, Bool)] = [
            (#"track == "imu" && value.accel.z > 9.5"#, true),
            (#"track == "imu" && value.accel.z > 9.9"#, false),
            ("size == 3 && user_timestamp == 42 && time >= 1000", true),
            ("value.list[0] * 2 + 1 == 7", true),
            (#"value.list[1] == "x" && value["list"][0] < 3.5"#, true),
            ("value.missing == null && !(value.missing > 0)", true),
            (#"identity matches "robot-*" && identity matches "robot-?""#, true),
            (#"identity matches "robot-1*""#, false),
            ("value.on", true),
            ("!value.on || false", false),
            ("10 / 4 == 2.5 && 7 % 4 == 3 && 1 / 0 == null", true),
            (#""a" < "b" && "a" + "b" == "ab""#, true),
            (#"size == "3""#, false),
            (#"size != "3""#, true),
            ("-user_timestamp < 0", true),
            ("18446744073709551615 > 9223372036854775807", true),
        ]
        for (condition, want) in cases {
            let filter = try Filter(config: .init(condition: condition))
            XCTAssertEqual(filter.expression.accepts(f), want, condition)
        }
        XCTAssertFalse(try Filter(config: .init(condition: "user_timestamp == null")).expression.accepts(f))
        XCTAssertTrue(try Filter(config: .init(condition: "user_timestamp == null")).expression.accepts(frame(ts: nil)))
    }

    /// The compiled condition (closures) must answer as the tree does, on every shape it
    /// compiles specially (field against literal, strings equal or not, missing and non-number
    /// values, NaN) and on those it leaves to the tree.
    func testCompiledConditionAnswersAsTheTree() throws {
        let values: [Value?] = [
            nil, .null,
            .object([("accel", .object([("z", .double(9.8))])), ("n", .int(3)), ("s", .string("x")), ("list", .array([.uint(7)]))]),
            .object([("accel", .object([("z", .string("9.8"))])), ("n", .double(.nan)), ("list", .array([]))]),
            .object([("accel", .double(1)), ("n", .uint(UInt64.max))]),
        ]
        var frames: [Frame] = []
        for (i, value) in values.enumerated() {
            frames.append(frame("robot-\(i % 2)", i % 3 == 0 ? "never" : "imu-\(i)", payload: Array(repeating: 1, count: i),
                                ts: i == 1 ? nil : UInt64(i), time: Int64(i) * 1_000, value: value))
        }
        let conditions = [
            #"value.accel.z > 9.5 && track != "never""#, #"value.accel.z <= 9.8 || identity == "robot-1""#,
            #"track == "never""#, #"identity != "robot-0""#, #""never" == track"#, #"track < "j""#,
            "value.n == 3", "value.n != 3", "value.n >= 3.0", "value.n < 18446744073709551615", "value.list[0] > 6",
            "value.missing != 1", "value.missing == 1", "value.s == 1", "value.s != 1", "!(value.n > 2)",
            "size >= 2 && time < 3000", "user_timestamp == null", "user_timestamp != 2", "value.accel == 1",
            "value", "!value", "true", "null", #"identity matches "robot-?""#, "-value.n < -2", "value.n + 1 == 4",
        ]
        for condition in conditions {
            let filter = try Filter(config: .init(condition: condition))
            for (i, f) in frames.enumerated() {
                XCTAssertEqual(filter.condition.accepts(f), filter.expression.accepts(f), "\(condition), frame \(i)")
            }
        }
    }

    func testFilterSyntaxErrorsPointAtTheColumn() {
        let cases: [(String, Int)] = [
            (#"track = "imu""#, 7), ("size > ", 8), ("(size > 1", 10), ("speed > 1", 1), ("size > 1 2", 10),
            ("value.", 7), (#""open"#, 1), ("a < b < c", 1), ("1 < 2 < 3", 7), ("size & 1", 6), ("", 1),
        ]
        for (condition, column) in cases {
            XCTAssertThrowsError(try Filter(config: .init(condition: condition)), condition) { error in
                XCTAssertEqual((error as? FilterSyntaxError)?.column, column, "\(condition): \(error)")
            }
        }
    }

    func testFilterErrorMapsToTheConfigFileColumn() throws {
        let config = try PipelineConfig.parse("""
            sources:
              in: {type: jsonl, path: x.jsonl}
            transforms:
              f:
                type: filter
                inputs: [in]
                condition: 'track == "imu" && size >> 3'
            sinks:
              out: {type: jsonl, inputs: [f], path: y.jsonl}
            """, file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: BuiltinStages.all)) { error in
            let e = error as? PipelineError
            // Column 16 of the condition text, which starts at column 16 of line 7 (after the quote).
            XCTAssertEqual(e?.placedMessage, "p.yaml:7:41: stage 'f': condition: expected a value, found '>'")
        }
    }

    func testDownsampleEveryNAndMaxRatePerTrack() async throws {
        var frames: [Frame] = []
        for i in 0..<100 {
            frames.append(frame("r", i % 2 == 0 ? "a" : "b", ts: UInt64(i), time: Int64(i) * 10_000_000))  // 100 Hz overall
        }
        let every = Downsample(config: .init(rule: .every(5)))
        let out = try await every.process(Batch(frames: frames))
        XCTAssertEqual(out.frames.count, 20)
        XCTAssertEqual(out.frames.filter { $0.track.name == "a" }.map(\.userTimestamp), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])

        let rate = Downsample(config: .init(rule: .maxRateHz(10)))
        // Split over two batches: state carries across them.
        let first = try await rate.process(Batch(frames: Array(frames[0..<37])))
        let second = try await rate.process(Batch(frames: Array(frames[37...])))
        let kept = first.frames + second.frames
        let a = kept.filter { $0.track.name == "a" }.map(\.receiveTimeNs)
        XCTAssertEqual(a, stride(from: 0, to: 1_000_000_000, by: 100_000_000).map { Int64($0) })
        XCTAssertEqual(kept.filter { $0.track.name == "b" }.count, 10)
    }

    /// Per-track state is found by (identity, name) whatever the order of the tracks: many tracks,
    /// a steady rhythm broken by bursts and a re-published track (new sid, same key) give what
    /// a table by `TrackKey` gives.
    func testDownsampleKeepsPerTrackStateAcrossManyTracksInAnyOrder() async throws {
        var frames: [Frame] = []
        var rng = SplitMix64(seed: 7)
        for i in 0..<4_000 {
            // A round robin over 12 tracks, one frame in four to a random one of 40.
            let t = i % 4 == 3 ? Int(rng.next() % 40) : i % 12
            var f = frame("robot-\(t % 3)", "track-\(t)", ts: UInt64(i), time: Int64(i) * 250_000)
            if i > 2_000 { f.track.sid = "DTR_again" }
            frames.append(f)
        }
        var lastKept: [TrackKey: Int64] = [:]
        var seen: [TrackKey: Int] = [:]
        var wantRate: [UInt64?] = [], wantEvery: [UInt64?] = []
        for f in frames {
            if lastKept[f.track.key].map({ f.receiveTimeNs - $0 >= 2_000_000 }) ?? true {
                lastKept[f.track.key] = f.receiveTimeNs
                wantRate.append(f.userTimestamp)
            }
            if seen[f.track.key, default: 0] % 3 == 0 { wantEvery.append(f.userTimestamp) }
            seen[f.track.key, default: 0] += 1
        }
        let rate = Downsample(config: .init(rule: .maxRateHz(500)))
        let every = Downsample(config: .init(rule: .every(3)))
        var gotRate: [UInt64?] = [], gotEvery: [UInt64?] = []
        for start in stride(from: 0, to: frames.count, by: 333) {
            let batch = Batch(frames: Array(frames[start..<min(start + 333, frames.count)]))
            gotRate += try await rate.process(batch).frames.map(\.userTimestamp)
            gotEvery += try await every.process(batch).frames.map(\.userTimestamp)
        }
        XCTAssertEqual(gotRate, wantRate)
        XCTAssertEqual(gotEvery, wantEvery)
        XCTAssertGreaterThan(wantRate.count, 100)
        XCTAssertLessThan(wantRate.count, frames.count)
    }

    /// Where one output fans out to several transforms and sinks (batches are shared, copy on
    /// write), each must get the frames as they came: what decode sets or drops, and what
    /// filter and downsample leave out, must not show in another's output.
    func testTransformsStayApartAcrossAFanOut() async throws {
        let frames = (0..<2_000).map { i in
            frame("robot-\(i % 2)", "t\(i % 3)", payload: Array(#"{"z":\#(i % 10),"pad":"x"}"#.utf8), ts: UInt64(i),
                  time: Int64(i) * 1_000_000, encoding: i % 7 == 0 ? "cbor" : "json")
        }
        var graph = PipelineGraph()
        graph.addSource("in", ArraySource(frames: frames, batchSize: 128))
        graph.addTransform("decode", Decode(config: .init(encoding: .json, onError: .drop)), inputs: ["in"])
        graph.addTransform("hot", try Filter(config: .init(condition: "value.z > 4")), inputs: ["decode"])
        graph.addTransform("thin", Downsample(config: .init(rule: .every(3))), inputs: ["decode"])
        graph.addTransform("rate", Downsample(config: .init(rule: .maxRateHz(100))), inputs: ["in"])
        let raw = CollectingSink(), decoded = CollectingSink(), hot = CollectingSink(), thin = CollectingSink(), rate = CollectingSink()
        graph.addSink("raw-out", raw, inputs: ["in"])
        graph.addSink("decoded-out", decoded, inputs: ["decode"])
        graph.addSink("hot-out", hot, inputs: ["hot"])
        graph.addSink("thin-out", thin, inputs: ["thin"])
        graph.addSink("rate-out", rate, inputs: ["rate"])
        try await graph.run()

        let rawFrames = await raw.frames
        XCTAssertEqual(rawFrames.map(\.userTimestamp), frames.map(\.userTimestamp))
        XCTAssertTrue(rawFrames.allSatisfy { $0.value == nil })
        // Frames of the "cbor" tracks do not decode (their payload is JSON) and are dropped.
        let wantDecoded = frames.filter { $0.track.frameEncoding == "json" }
        let decodedFrames = await decoded.frames
        XCTAssertEqual(decodedFrames.map(\.userTimestamp), wantDecoded.map(\.userTimestamp))
        XCTAssertEqual(decodedFrames.map(\.payload), wantDecoded.map(\.payload))
        XCTAssertEqual(decodedFrames.map { $0.value?["z"] }, wantDecoded.map { Optional(Value.int(Int64($0.userTimestamp! % 10))) })
        let hotFrames = await hot.frames
        XCTAssertEqual(hotFrames.map(\.userTimestamp), wantDecoded.filter { $0.userTimestamp! % 10 > 4 }.map(\.userTimestamp))
        var seen: [TrackKey: Int] = [:]
        let wantThin = wantDecoded.filter { f in
            defer { seen[f.track.key, default: 0] += 1 }
            return seen[f.track.key, default: 0] % 3 == 0
        }
        let thinFrames = await thin.frames
        XCTAssertEqual(thinFrames.map(\.userTimestamp), wantThin.map(\.userTimestamp))
        XCTAssertTrue(thinFrames.allSatisfy { $0.value != nil })
        var last: [TrackKey: Int64] = [:]
        let wantRate = frames.filter { f in
            if let t = last[f.track.key], f.receiveTimeNs - t < 10_000_000 { return false }
            last[f.track.key] = f.receiveTimeNs
            return true
        }
        let rateFrames = await rate.frames
        XCTAssertEqual(rateFrames.map(\.userTimestamp), wantRate.map(\.userTimestamp))
        XCTAssertTrue(rateFrames.allSatisfy { $0.value == nil })
    }

    func testStageConfigsRejectBadOptionsViaTheRegistry() throws {
        let config = try PipelineConfig.parse("""
            sources:
              in: {type: jsonl}
            transforms:
              d: {type: decode, inputs: [in], encoding: flatbuffer}
              s: {type: downsample, inputs: [d], every: 2, max_rate_hz: 3}
              t: {type: downsample, inputs: [s]}
            sinks:
              out: {type: jsonl, inputs: [t], path: y.jsonl, include_value: maybe}
            """, file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: BuiltinStages.all)) { error in
            let lines = (error as? PipelineError)?.allProblems.map(\.placedMessage) ?? []
            XCTAssertEqual(lines.count, 5, lines.joined(separator: "\n"))
            XCTAssertTrue(lines[0].hasPrefix("p.yaml:2:7: stage 'in': missing option 'path'"), lines[0])
            XCTAssertTrue(lines[1].hasPrefix("p.yaml:4:45: stage 'd': option 'encoding': 'flatbuffer' is not one of json, cbor, msgpack, protobuf, cdr"), lines[1])
            XCTAssertTrue(lines[2].contains("stage 's'") && lines[2].contains("not both"), lines[2])
            XCTAssertTrue(lines[3].contains("stage 't'") && lines[3].contains("max_rate_hz"), lines[3])
            XCTAssertEqual(lines[4], "p.yaml:8:65: stage 'out': option 'include_value': expected a boolean, found a string")
        }
    }
}

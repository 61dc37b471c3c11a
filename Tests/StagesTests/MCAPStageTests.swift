import Foundation
import MCAP
import Pipeline
import Recording
import XCTest
@testable import Stages
import TrackModel

/// The `mcap` sink and source: frames → MCAP → frames keeps every field (schemas/mcap-mapping.md).
final class MCAPStageTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mcap-stage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    actor Collector: BatchEmitter {
        var frames: [Frame] = []
        var events: [SessionEvent] = []
        var batches = 0
        func emit(_ batch: Batch) async throws {
            frames += batch.frames
            events += batch.events
            batches += 1
        }
    }

    func sampleFrames() -> [Frame] {
        let schema = SchemaInfo(name: "imu.Imu", encoding: "protobuf", data: [0x0A, 0x03, 0x69, 0x6D, 0x75])
        let tracks = [
            TrackInfo(identity: "alice", name: "imu", sid: "DTR_1", pubHandle: 1, frameEncoding: "protobuf", schema: schema),
            TrackInfo(identity: "alice", name: "imu", sid: "DTR_2", pubHandle: 1, frameEncoding: "protobuf", schema: schema),
            TrackInfo(identity: "bob", name: "cipher", sid: "DTR_3", pubHandle: 9, encryption: .gcm),
            TrackInfo(identity: "carol", name: "empty-encoding", frameEncoding: ""),
            TrackInfo(identity: "dave", name: "a/b c"),
        ]
        var frames: [Frame] = []
        for i in 0..<200 {
            let ts: UInt64? = switch i % 6 {
            case 0: nil
            case 1: .max
            case 2: 0
            default: 1_700_000_000_000 + UInt64(i)
            }
            frames.append(Frame(track: tracks[i % tracks.count], payload: (0..<(i % 33)).map { UInt8($0 ^ i & 0xFF) },
                                userTimestamp: ts, receiveTimeNs: i == 7 ? -5 : 1_750_000_000_000_000_000 + Int64(i) * 1000))
        }
        return frames
    }

    func roundTrip(_ config: MCAPSinkConfig, _ frames: [Frame], _ events: [SessionEvent]) async throws -> Collector {
        let sink = try MCAPSink(config: config)
        try await sink.write(Batch(frames: Array(frames[..<50]), events: events))
        try await sink.write(Batch(frames: Array(frames[50...])))
        try await sink.finish()
        let collector = Collector()
        try await MCAPSource(config: MCAPSourceConfig(path: config.path, batchSize: 64)).run(into: collector)
        return collector
    }

    func testRoundTripIsExactForEveryTimestampMapping() async throws {
        let frames = sampleFrames()
        let events = [SessionEvent(timeNs: 1, kind: .join, identity: "alice"),
                      SessionEvent(timeNs: 2, kind: .drop, identity: "bob", track: "cipher", count: 3, detail: "buffer")]
        for unit in [nil, "ns", "us", "ms"] as [String?] {
            for compression in ["zstd", "lz4", "none"] {
                let path = "\(dir)/rt-\(unit ?? "default")-\(compression).mcap"
                let got = try await roundTrip(MCAPSinkConfig(path: path, compression: compression, chunkSize: 2048,
                                                             userTimestampUnit: unit), frames, events)
                let gotFrames = await got.frames
                XCTAssertEqual(gotFrames.count, frames.count)
                for (g, w) in zip(gotFrames, frames) {
                    XCTAssertEqual(g.track, w.track, "unit \(unit ?? "-")")
                    XCTAssertEqual(g.payload, w.payload)
                    XCTAssertEqual(g.userTimestamp, w.userTimestamp, "unit \(unit ?? "-")")
                    XCTAssertEqual(g.receiveTimeNs, w.receiveTimeNs)
                }
                XCTAssertEqual(gotFrames.map(\.sequence), (0..<UInt64(frames.count)).map { $0 })
                let gotEvents = await got.events
                XCTAssertEqual(gotEvents, events)
                let batches = await got.batches
                XCTAssertGreaterThanOrEqual(batches, 4)  // 200 frames in batches of 64
            }
        }
    }

    func testPublishTimeCarriesTheDeclaredUnit() async throws {
        let path = "\(dir)/unit.mcap"
        let track = TrackInfo(identity: "a", name: "t", frameEncoding: "json")
        let sink = try MCAPSink(config: MCAPSinkConfig(path: path, topicTemplate: "{identity}.{track}", userTimestampUnit: "ms"))
        try await sink.write(Batch(frames: [Frame(track: track, payload: [1], userTimestamp: 1234, receiveTimeNs: 99)]))
        try await sink.finish()
        let reader = try MCAPReader(path: path)
        var messages: [Message] = []
        var channels: [Channel] = []
        while let r = try reader.next() {
            if case .message(let m) = r { messages.append(m) }
            if case .channel(let c) = r { channels.append(c) }
        }
        XCTAssertEqual(messages.map(\.publishTime), [1_234_000_000])
        XCTAssertEqual(messages.map(\.logTime), [99])
        XCTAssertEqual(channels.map(\.topic), ["a.t"])
        XCTAssertEqual(channels.first?.metadata["trackbag.user_timestamp"], "publish_time_ms")
        XCTAssertEqual(channels.first?.messageEncoding, "json")
    }

    func testTopicsOfOtherToolsBecomeTracks() {
        let cases: [(String, String, String)] = [
            ("/a/b", "a", "b"), ("/a/b/c", "a", "b/c"), ("a/b", "a", "b"), ("/imu", "mcap", "imu"),
            ("imu", "mcap", "imu"), ("/", "mcap", "/"), ("//x", "mcap", "/x"),
        ]
        for (topic, identity, name) in cases {
            XCTAssertEqual(MCAPTrackMapping.trackKey(fromTopic: topic, fallbackIdentity: "mcap"),
                           TrackKey(identity: identity, name: name), topic)
        }
    }

    func testTruncatedFileEmitsWhatWasReadableThenFails() async throws {
        let path = "\(dir)/cut.mcap"
        let sink = try MCAPSink(config: MCAPSinkConfig(path: path, chunkSize: 1024))
        try await sink.write(Batch(frames: sampleFrames()))
        try await sink.finish()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        let collector = Collector()
        do {
            try await MCAPSource(config: MCAPSourceConfig(path: path)).run(into: collector)
            XCTFail("a truncated file must not read as a success")
        } catch let e as PipelineError {
            XCTAssertTrue(e.message.contains("truncated"), e.message)
            XCTAssertTrue(e.message.contains("readable"), e.message)
        }
        let got = await collector.frames.count
        XCTAssertGreaterThan(got, 0)
        XCTAssertLessThan(got, 200)

        // Salvage mode: the same frames, then a note saying where the file was cut, no error.
        let salvage = Collector()
        try await MCAPSource(config: MCAPSourceConfig(path: path, allowTruncated: true)).run(into: salvage)
        let salvaged = await salvage.frames
        XCTAssertEqual(salvaged.count, got)
        XCTAssertEqual(salvaged.map(\.payload), Array(sampleFrames().prefix(got)).map(\.payload))
        let notes = await salvage.events
        XCTAssertEqual(notes.map(\.kind), [.note])
        XCTAssertTrue(notes.first?.detail?.contains("readable") ?? false)
    }

    func testConfigsDecodeWithDefaultsAndRejectBadValues() throws {
        let sink = try JSONDecoder().decode(MCAPSinkConfig.self, from: Data(#"{"path":"x.mcap","user_timestamp_unit":"us","chunk_size":4096}"#.utf8))
        XCTAssertEqual(sink, MCAPSinkConfig(path: "x.mcap", chunkSize: 4096, userTimestampUnit: "us"))
        XCTAssertEqual(sink.topicTemplate, "/{identity}/{track}")
        XCTAssertEqual(sink.compression, "zstd")
        let source = try JSONDecoder().decode(MCAPSourceConfig.self, from: Data(#"{"path":"x.mcap","identity":"robot"}"#.utf8))
        XCTAssertEqual(source, MCAPSourceConfig(path: "x.mcap", identity: "robot"))
        XCTAssertThrowsError(try MCAPSink(config: MCAPSinkConfig(path: "\(dir)/a.mcap", compression: "brotli")))
        XCTAssertThrowsError(try MCAPSink(config: MCAPSinkConfig(path: "\(dir)/a.mcap", userTimestampUnit: "s")))
        XCTAssertThrowsError(try MCAPSource(config: MCAPSourceConfig(path: "x", batchSize: 0)))
        XCTAssertNotNil(BuiltinStages.registration(for: "mcap", kind: .sink))
        XCTAssertNotNil(BuiltinStages.registration(for: "mcap", kind: .source))
    }
}

import Foundation
@testable import MCAP
import Pipeline
import XCTest
@testable import Stages
import TrackModel

/// Another tool's MCAP through the `mcap` source and back out of the `mcap` sink is the same
/// file content (schemas/mcap-mapping.md, "Round trips").
final class MCAPExactTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "mcap-exact-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    actor Collector: BatchEmitter {
        var frames: [Frame] = []
        func emit(_ batch: Batch) async throws { frames += batch.frames }
    }

    func read(_ config: MCAPSourceConfig) async throws -> [Frame] {
        let c = Collector()
        try await MCAPSource(config: config).run(into: c)
        return await c.frames
    }

    /// A schema only a chunk holds, with channels repeated in the summary: the source gives the
    /// channel's frames that schema.
    func testSchemaOnlyInAChunkReachesTheFrames() async throws {
        let path = dir + "/chunk-schema.mcap"
        let w = try MCAPWriter(path: path, options: .init(chunkSize: 128))
        w.summaryHoldsSchemas = false
        let first = try w.addChannel(topic: "/r/plain", messageEncoding: "json")
        try w.addMessage(channelId: first, sequence: 0, logTime: 1, publishTime: 1, data: Array("{}".utf8))
        try w.flushChunk()
        let s = try w.addSchema(name: "pkg.Pose", encoding: "protobuf", data: [1, 2, 3])
        let posed = try w.addChannel(topic: "/r/pose", messageEncoding: "protobuf", schemaId: s)
        try w.addMessage(channelId: posed, sequence: 0, logTime: 2, publishTime: 2, data: [7])
        try w.finish()
        for order in [MCAPReader.Order.file, .logTime] {
            let frames = try await read(MCAPSourceConfig(path: path, order: order))
            XCTAssertEqual(frames.count, 2)
            XCTAssertEqual(frames.last?.track.schema, SchemaInfo(name: "pkg.Pose", encoding: "protobuf", data: [1, 2, 3]),
                           "order \(order)")
            XCTAssertNil(frames.first?.track.schema)
        }
    }

    /// Import meta and sink origins: topics (with or without an identity in them), channel
    /// metadata, schemas, log and publish times come back; no companion channel appears.
    func testForeignChannelsGoBackAsTheyWere() async throws {
        let src = dir + "/foreign.mcap"
        let w = try MCAPWriter(path: src, options: .init(library: "other-tool"))
        let s = try w.addSchema(name: "imu.Imu", encoding: "protobuf", data: [9, 9])
        let imu = try w.addChannel(topic: "/robot/imu", messageEncoding: "protobuf", schemaId: s, metadata: ["k": "v"])
        let bare = try w.addChannel(topic: "odom", messageEncoding: "cdr")
        var written: [Message] = []
        for i in 0..<50 {
            // imu counts from 5; bare leaves every sequence at 0, as writers with defaults do.
            let m = Message(channelId: i % 2 == 0 ? imu : bare, sequence: i % 2 == 0 ? UInt32(5 + i / 2) : 0,
                            logTime: UInt64(1_000 + i * 10),
                            publishTime: UInt64(990 + i * 10 - i % 3), data: [UInt8(i)])
            try w.addMessage(channelId: m.channelId, sequence: m.sequence, logTime: m.logTime, publishTime: m.publishTime,
                             data: m.data)
            written.append(m)
        }
        try w.finish()

        let meta = try MCAPChannelOrigin.importMeta(path: src, identity: "mcap")
        XCTAssertEqual(meta[MCAPChannelOrigin.userTimestampUnitMetaKey], "ns")
        let origins = try MCAPChannelOrigin.fromRecordingMeta(meta)
        XCTAssertEqual(origins[TrackKey(identity: "mcap", name: "odom")]?.topic, "odom")
        XCTAssertEqual(origins[TrackKey(identity: "robot", name: "imu")]?.metadata, ["k": "v"])
        XCTAssertEqual(origins[TrackKey(identity: "robot", name: "imu")]?.sequence, .init(first: 5, step: 1))
        XCTAssertEqual(origins[TrackKey(identity: "mcap", name: "odom")]?.sequence, .init(first: 0, step: 0))

        let frames = try await read(MCAPSourceConfig(path: src))
        let out = dir + "/back.mcap"
        var config = MCAPSinkConfig(path: out, userTimestampUnit: meta[MCAPChannelOrigin.userTimestampUnitMetaKey])
        config.channelOrigins = origins
        let sink = try MCAPSink(config: config)
        try await sink.write(Batch(frames: frames))
        try await sink.finish()

        let r = try MCAPReader(path: out)
        var channels: [UInt16: Channel] = [:]
        var schemas: [UInt16: Schema] = [:]
        var back: [Message] = []
        while let rec = try r.next() {
            switch rec {
            case .channel(let c): channels[c.id] = c
            case .schema(let x): schemas[x.id] = x
            case .message(let m): back.append(m)
            default: break
            }
        }
        XCTAssertEqual(Set(channels.values.map(\.topic)), ["/robot/imu", "odom"])
        let imuBack = try XCTUnwrap(channels.values.first { $0.topic == "/robot/imu" })
        XCTAssertEqual(imuBack.metadata, ["k": "v"])
        XCTAssertEqual(imuBack.messageEncoding, "protobuf")
        XCTAssertEqual(schemas[imuBack.schemaId].map { [$0.name, $0.encoding] }, ["imu.Imu", "protobuf"])
        XCTAssertEqual(channels.values.first { $0.topic == "odom" }?.metadata, [:])
        func key(_ m: Message, _ topics: [UInt16: String]) -> String {
            "\(topics[m.channelId] ?? "?") \(m.logTime) \(m.publishTime) \(m.sequence) \(m.data)"
        }
        let topicsIn: [UInt16: String] = [imu: "/robot/imu", bare: "odom"]
        XCTAssertEqual(back.map { key($0, channels.mapValues(\.topic)) }.sorted(), written.map { key($0, topicsIn) }.sorted())
    }

    /// A file with our own channels in companion mode names no unit: export keeps its default.
    func testOurCompanionFilesNameNoUnit() throws {
        let src = dir + "/ours.mcap"
        let w = try MCAPWriter(path: src)
        _ = try w.addChannel(topic: "/a/b", messageEncoding: "", metadata: [
            "trackbag.identity": "a", "trackbag.track": "b", "trackbag.encryption": "none", "trackbag.user_timestamp": "companion"])
        try w.finish()
        let meta = try MCAPChannelOrigin.importMeta(path: src, identity: "mcap")
        XCTAssertNil(meta[MCAPChannelOrigin.userTimestampUnitMetaKey])
        XCTAssertNil(meta[MCAPChannelOrigin.metaKey])
    }
}

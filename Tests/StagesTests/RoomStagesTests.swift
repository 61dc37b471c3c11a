import Foundation
import LiveKitProtocol
@testable import Pipeline
import Recording
import RoomClient
@testable import Stages
import XCTest
import TrackModel

/// The room source and republish sink without a room: options, credentials, identity mapping
/// and the live batch buffer. Against a real server and LiveKit's SDK they are judged by
/// Tests/interop/test_record_play.py.
final class RoomStagesTests: XCTestCase {
    func testRoomSourceDefaultsAndLiveEdges() throws {
        let config = try PipelineConfig.parse("""
            sources:
              lab: {type: room, room: lab}
            sinks:
              out: {type: jsonl, inputs: [lab], path: y.jsonl}
            """, file: "p.yaml")
        let graph = try config.compile(registry: BuiltinStages.all)
        guard case .source(let stage)? = graph.nodes.first(where: { $0.name == "lab" })?.stage,
              let source = stage as? RoomSource else { return XCTFail("no room source") }
        XCTAssertEqual(source.config.url, "ws://127.0.0.1:7880")
        XCTAssertEqual(source.config.identity, "trackbag-recorder")
        XCTAssertEqual(source.config.tracks, ["*/*"])
        XCTAssertEqual(source.credentials, .development)
        // A live source: the sink's queue drops oldest instead of stalling the room.
        let sink = try XCTUnwrap(graph.nodes.first { $0.name == "out" })
        XCTAssertEqual(graph.policy(of: sink), .dropOldest)
    }

    func testUnknownOptionAndBadGlobAreReportedWithPlace() throws {
        let config = try PipelineConfig.parse("""
            sources:
              lab:
                type: room
                room: lab
                bufer_size: 10
            sinks:
              out: {type: jsonl, inputs: [lab], path: y.jsonl}
            """, file: "p.yaml")
        XCTAssertThrowsError(try config.compile(registry: BuiltinStages.all)) { error in
            XCTAssertEqual((error as? PipelineError)?.placedMessage, "p.yaml:5:5: stage 'lab': unknown option 'bufer_size' (did you mean 'buffer_size'?)")
        }
        XCTAssertThrowsError(try RoomSource(config: .init(room: "lab", tracks: ["robot"]))) { error in
            XCTAssertTrue("\(error)".contains("tracks[0]"), "\(error)")
        }
        XCTAssertThrowsError(try StageOptions(yaml: "{room: lab, buffer_size: 0}").decode(RoomSource.Config.self))
        XCTAssertThrowsError(try StageOptions(yaml: "{room: ''}").decode(RoomSource.Config.self))
    }

    func testCredentialsTokenKeysAndEnvironment() throws {
        XCTAssertThrowsError(try RoomSource(config: .init(room: "lab", apiKey: "k", token: "t"))) { error in
            XCTAssertTrue("\(error)".contains("not both"), "\(error)")
        }
        XCTAssertThrowsError(try RoomSource(config: .init(room: "lab", tokenEnv: "TB_NO_SUCH_TOKEN"),
                                            environment: ["PATH": "/bin"])) { error in
            XCTAssertTrue("\(error)".contains("TB_NO_SUCH_TOKEN"), "\(error)")
        }
        let fromEnv = try RoomSource(config: .init(room: "lab", tokenEnv: "LK_TOKEN"), environment: ["LK_TOKEN": "abc"])
        XCTAssertEqual(fromEnv.credentials, .token("abc"))

        // Signed tokens carry only the grants the stage needs, for the room and identity asked.
        let keys = RoomCredentials.keys(apiKey: "k1", apiSecret: "s1")
        let recorder = try AccessToken.verify(try keys.token(identity: "rec", room: "lab", publish: false, subscribe: true),
                                              keys: ["k1": "s1"])
        XCTAssertEqual(recorder.identity, "rec")
        XCTAssertEqual(recorder.video?.room, "lab")
        XCTAssertEqual(recorder.video?.canSubscribe, true)
        XCTAssertEqual(recorder.video?.canPublishData, false)
        let player = try AccessToken.verify(try keys.token(identity: "robot", room: "replay", publish: true, subscribe: false),
                                            keys: ["k1": "s1"])
        XCTAssertEqual(player.video?.canPublishData, true)
        XCTAssertEqual(player.video?.room, "replay")
    }

    /// `hidden`: asked for in a token we sign; a given token must already carry it.
    func testHiddenRecorderToken() throws {
        let keys = RoomCredentials.keys(apiKey: "k1", apiSecret: "s1")
        let hidden = try AccessToken.verify(try keys.token(identity: "rec", room: "lab", publish: false, subscribe: true,
                                                           hidden: true), keys: ["k1": "s1"])
        XCTAssertEqual(hidden.video?.hidden, true)
        let visible = try AccessToken.verify(try keys.token(identity: "rec", room: "lab", publish: false, subscribe: true),
                                             keys: ["k1": "s1"])
        XCTAssertNil(visible.video?.hidden, "left out, as LiveKit's builders leave defaults out")

        let plainToken = try keys.token(identity: "rec", room: "lab", publish: false, subscribe: true)
        XCTAssertThrowsError(try RoomCredentials.token(plainToken).token(identity: "rec", room: "lab", publish: false,
                                                                         subscribe: true, hidden: true)) { error in
            XCTAssertTrue("\(error)".contains("does not grant hidden"), "\(error)")
        }
        let hiddenToken = try keys.token(identity: "rec", room: "lab", publish: false, subscribe: true, hidden: true)
        XCTAssertEqual(try RoomCredentials.token(hiddenToken).token(identity: "x", room: "y", publish: false, subscribe: true,
                                                                    hidden: true), hiddenToken)
        let source = try RoomSource(config: .init(room: "lab", hidden: true))
        XCTAssertTrue(source.config.hidden)
    }

    func testRepublishedSchemaEncodingIsOneLiveKitAccepts() {
        func encoding(_ schema: SchemaInfo?) -> String? {
            RepublishSink.schemaEncoding(of: TrackInfo(identity: "ros2", name: "imu", frameEncoding: "cdr", schema: schema))
        }
        XCTAssertEqual(encoding(SchemaInfo(name: "sensor_msgs/msg/Imu", encoding: "ros2msg")), "ros2msg")
        XCTAssertEqual(encoding(SchemaInfo(name: "T", encoding: String(repeating: "e", count: 32))), String(repeating: "e", count: 32))
        // A live recording's schema without an encoding, and a custom one the server would refuse.
        XCTAssertNil(encoding(SchemaInfo(name: "T", encoding: "")))
        XCTAssertNil(encoding(SchemaInfo(name: "T", encoding: String(repeating: "e", count: 33))))
        XCTAssertNil(encoding(nil))
    }

    func testRepublishIdentityMapping() async throws {
        let plain = try RepublishSink(config: .init(room: "r"))
        let prefixed = try RepublishSink(config: .init(room: "r", identityPrefix: "replay-", identitySuffix: "-2"))
        let single = try RepublishSink(config: .init(room: "r", single: "player"))
        let token = try RepublishSink(config: .init(room: "r", token: "t"))
        let a = await plain.participantIdentity(for: "robot")
        let b = await prefixed.participantIdentity(for: "robot")
        let c = await single.participantIdentity(for: "robot")
        let d = await single.participantIdentity(for: "arm")
        let e = await token.participantIdentity(for: "robot")
        let f = await token.participantIdentity(for: "arm")
        XCTAssertEqual([a, b, c, d], ["robot", "replay-robot-2", "player", "player"])
        XCTAssertEqual(e, f)
        XCTAssertThrowsError(try StageOptions(yaml: "{room: r, single: p, identity_prefix: x}").decode(RepublishSink.Config.self))
        XCTAssertThrowsError(try StageOptions(yaml: "{room: r, publish: later}").decode(RepublishSink.Config.self))
        let eager = try StageOptions(yaml: "{room: r, publish: eager, push_timeout: 20ms}").decode(RepublishSink.Config.self)
        XCTAssertEqual(eager.publish, .eager)
        XCTAssertEqual(eager.pushTimeout.nanoseconds, 20_000_000)
        XCTAssertEqual(eager.latchLateJoiners, [])
        let latched = try StageOptions(yaml: #"{room: r, latch_late_joiners: ["*/map", "robot/state"]}"#).decode(RepublishSink.Config.self)
        XCTAssertEqual(latched.latchLateJoiners, ["*/map", "robot/state"])
        XCTAssertThrowsError(try StageOptions(yaml: #"{room: r, latch_late_joiners: ["map"]}"#).decode(RepublishSink.Config.self))
        XCTAssertThrowsError(try StageOptions(yaml: "{room: r, latch_late_joiners: true}").decode(RepublishSink.Config.self))
    }

    func testFrameEncodingNamesRoundTrip() {
        for name in ["json", "cbor", "msgpack", "protobuf", "cdr", "ros1", "flatbuffer", "my-format"] {
            XCTAssertEqual(DataTrackFrameEncoding(name: name)?.name, name)
        }
        XCTAssertNil(DataTrackFrameEncoding(name: nil))
        XCTAssertNil(DataTrackFrameEncoding(name: ""))
    }

    func testLiveBatchBufferNumbersFramesCountsOverflowAndEnds() async {
        let buffer = LiveBatchBuffer(limit: 3)
        let track = TrackInfo(identity: "robot", name: "imu")
        for i in 0..<5 {
            buffer.add(frame: Frame(track: track, payload: [UInt8(i)], userTimestamp: UInt64(i), receiveTimeNs: Int64(i)))
        }
        buffer.add(event: SessionEvent(timeNs: 9, kind: .join, identity: "robot"))
        let batch = buffer.take()
        XCTAssertEqual(batch.frames.map(\.sequence), [0, 1, 2])
        XCTAssertEqual(batch.frames.map(\.userTimestamp), [0, 1, 2])
        XCTAssertEqual(batch.events.map(\.kind), [.join])
        XCTAssertEqual(buffer.overflow, 2)
        XCTAssertTrue(buffer.take().isEmpty)
        buffer.add(frame: Frame(track: track, payload: [], userTimestamp: nil, receiveTimeNs: 10))
        XCTAssertEqual(buffer.take().frames.map(\.sequence), [3])
        buffer.finish(reason: "server went away")
        var wakes = 0
        for await _ in buffer.wakes { wakes += 1 }
        XCTAssertLessThanOrEqual(wakes, 1)
        XCTAssertEqual(buffer.endReason, "server went away")
    }
}

import Foundation
import XCTest
import Codecs
@testable import Pipeline
@testable import Stages
import TrackModel

/// The schema registry (folders of users' schema files) and the `decode` stage's use of it:
/// a track that declares only a schema name decodes from the registry; every frame that does
/// not decode is counted under its reason and passed on.
final class SchemaRegistryTests: XCTestCase {
    private var folder = ""

    override func setUp() {
        folder = temporaryPath("registry")
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.createDirectory(atPath: folder + "/robot_msgs/msg", withIntermediateDirectories: true)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/schemas/sample.desc")
        try? FileManager.default.copyItem(atPath: fixture.path, toPath: folder + "/sample.desc")
        try? "geometry_msgs/Vector3 accel\nWheel[2] wheels\n".write(toFile: folder + "/robot_msgs/msg/State.msg", atomically: true, encoding: .utf8)
        try? "float32 speed\n".write(toFile: folder + "/robot_msgs/msg/Wheel.msg", atomically: true, encoding: .utf8)
        try? #"{"title": "robot.Status", "type": "object"}"#.write(toFile: folder + "/status.schema.json", atomically: true, encoding: .utf8)
        try? "not a descriptor".write(toFile: folder + "/broken.desc", atomically: true, encoding: .utf8)
        try? "x".write(toFile: folder + "/Loose.msg", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func testListsEveryDefinitionWithItsSourceAndReportsBadFiles() throws {
        let registry = SchemaRegistry.load(directories: [folder], includeDefault: false)
        let ids = Set(registry.entries.map { "\($0.schema.encoding) \($0.schema.name)" })
        XCTAssertTrue(ids.isSuperset(of: ["protobuf t.Sample", "protobuf google.protobuf.Timestamp", "ros2msg robot_msgs/msg/State",
                                          "ros2msg robot_msgs/msg/Wheel", "jsonschema robot.Status"]), "\(ids)")
        XCTAssertEqual(registry.entries.first { $0.schema.name == "robot_msgs/msg/State" }?.source,
                       folder + "/robot_msgs/msg/State.msg")
        XCTAssertTrue(registry.problems.contains { $0.hasPrefix(folder + "/broken.desc: not a FileDescriptorSet") }, "\(registry.problems)")
        XCTAssertTrue(registry.problems.contains { $0.hasPrefix(folder + "/Loose.msg: a .msg file belongs in PACKAGE/msg/") }, "\(registry.problems)")
        // The .msg schema is self-contained: it bundles Wheel and the common Vector3.
        let state = try XCTUnwrap(registry.resolve(name: "robot_msgs/State", encoding: "ros2msg"))
        let text = String(decoding: state.data, as: UTF8.self)
        XCTAssertTrue(text.contains("MSG: robot_msgs/msg/Wheel\nfloat32 speed"), text)
        XCTAssertTrue(text.contains("MSG: geometry_msgs/msg/Vector3\n"), text)
        XCTAssertNotNil(registry.resolve(name: ".t.Sample", encoding: "protobuf"))
        XCTAssertNotNil(registry.resolve(name: "sensor_msgs/msg/Imu", encoding: "ros2msg"), "common interfaces resolve without files")
        XCTAssertNil(registry.resolve(name: "t.Sample", encoding: "ros2msg"))
    }

    func testTheFirstFolderWins() throws {
        let second = temporaryPath("registry-second")
        try? FileManager.default.removeItem(atPath: second)
        try FileManager.default.createDirectory(atPath: second + "/robot_msgs/msg", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: second) }
        try "float64 speed\n".write(toFile: second + "/robot_msgs/msg/Wheel.msg", atomically: true, encoding: .utf8)
        let registry = SchemaRegistry.load(directories: [folder, second], includeDefault: false)
        XCTAssertEqual(registry.resolve(name: "robot_msgs/msg/Wheel", encoding: "ros2msg")?.data, Array("float32 speed\n".utf8))
        XCTAssertTrue(registry.problems.contains { $0.contains("already defined by \(folder)/robot_msgs/msg/Wheel.msg") }, "\(registry.problems)")
    }

    func testDecodeResolvesSchemaNamesThroughTheRegistryAndCountsEachReason() async throws {
        let stage = Decode(config: .init(), schemaDirectories: [folder])
        func track(_ name: String, _ encoding: String?, _ schema: SchemaInfo?) -> TrackInfo {
            TrackInfo(identity: "robot", name: name, frameEncoding: encoding, schema: schema)
        }
        let vec = track("vec", "protobuf", SchemaInfo(name: "t.Vec", encoding: "protobuf"))
        let wheel = track("wheel", "cdr", SchemaInfo(name: "robot_msgs/msg/Wheel", encoding: "ros2msg"))
        let imu = track("imu", "cdr", SchemaInfo(name: "sensor_msgs/msg/Imu", encoding: "ros2msg"))
        let frames = [
            Frame(track: vec, payload: [0x19, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F], userTimestamp: nil, receiveTimeNs: 0),  // z 1.0
            Frame(track: vec, payload: [0x19, 0], userTimestamp: nil, receiveTimeNs: 1),                           // truncated
            Frame(track: wheel, payload: [0, 1, 0, 0, 0, 0, 0x80, 0x3F], userTimestamp: nil, receiveTimeNs: 2),    // speed 1.0
            Frame(track: track("nameless", "protobuf", nil), payload: [], userTimestamp: nil, receiveTimeNs: 3),
            Frame(track: track("unknown", "protobuf", SchemaInfo(name: "t.Missing", encoding: "protobuf")), payload: [], userTimestamp: nil, receiveTimeNs: 4),
            Frame(track: track("broken", "cdr", SchemaInfo(name: "a/msg/A", encoding: "ros2msg", data: Array("A self".utf8))), payload: [0, 1, 0, 0], userTimestamp: nil, receiveTimeNs: 5),
            Frame(track: track("ros1", "ros1", nil), payload: [1], userTimestamp: nil, receiveTimeNs: 6),
            Frame(track: track("raw", nil, nil), payload: [1], userTimestamp: nil, receiveTimeNs: 7),
            Frame(track: imu, payload: [0, 1, 0, 0], userTimestamp: nil, receiveTimeNs: 8),
        ]
        let out = try await stage.process(Batch(frames: frames))
        XCTAssertEqual(out.frames.count, frames.count, "undecodable frames pass on")
        XCTAssertEqual(out.frames.map(\.payload), frames.map(\.payload), "payloads untouched")
        XCTAssertEqual(out.frames[0].value, .object([("x", .double(0)), ("y", .double(0)), ("z", .double(1))]))
        XCTAssertEqual(out.frames[2].value, .object([("speed", .double(1))]))
        XCTAssertEqual(out.frames.map { $0.value != nil }, [true, false, true, false, false, false, false, false, false])
        let stats = Dictionary(await stage.statistics().map { ($0.name, $0.value) }, uniquingKeysWith: +)
        XCTAssertEqual(stats["undecodable"], 7)
        XCTAssertEqual(stats["undecodable_bad_payload"], 2)
        XCTAssertEqual(stats["undecodable_no_schema"], 2, "no schema on the track, or a name the registry lacks")
        XCTAssertEqual(stats["undecodable_bad_schema"], 1)
        XCTAssertEqual(stats["undecodable_unsupported_encoding"], 1)
        XCTAssertEqual(stats["undecodable_no_encoding"], 1)
    }

    func testPipelineSchemasListIsRelativeToTheConfigAndReachesDecode() throws {
        let config = try PipelineConfig.parse("""
            schemas: [robot/schemas, /abs/schemas]
            sources:
              in: {type: jsonl, path: in.jsonl}
            transforms:
              d: {type: decode, inputs: [in], encoding: protobuf, schema: t.Vec}
            sinks:
              out: {type: jsonl, inputs: [d], path: out.jsonl}
            """, file: "/work/conf/p.yaml")
        XCTAssertEqual(config.schemaDirectories, ["/work/conf/robot/schemas", "/abs/schemas"])
        XCTAssertTrue(config.problems.isEmpty, "\(config.problems)")
        let bad = try PipelineConfig.parse("schemas: [{a: 1}]\nsources: {}\n")
        XCTAssertEqual(bad.problems.first?.message, "a 'schemas' entry must be a folder path, found a map")
    }
}

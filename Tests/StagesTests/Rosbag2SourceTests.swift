import Foundation
import XCTest
@testable import Pipeline
@testable import Recording
@testable import Stages
import TrackModel

/// The `rosbag2` source: metadata.yaml, split files read as one session, tracks and schemas.
final class Rosbag2SourceTests: XCTestCase {
    static let tables = """
        CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
        INSERT INTO schema VALUES (4, 'jazzy');
        CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
            serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL, type_description_hash TEXT NOT NULL);
        CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL, encoding TEXT NOT NULL,
            encoded_message_definition TEXT NOT NULL, type_description_hash TEXT NOT NULL);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX timestamp_idx ON messages (timestamp ASC);
        INSERT INTO topics VALUES (1, '/chatter', 'std_msgs/msg/String', 'cdr', '- depth: 10', '');
        INSERT INTO topics VALUES (2, '/robot/wheels', 'robot_msgs/msg/WheelState', 'cdr', '', '');
        INSERT INTO topics VALUES (3, '/odd', 'odd_msgs/msg/Unknown', 'cdr', '', '');
        INSERT INTO message_definitions VALUES (1, 'robot_msgs/msg/WheelState', 'ros2msg', 'int32 ticks', '');
        INSERT INTO message_definitions VALUES (2, 'odd_msgs/msg/Unknown', 'unknown', '', '');
        """

    func makeBag(_ name: String, parts: [[(Int64, Int64, String)]]) throws -> String {
        let dir = temporaryPath(name)
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var files: [String] = []
        for (n, messages) in parts.enumerated() {
            let file = "\(name)_\(n).db3"
            let db = try SQLiteConnection(path: dir + "/" + file, readOnly: false, create: true)
            try db.execute(Self.tables)
            for (topic, time, hex) in messages {
                try db.execute("INSERT INTO messages (topic_id, timestamp, data) VALUES (\(topic), \(time), x'\(hex)')")
            }
            db.close()
            files.append(file)
        }
        try """
            rosbag2_bagfile_information:
              version: 8
              storage_identifier: sqlite3
              compression_format: ''
              compression_mode: ''
              relative_file_paths:
            \(files.map { "    - \($0)" }.joined(separator: "\n"))
              topics_with_message_count:
                - topic_metadata: {name: /chatter, type: std_msgs/msg/String, serialization_format: cdr, offered_qos_profiles: '- depth: 10'}
                  message_count: 2
            """.write(toFile: dir + "/metadata.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func testSplitFilesAreOneSessionWithOneTrackPerTopic() async throws {
        let dir = try makeBag("split", parts: [[(1, 30, "0001000003000000686900"), (2, 10, "00010000")],
                                               [(3, 50, "ff"), (1, 40, "")]])
        let source = try Rosbag2Source(config: .init(path: dir, batchSize: 2))
        XCTAssertEqual(source.layout.files.map { ($0.path as NSString).lastPathComponent }, ["split_0.db3", "split_1.db3"])
        let out = CollectingEmitter()
        try await source.run(into: out)
        let frames = await out.frames
        // File by file, each in timestamp order; sequences count across files.
        XCTAssertEqual(frames.map(\.receiveTimeNs), [10, 30, 40, 50])
        XCTAssertEqual(frames.map(\.sequence), [0, 1, 2, 3])
        XCTAssertEqual(frames.map(\.userTimestamp), [10, 30, 40, 50])
        XCTAssertEqual(frames.map(\.payload), [[0, 1, 0, 0], [0, 1, 0, 0, 3, 0, 0, 0, 0x68, 0x69, 0], [], [0xff]])
        XCTAssertEqual(frames.map { $0.track.key.description }, ["robot/wheels", "ros2/chatter", "ros2/chatter", "ros2/odd"])
        XCTAssertTrue(frames.allSatisfy { $0.track.frameEncoding == "cdr" })
        // The bag's definition; a common type's built-in one; none for an unknown definition.
        XCTAssertEqual(frames[0].track.schema, SchemaInfo(name: "robot_msgs/msg/WheelState", encoding: "ros2msg",
                                                          data: Array("int32 ticks".utf8)))
        XCTAssertEqual(frames[1].track.schema?.name, "std_msgs/msg/String")
        XCTAssertEqual(frames[1].track.schema.map { String(decoding: $0.data, as: UTF8.self) }, "string data")
        XCTAssertNil(frames[3].track.schema)
        // The same track object for a topic in both files.
        XCTAssertEqual(frames[1].track, frames[2].track)

        let meta = source.sessionMetadata
        XCTAssertEqual(meta[MCAPChannelOrigin.userTimestampUnitMetaKey], "ns")
        let origins = try MCAPChannelOrigin.fromRecordingMeta(meta)
        XCTAssertEqual(origins[TrackKey(identity: "ros2", name: "chatter")]?.topic, "/chatter")
        XCTAssertEqual(origins[TrackKey(identity: "ros2", name: "chatter")]?.metadata, ["offered_qos_profiles": "- depth: 10"])
    }

    func testMetadataProblemsNameTheFileAndPlace() throws {
        func problem(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
            do {
                _ = try Rosbag2Layout.parse(metadata: yaml, file: "b/metadata.yaml", directory: NSTemporaryDirectory())
                XCTFail("accepted", file: file, line: line)
                return ""
            } catch let e as PipelineError {
                XCTAssertEqual(e.file, "b/metadata.yaml", file: file, line: line)
                return e.placedMessage
            } catch {
                XCTFail("\(error)", file: file, line: line)
                return ""
            }
        }
        XCTAssertEqual(problem(""), "b/metadata.yaml: empty: not a rosbag2 metadata.yaml")
        XCTAssertTrue(problem("rosbag2_bagfile_information:\n  version: 8\n  storage_identifier: 'sqli").contains("YAML syntax"))
        XCTAssertEqual(problem("rosbag2_bagfile_information:\n  version: 8\n  storage_identifier: sqlite3\n"),
                       "b/metadata.yaml:2:3: rosbag2_bagfile_information has no relative_file_paths (is the file cut short?)")
        XCTAssertEqual(problem("other: 1\n"),
                       "b/metadata.yaml:1:1: no rosbag2_bagfile_information map: not a rosbag2 metadata.yaml, or cut short")
        XCTAssertTrue(problem("rosbag2_bagfile_information:\n  relative_file_paths: [gone_0.db3]\n")
            .hasPrefix("b/metadata.yaml:2:25: lists gone_0.db3, which is not in"))
        XCTAssertTrue(problem("rosbag2_bagfile_information:\n  storage_identifier: sqlite3\n  compression_format: zstd\n"
                              + "  compression_mode: FILE\n  relative_file_paths: [x.db3.zstd]\n")
            .contains("compressed rosbag2 storage (compression_mode FILE) is not read"))
        XCTAssertTrue(problem("rosbag2_bagfile_information:\n  storage_identifier: rosbag_v1\n  relative_file_paths: [x]\n")
            .contains("storage_identifier 'rosbag_v1' is not read"))
    }

    func testADirectoryWithoutMetadataIsNotABag() throws {
        let dir = temporaryPath("empty-bag")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try Rosbag2Source(config: .init(path: dir))) { error in
            XCTAssertTrue("\(error)".contains("a directory without metadata.yaml is not a rosbag2 bag"), "\(error)")
        }
    }
}

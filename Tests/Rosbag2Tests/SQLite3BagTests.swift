import CSQLite
import Foundation
import XCTest
import TestSupport
@testable import Rosbag2

/// Builds small rosbag2 SQLite3 bags with the schema rosbag2 writes (its sqlite_storage
/// schemas 2–4) and reads them back byte for byte.
final class SQLite3BagTests: XCTestCase {
    // rosbag2_storage_sqlite3's tables, schema version 4 (bag metadata version 8+: with
    // message_definitions).
    static let schema4 = """
        CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
        INSERT INTO schema VALUES (4, 'jazzy');
        CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL, metadata TEXT NOT NULL);
        CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
            serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL, type_description_hash TEXT NOT NULL);
        CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL, encoding TEXT NOT NULL,
            encoded_message_definition TEXT NOT NULL, type_description_hash TEXT NOT NULL);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX timestamp_idx ON messages (timestamp ASC);
        """
    // Schema version 3 (Humble, bag metadata version 5): no message_definitions.
    static let schema3 = """
        CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
        INSERT INTO schema VALUES (3, 'humble');
        CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL, metadata TEXT NOT NULL);
        CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
            serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX timestamp_idx ON messages (timestamp ASC);
        """

    /// Writes a database at `path` with `sql`, then `messages` (topic_id, timestamp, data).
    func makeBag(_ name: String, _ sql: String, messages: [(Int64, Int64, [UInt8]?)] = []) throws -> String {
        let path = temporaryPath(name, folder: "trackbag-rosbag2")
        try? FileManager.default.removeItem(atPath: path)
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(path, &db), SQLITE_OK)
        defer { sqlite3_close(db) }
        try exec(db, sql)
        guard !messages.isEmpty else { return path }
        try exec(db, "BEGIN")
        var stmt: OpaquePointer?
        XCTAssertEqual(sqlite3_prepare_v2(db, "INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)", -1, &stmt, nil),
                       SQLITE_OK)
        defer { sqlite3_finalize(stmt) }
        for (topic, time, data) in messages {
            sqlite3_bind_int64(stmt, 1, topic)
            sqlite3_bind_int64(stmt, 2, time)
            if let data {
                data.withUnsafeBytes { b in
                    _ = sqlite3_bind_blob(stmt, 3, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count),
                                          unsafeBitCast(Int(-1), to: sqlite3_destructor_type.self))
                }
            } else {
                sqlite3_bind_null(stmt, 3)
            }
            XCTAssertEqual(sqlite3_step(stmt), SQLITE_DONE)
            sqlite3_reset(stmt)
        }
        try exec(db, "COMMIT")
        return path
    }

    func exec(_ db: OpaquePointer?, _ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? "?"
            sqlite3_free(err)
            throw NSError(domain: "sqlite", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: message])
        }
    }

    func readAll(_ bag: SQLite3Bag) throws(Rosbag2Error) -> [BagMessage] {
        let cursor = try bag.messages()
        var out: [BagMessage] = []
        while let m = try cursor.next() { out.append(m) }
        return out
    }

    func expectError(_ path: String, _ kind: Rosbag2Error.Kind, _ fragment: String, reading: Bool = false,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let bag = try SQLite3Bag(path: path)
            if reading { _ = try readAll(bag) }
            XCTFail("no error, expected \(kind): \(fragment)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(path + ": "), "'\(error)' does not start with the file", file: file, line: line)
        }
    }

    static let imuDefinition = """
        std_msgs/Header header
        geometry_msgs/Quaternion orientation
        ================================================================================
        MSG: std_msgs/Header
        builtin_interfaces/Time stamp
        string frame_id
        """

    func testVersion8BagRoundTripsEveryByteInTimestampOrder() throws {
        // Payloads that a text path would damage: empty, NUL bytes, invalid UTF-8, 300 KB.
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let cdr: [UInt8] = [0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00]
        let path = try makeBag("v8.db3", Self.schema4 + """
            INSERT INTO topics VALUES (1, '/imu', 'sensor_msgs/msg/Imu', 'cdr', '- history: 3', 'RIHS01_aa');
            INSERT INTO topics VALUES (2, '/robot/chatter', 'std_msgs/msg/String', 'cdr', '', 'RIHS01_bb');
            INSERT INTO message_definitions VALUES (1, 'sensor_msgs/msg/Imu', 'ros2msg', '\(Self.imuDefinition)', 'RIHS01_aa');
            INSERT INTO message_definitions VALUES (2, 'std_msgs/msg/String', 'unknown', '', 'RIHS01_bb');
            """, messages: [
                (2, 300, cdr),
                (1, 100, []),
                (1, 200, [0x00, 0xff, 0xfe, 0x00]),
                (2, 200, big),            // same timestamp as the row before: insertion order
                (1, -5, [0xc3, 0x28]),    // before the epoch
            ])
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let bag = try SQLite3Bag(path: path)
        XCTAssertEqual(bag.schemaVersion, 4)
        XCTAssertTrue(bag.hasDefinitionsTable)
        XCTAssertEqual(bag.topics, [
            BagTopic(id: 1, name: "/imu", type: "sensor_msgs/msg/Imu", serializationFormat: "cdr", offeredQoSProfiles: "- history: 3"),
            BagTopic(id: 2, name: "/robot/chatter", type: "std_msgs/msg/String", serializationFormat: "cdr"),
        ])
        XCTAssertEqual(bag.definitions["sensor_msgs/msg/Imu"], BagMessageDefinition(encoding: "ros2msg", text: Self.imuDefinition))
        XCTAssertEqual(bag.definitions["std_msgs/msg/String"], BagMessageDefinition(encoding: "unknown", text: ""))
        XCTAssertEqual(try bag.messageCount(), 5)
        let got = try readAll(bag)
        XCTAssertEqual(got.map(\.timestamp), [-5, 100, 200, 200, 300])
        XCTAssertEqual(got.map(\.topicIndex), [0, 0, 0, 1, 1])
        XCTAssertEqual(got[0].data, [0xc3, 0x28])
        XCTAssertEqual(got[1].data, [])
        XCTAssertEqual(got[2].data, [0x00, 0xff, 0xfe, 0x00])
        XCTAssertEqual(got[3].data, big)
        XCTAssertEqual(got[4].data, cdr)
        // A second cursor starts over.
        XCTAssertEqual(try readAll(bag).map(\.data), got.map(\.data))
        // Reading changed nothing: same bytes, and no journal, -wal or -shm beside it.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        for suffix in ["-wal", "-shm", "-journal"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + suffix), suffix)
        }
    }

    func testVersion5BagHasNoDefinitions() throws {
        let path = try makeBag("v5.db3", Self.schema3 + """
            INSERT INTO topics VALUES (7, '/cmd_vel', 'geometry_msgs/msg/Twist', 'cdr', '- depth: 10');
            """, messages: [(7, 1_700_000_000_000_000_000, [1, 2, 3])])
        let bag = try SQLite3Bag(path: path)
        XCTAssertEqual(bag.schemaVersion, 3)
        XCTAssertFalse(bag.hasDefinitionsTable)
        XCTAssertEqual(bag.definitions, [:])
        XCTAssertEqual(bag.topics.map(\.offeredQoSProfiles), ["- depth: 10"])
        XCTAssertEqual(try readAll(bag), [BagMessage(topicIndex: 0, timestamp: 1_700_000_000_000_000_000, data: [1, 2, 3])])
    }

    func testOldestBagWithoutSchemaTableOrQoS() throws {
        // sqlite_storage schema 1 (Foxy and before): topics without offered_qos_profiles.
        let path = try makeBag("v1.db3", """
            CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, serialization_format TEXT NOT NULL);
            CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
            INSERT INTO topics VALUES (1, '/a', 'std_msgs/msg/String', 'cdr');
            """, messages: [(1, 20, [9]), (1, 10, [8])])
        let bag = try SQLite3Bag(path: path)
        XCTAssertNil(bag.schemaVersion)
        XCTAssertEqual(bag.topics.map(\.offeredQoSProfiles), [""])
        // Without timestamp_idx SQLite sorts: still timestamp order.
        XCTAssertEqual(try readAll(bag).map(\.data), [[8], [9]])
    }

    func testMissingTablesAreNamed() throws {
        let noTopics = try makeBag("no-topics.db3", """
            CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
            """)
        expectError(noTopics, .missingTable, "not a rosbag2 SQLite3 bag: it has no 'topics' table (tables: messages)")
        let noMessages = try makeBag("no-messages.db3", """
            CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, serialization_format TEXT NOT NULL);
            """)
        expectError(noMessages, .missingTable, "it has no 'messages' table")
        let empty = try makeBag("empty.db3", "")
        expectError(empty, .missingTable, "it has no 'topics' table (tables: none)")
        let noColumn = try makeBag("no-column.db3", """
            CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, serialization_format TEXT NOT NULL);
            CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
            """)
        expectError(noColumn, .missingTable, "table 'topics' has no column 'type'")
        let badDefinitions = try makeBag("bad-definitions.db3", Self.schema3 + """
            CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL);
            """)
        expectError(badDefinitions, .missingTable, "table 'message_definitions' has no column 'encoding'")
    }

    func testMessageWhoseTopicIdNamesNoTopic() throws {
        let path = try makeBag("orphan.db3", Self.schema4 + """
            INSERT INTO topics VALUES (1, '/imu', 'sensor_msgs/msg/Imu', 'cdr', '', '');
            INSERT INTO topics VALUES (3, '/odom', 'nav_msgs/msg/Odometry', 'cdr', '', '');
            """, messages: [(1, 10, [1]), (9, 20, [2])])
        expectError(path, .badRow, "table messages, id 2: topic_id 9 names no row of table topics (ids there: 1, 3)", reading: true)
        // The messages before the bad row are read.
        let cursor = try SQLite3Bag(path: path).messages()
        XCTAssertEqual(try cursor.next()?.data, [1])
    }

    func testBadRows() throws {
        let nullData = try makeBag("null-data.db3", """
            CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT, type TEXT, serialization_format TEXT);
            CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER, timestamp INTEGER, data BLOB);
            INSERT INTO topics VALUES (1, '/a', 't/msg/T', 'cdr');
            """, messages: [(1, 10, nil)])
        expectError(nullData, .badRow, "table messages, id 1: data is NULL", reading: true)
        let textTime = try makeBag("text-time.db3", """
            CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT, type TEXT, serialization_format TEXT);
            CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER, timestamp, data BLOB);
            INSERT INTO topics VALUES (1, '/a', 't/msg/T', 'cdr');
            INSERT INTO messages VALUES (1, 1, 'noon', x'00');
            """)
        expectError(textTime, .badRow, "table messages, id 1: timestamp is not an integer", reading: true)
        let nullName = try makeBag("null-name.db3", """
            CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT, type TEXT, serialization_format TEXT);
            CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER, timestamp INTEGER, data BLOB);
            INSERT INTO topics VALUES (4, NULL, 't/msg/T', 'cdr');
            """)
        expectError(nullName, .badRow, "table topics, row 1: name of topic id 4 is NULL")
    }

    func testCorruptAndMissingFiles() throws {
        let notSQLite = temporaryPath("not-sqlite.db3", folder: "trackbag-rosbag2")
        try Data("this is not a database, just text that is long enough to look like a header".utf8)
            .write(to: URL(fileURLWithPath: notSQLite))
        expectError(notSQLite, .corrupt, "not an SQLite database")

        // A real bag cut in half (a copy that stopped early): the header promises pages that
        // are not there.
        let whole = try makeBag("whole.db3", Self.schema4 + """
            INSERT INTO topics VALUES (1, '/imu', 'sensor_msgs/msg/Imu', 'cdr', '', '');
            """, messages: (0..<400).map { (1, Int64($0), [UInt8](repeating: UInt8($0 & 0xff), count: 1000)) })
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = temporaryPath("cut.db3", folder: "trackbag-rosbag2")
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        do {
            _ = try readAll(try SQLite3Bag(path: cut))
            XCTFail("a bag cut in half read without error")
        } catch {
            XCTAssertEqual(error.kind, .corrupt, "\(error)")
            XCTAssertTrue(error.description.hasPrefix(cut + ": "), "\(error)")
        }

        // Damaged pages in the middle: the header survives, a b-tree page does not.
        var damaged = data
        for i in stride(from: 4096, to: data.count, by: 4096) { damaged[i] = 0xee; damaged[i + 1] = 0xee }
        let broken = temporaryPath("damaged.db3", folder: "trackbag-rosbag2")
        try damaged.write(to: URL(fileURLWithPath: broken))
        do {
            _ = try readAll(try SQLite3Bag(path: broken))
            XCTFail("a damaged bag read without error")
        } catch {
            XCTAssertEqual(error.kind, .corrupt, "\(error)")
        }

        expectError(temporaryPath("absent.db3", folder: "trackbag-rosbag2"), .io, "cannot open")
        expectError(NSTemporaryDirectory(), .io, "not a regular file")
    }

    func testBagWithUnfoldedWriteAheadLogIsRefused() throws {
        let path = try makeBag("wal.db3", Self.schema4 + """
            INSERT INTO topics VALUES (1, '/imu', 'sensor_msgs/msg/Imu', 'cdr', '', '');
            """)
        // A recorder still holding the bag open in WAL mode: its rows are only in the log.
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(path, &db), SQLITE_OK)
        defer { sqlite3_close(db) }
        try exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; INSERT INTO messages (topic_id, timestamp, data) VALUES (1, 5, x'01');")
        expectError(path, .unsupported, "has a write-ahead log beside it")
    }

    func testFileNamesThatAreURISyntaxStayFileNames() throws {
        let path = try makeBag("odd ?name#100%.db3", Self.schema3 + """
            INSERT INTO topics VALUES (1, '/a', 'std_msgs/msg/String', 'cdr', '');
            """, messages: [(1, 1, [42])])
        XCTAssertEqual(SQLite3Bag.immutableURI("/x/a?b#c%d"), "file:/x/a%3Fb%23c%25d?immutable=1")
        XCTAssertEqual(try readAll(try SQLite3Bag(path: path)).map(\.data), [[42]])
    }
}

import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One rosbag2 storage file of the `sqlite3` plugin (`*.db3`), read without changing it.
///
/// The tables rosbag2_storage_default_plugins writes (schema versions 1–4 of its
/// `sqlite_storage`; bag metadata version 8 added `message_definitions`):
///
/// | table | columns read | since |
/// |---|---|---|
/// | `topics` | `id`, `name`, `type`, `serialization_format`, `offered_qos_profiles` (when present) | always (QoS from schema 2) |
/// | `messages` | `id`, `topic_id`, `timestamp` (ns), `data` (the serialized message) | always |
/// | `message_definitions` | `topic_type`, `encoding` (`ros2msg`, `ros2idl`, `unknown`), `encoded_message_definition` | schema 4 |
/// | `schema` | `schema_version` | schema 3 |
///
/// The file is opened read-only and `immutable` (SQLite URI parameter): SQLite then takes no
/// locks and writes no journal, `-wal` or `-shm` file beside it, so reading a bag never
/// modifies it, even on a read-only medium. The price is that a write-ahead log left by a
/// recorder that did not close the bag would be ignored; such a bag is refused instead
/// (`Kind.unsupported`), as its last messages would silently be missing.
///
/// Messages are streamed in `timestamp` order (ties in insertion order), one row at a time,
/// through the `timestamp_idx` index rosbag2 creates; a bag without it is sorted by SQLite in
/// its bounded temporary storage. Memory use does not grow with the bag.
public final class SQLite3Bag {
    public let path: String
    /// `schema.schema_version`; nil in bags older than schema 3, which have no such table.
    public let schemaVersion: Int?
    /// Every row of `topics`, in `id` order.
    public let topics: [BagTopic]
    /// `message_definitions` by `topic_type`; empty in bags without the table.
    public let definitions: [String: BagMessageDefinition]
    /// Whether the bag has a `message_definitions` table at all (bag version 8 and later).
    public let hasDefinitionsTable: Bool

    private let db: OpaquePointer

    public init(path: String) throws(Rosbag2Error) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Rosbag2Error(.io, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Rosbag2Error(.io, "not a regular file", file: path)
        }
        var wal = stat()
        if stat(path + "-wal", &wal) == 0 && wal.st_size > 0 {
            throw Rosbag2Error(.unsupported, "has a write-ahead log beside it (\(path)-wal, \(wal.st_size) bytes): "
                               + "the recorder did not close the bag, so its last messages are only in the log; "
                               + "open a copy of both files with sqlite3 once to fold the log in", file: path)
        }
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(Self.immutableURI(path), &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(handle)
            throw Rosbag2Error(.io, "cannot open: \(message)", file: path)
        }
        db = handle
        do throws(Rosbag2Error) {
            let tables = try Self.tableNames(handle, path: path)
            for required in ["topics", "messages"] where !tables.contains(required) {
                throw Rosbag2Error(.missingTable, "not a rosbag2 SQLite3 bag: it has no '\(required)' table"
                                   + " (tables: \(tables.isEmpty ? "none" : tables.sorted().joined(separator: ", ")))",
                                   file: path)
            }
            let topicColumns = try Self.columns(of: "topics", handle, path: path)
            for c in ["id", "name", "type", "serialization_format"] where !topicColumns.contains(c) {
                throw Rosbag2Error(.missingTable, "table 'topics' has no column '\(c)'", file: path)
            }
            let messageColumns = try Self.columns(of: "messages", handle, path: path)
            for c in ["id", "topic_id", "timestamp", "data"] where !messageColumns.contains(c) {
                throw Rosbag2Error(.missingTable, "table 'messages' has no column '\(c)'", file: path)
            }
            var version: Int?
            if tables.contains("schema") {
                version = try Self.query(handle, path: path, "SELECT schema_version FROM schema") { s in
                    sqlite3_column_type(s, 0) == SQLITE_INTEGER ? Int(sqlite3_column_int64(s, 0)) : nil
                }.first ?? nil
            }
            schemaVersion = version
            topics = try Self.readTopics(handle, path: path, hasQoS: topicColumns.contains("offered_qos_profiles"))
            hasDefinitionsTable = tables.contains("message_definitions")
            definitions = hasDefinitionsTable ? try Self.readDefinitions(handle, path: path) : [:]
        } catch {
            sqlite3_close_v2(handle)
            throw error
        }
    }

    deinit {
        // Finalizes statements a cursor still holds (a cursor keeps its bag alive, so none run).
        while let s = sqlite3_next_stmt(db, nil) { sqlite3_finalize(s) }
        sqlite3_close_v2(db)
    }

    /// `SELECT COUNT(*) FROM messages`.
    public func messageCount() throws(Rosbag2Error) -> Int {
        try Self.query(db, path: path, "SELECT COUNT(*) FROM messages") { Int(sqlite3_column_int64($0, 0)) }.first ?? 0
    }

    /// A cursor over every message in `timestamp` order. Each call starts from the beginning.
    public func messages() throws(Rosbag2Error) -> SQLite3MessageCursor {
        try SQLite3MessageCursor(bag: self)
    }

    fileprivate func prepare(_ sql: String) throws(Rosbag2Error) -> OpaquePointer {
        try Self.prepare(db, path: path, sql)
    }

    fileprivate func error(_ rc: Int32, _ doing: String) -> Rosbag2Error {
        Self.error(db, path: path, rc, doing)
    }

    // MARK: - Reading the small tables

    private static func readTopics(_ db: OpaquePointer, path: String, hasQoS: Bool) throws(Rosbag2Error) -> [BagTopic] {
        let sql = "SELECT id, name, type, serialization_format\(hasQoS ? ", offered_qos_profiles" : "") FROM topics ORDER BY id"
        let rows = try query(db, path: path, sql) { s in
            (sqlite3_column_type(s, 0) == SQLITE_INTEGER ? sqlite3_column_int64(s, 0) : nil,
             (1...(hasQoS ? 4 : 3)).map { c in sqlite3_column_text(s, Int32(c)).map { String(cString: $0) } })
        }
        var seen = Set<Int64>()
        var topics: [BagTopic] = []
        for (row, (id, texts)) in rows.enumerated() {
            let place = "table topics, row \(row + 1)"
            guard let id else { throw Rosbag2Error(.badRow, "id is not an integer", file: path, place: place) }
            for (i, column) in ["name", "type", "serialization_format"].enumerated() where texts[i] == nil {
                throw Rosbag2Error(.badRow, "\(column) of topic id \(id) is NULL", file: path, place: place)
            }
            guard seen.insert(id).inserted else {
                throw Rosbag2Error(.badRow, "two topics with id \(id)", file: path, place: place)
            }
            topics.append(BagTopic(id: id, name: texts[0]!, type: texts[1]!, serializationFormat: texts[2]!,
                                   offeredQoSProfiles: hasQoS ? texts[3] ?? "" : ""))
        }
        return topics
    }

    private static func readDefinitions(_ db: OpaquePointer, path: String) throws(Rosbag2Error) -> [String: BagMessageDefinition] {
        let columns = try columns(of: "message_definitions", db, path: path)
        for c in ["topic_type", "encoding", "encoded_message_definition"] where !columns.contains(c) {
            throw Rosbag2Error(.missingTable, "table 'message_definitions' has no column '\(c)'", file: path)
        }
        var out: [String: BagMessageDefinition] = [:]
        let rows = try query(db, path: path,
                             "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions ORDER BY id") { s in
            (sqlite3_column_text(s, 0).map { String(cString: $0) },
             sqlite3_column_text(s, 1).map { String(cString: $0) } ?? "",
             sqlite3_column_text(s, 2).map { String(cString: $0) } ?? "")
        }
        for (type, encoding, text) in rows {
            guard let type else { continue }
            // rosbag2 writes one row per type; if a bag holds more, the first one wins.
            if out[type] == nil { out[type] = BagMessageDefinition(encoding: encoding, text: text) }
        }
        return out
    }

    // MARK: - SQLite helpers

    /// `file:` URI with `immutable=1` (sqlite.org/uri.html): `?`, `#` and `%` in the path are
    /// escaped so they stay part of the file name.
    static func immutableURI(_ path: String) -> String {
        var out = "file:"
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "%"):
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            default:
                out += String(decoding: [byte], as: UTF8.self)
            }
        }
        return out + "?immutable=1"
    }

    private static func tableNames(_ db: OpaquePointer, path: String) throws(Rosbag2Error) -> Set<String> {
        Set(try query(db, path: path, "SELECT name FROM sqlite_master WHERE type = 'table'") { s in
            sqlite3_column_text(s, 0).map { String(cString: $0) } ?? ""
        })
    }

    private static func columns(of table: String, _ db: OpaquePointer, path: String) throws(Rosbag2Error) -> Set<String> {
        Set(try query(db, path: path, "PRAGMA table_info(\(table))") { s in
            sqlite3_column_text(s, 1).map { String(cString: $0) } ?? ""
        })
    }

    private static func prepare(_ db: OpaquePointer, path: String, _ sql: String) throws(Rosbag2Error) -> OpaquePointer {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(db, path: path, rc, "reading (\(sql.prefix(60)))") }
        return stmt
    }

    private static func query<T>(_ db: OpaquePointer, path: String, _ sql: String,
                                 _ row: (OpaquePointer) -> T) throws(Rosbag2Error) -> [T] {
        let stmt = try prepare(db, path: path, sql)
        defer { sqlite3_finalize(stmt) }
        var out: [T] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return out }
            guard rc == SQLITE_ROW else { throw error(db, path: path, rc, "reading (\(sql.prefix(60)))") }
            out.append(row(stmt))
        }
    }

    static func error(_ db: OpaquePointer, path: String, _ rc: Int32, _ doing: String) -> Rosbag2Error {
        let message = String(cString: sqlite3_errmsg(db))
        switch rc & 0xff {
        case SQLITE_NOTADB:
            return Rosbag2Error(.corrupt, "not an SQLite database (\(message)), so not a rosbag2 .db3 file", file: path)
        case SQLITE_CORRUPT:
            return Rosbag2Error(.corrupt, "the database is damaged: \(message) while \(doing)", file: path)
        case SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PERM:
            return Rosbag2Error(.io, "\(message) while \(doing)", file: path)
        default:
            return Rosbag2Error(.corrupt, "\(message) (SQLite code \(rc)) while \(doing)", file: path)
        }
    }
}

/// A row of `topics`.
public struct BagTopic: Sendable, Hashable {
    public var id: Int64
    /// The ROS topic, `/imu`.
    public var name: String
    /// The message type, `sensor_msgs/msg/Imu`.
    public var type: String
    /// How messages are serialized: `cdr` for every rmw in use.
    public var serializationFormat: String
    /// The publishers' QoS profiles as rosbag2 wrote them (YAML text); empty before schema 2.
    public var offeredQoSProfiles: String

    public init(id: Int64, name: String, type: String, serializationFormat: String, offeredQoSProfiles: String = "") {
        self.id = id
        self.name = name
        self.type = type
        self.serializationFormat = serializationFormat
        self.offeredQoSProfiles = offeredQoSProfiles
    }
}

/// A row of `message_definitions`: the type's definition as rosbag2 found it when recording.
public struct BagMessageDefinition: Sendable, Hashable {
    /// `ros2msg` (`.msg` text, dependencies after `=` lines and `MSG:` headers, MCAP's form),
    /// `ros2idl`, or `unknown` when rosbag2 could not find the definition (then `text` is empty).
    public var encoding: String
    public var text: String

    public init(encoding: String, text: String) {
        self.encoding = encoding
        self.text = text
    }
}

/// One row of `messages`, with its topic resolved.
public struct BagMessage: Sendable, Hashable {
    /// Index into `SQLite3Bag.topics`.
    public var topicIndex: Int
    /// When rosbag2 received it, Unix epoch nanoseconds.
    public var timestamp: Int64
    /// The serialized message, exactly as stored.
    public var data: [UInt8]
}

/// Streams `messages` in timestamp order, one row at a time; owns one prepared statement.
public final class SQLite3MessageCursor {
    private let bag: SQLite3Bag
    private let stmt: OpaquePointer
    private let topicIndex: [Int64: Int]
    private var done = false

    init(bag: SQLite3Bag) throws(Rosbag2Error) {
        self.bag = bag
        stmt = try bag.prepare("SELECT id, topic_id, timestamp, data FROM messages ORDER BY timestamp, id")
        var index: [Int64: Int] = [:]
        for (i, t) in bag.topics.enumerated() { index[t.id] = i }
        topicIndex = index
    }

    deinit { sqlite3_finalize(stmt) }

    /// The next message, or nil at the end. A row that breaks rosbag2's schema throws, naming
    /// the message's `id`.
    public func next() throws(Rosbag2Error) -> BagMessage? {
        guard !done else { return nil }
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_DONE {
            done = true
            return nil
        }
        guard rc == SQLITE_ROW else {
            done = true
            throw bag.error(rc, "reading table messages")
        }
        let id = sqlite3_column_int64(stmt, 0)
        let place = "table messages, id \(id)"
        guard sqlite3_column_type(stmt, 1) == SQLITE_INTEGER else {
            throw Rosbag2Error(.badRow, "topic_id is not an integer", file: bag.path, place: place)
        }
        let topicId = sqlite3_column_int64(stmt, 1)
        guard let topic = topicIndex[topicId] else {
            throw Rosbag2Error(.badRow, "topic_id \(topicId) names no row of table topics "
                               + "(ids there: \(bag.topics.map { String($0.id) }.joined(separator: ", ")))",
                               file: bag.path, place: place)
        }
        guard sqlite3_column_type(stmt, 2) == SQLITE_INTEGER else {
            throw Rosbag2Error(.badRow, "timestamp is not an integer", file: bag.path, place: place)
        }
        let timestamp = sqlite3_column_int64(stmt, 2)
        guard sqlite3_column_type(stmt, 3) != SQLITE_NULL else {
            throw Rosbag2Error(.badRow, "data is NULL", file: bag.path, place: place)
        }
        let p = sqlite3_column_blob(stmt, 3)
        let n = Int(sqlite3_column_bytes(stmt, 3))
        let data = (p != nil && n > 0) ? [UInt8](UnsafeRawBufferPointer(start: p, count: n)) : []
        return BagMessage(topicIndex: topic, timestamp: timestamp, data: data)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrackModel

/// Reads a `.tbag` file: its meta, tracks and events, summary statistics, and its frames in
/// receive-time order across tracks (`frames(_:)`).
///
/// Opening checks the file before trusting it and throws `RecordingError` naming the file and
/// the place: not SQLite (`byte 0`), truncated (`SQLite header byte 28`), newer format
/// (`PRAGMA user_version`), missing tables. Damage found later (a chunk that does not decode)
/// is thrown from the read that meets it, naming the chunk.
///
/// Ownership: one task owns a reader and its cursors; not `Sendable`.
public final class RecordingReader {
    public let path: String
    public let formatVersion: Int
    /// The `meta` table; keys this version does not know are kept.
    public let meta: [String: String]
    /// Every track, by id.
    public let tracks: [RecordedTrack]

    let db: SQLiteConnection

    public init(path: String) throws {
        self.path = path
        try Self.checkFileHeader(path)
        db = try SQLiteConnection(path: path, readOnly: true)
        let version: Int64
        do {
            version = try db.scalarInt("PRAGMA user_version") ?? 0
        } catch let e as RecordingError {
            throw e.kind == .notSQLite ? RecordingError(.notSQLite, "not an SQLite database (so not a .tbag)", file: path, place: "byte 0") : e
        }
        guard version <= RecordingFormat.version else {
            throw RecordingError(.newerVersion,
                                 "format version \(version) is newer than this trackbag reads (\(RecordingFormat.version)); upgrade trackbag",
                                 file: path, place: "PRAGMA user_version")
        }
        var present: Set<String> = []
        let s = try db.prepare("SELECT name FROM sqlite_master WHERE type='table'")
        while try s.step() { if let n = s.string(0) { present.insert(n) } }
        let missing = RecordingFormat.requiredTables.filter { !present.contains($0) }
        guard version >= 1, missing.isEmpty else {
            throw RecordingError(.notARecording,
                                 "an SQLite database but not a .tbag recording (user_version \(version), missing tables: \(missing.joined(separator: ", ")))",
                                 file: path, place: "sqlite_master")
        }
        formatVersion = Int(version)
        var meta: [String: String] = [:]
        let m = try db.prepare("SELECT key, value FROM meta")
        while try m.step() { if let k = m.string(0) { meta[k] = m.string(1) ?? "" } }
        self.meta = meta
        tracks = try Self.loadTracks(db)
    }

    /// Cheap checks on the raw bytes before SQLite sees them, so the common damage gets a
    /// precise message: SQLite file format §1.3 (the 100-byte database header).
    static func checkFileHeader(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw RecordingError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int64(st.st_size)
        guard size > 0 else { throw RecordingError(.notARecording, "empty file (0 bytes), not a .tbag", file: path, place: "byte 0") }
        var header = [UInt8](repeating: 0, count: 100)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress, 100) }
        let magic = Array("SQLite format 3".utf8) + [0]
        guard n >= 16, Array(header[0..<16]) == magic else {
            throw RecordingError(.notSQLite, "not an SQLite database (so not a .tbag): the first 16 bytes are not \"SQLite format 3\\0\"",
                                 file: path, place: "byte 0")
        }
        guard n == 100 else {
            throw RecordingError(.truncated, "file is \(size) bytes, shorter than the 100-byte SQLite header", file: path, place: "byte \(n)")
        }
        // With a WAL beside it the main file may legitimately lag its header; SQLite reconciles.
        if fileExists(path + "-wal") { return }
        let pageSizeField = Int64(header[16]) << 8 | Int64(header[17])
        let pageSize = pageSizeField == 1 ? 65536 : pageSizeField
        func be32(_ at: Int) -> Int64 {
            Int64(header[at]) << 24 | Int64(header[at + 1]) << 16 | Int64(header[at + 2]) << 8 | Int64(header[at + 3])
        }
        let pages = be32(28)
        // The in-header page count is valid only when "version-valid-for" equals the change counter.
        if pages > 0, be32(92) == be32(24), size < pages * pageSize {
            throw RecordingError(.truncated,
                                 "file is \(size) bytes but its header says \(pages) pages of \(pageSize) bytes (\(pages * pageSize) bytes): cut off",
                                 file: path, place: "SQLite header byte 28")
        }
    }

    static func loadTracks(_ db: SQLiteConnection) throws -> [RecordedTrack] {
        let s = try db.prepare("""
            SELECT t.id, t.identity, t.name, t.sid, t.pub_handle, t.encryption, t.frame_encoding,
                   s.name, s.encoding, s.data
            FROM tracks t LEFT JOIN schemas s ON s.id = t.schema_id ORDER BY t.id
            """)
        var out: [RecordedTrack] = []
        while try s.step() {
            let id = Int(s.int64(0))
            let handle = s.optionalInt64(4)
            var info = TrackInfo(identity: s.string(1) ?? "", name: s.string(2) ?? "", sid: s.string(3),
                                 pubHandle: handle.flatMap { UInt16(exactly: $0) },
                                 encryption: TrackEncryption(rawValue: s.string(5) ?? "none") ?? .none,
                                 frameEncoding: s.string(6))
            if let name = s.string(7) {
                info.schema = SchemaInfo(name: name, encoding: s.string(8) ?? "", data: s.bytes(9))
            }
            out.append(RecordedTrack(id: id, info: info))
        }
        return out
    }

    public func track(id: Int) -> RecordedTrack? {
        tracks.first { $0.id == id }
    }

    /// Ids of the tracks any glob matches.
    public func trackIDs(matching globs: [TrackGlob]) -> Set<Int> {
        Set(tracks.filter { globs.anyMatches($0.info.key) }.map(\.id))
    }

    /// Earliest and latest receive time over all chunks, nil for a file without frames.
    public func timeRange() throws -> ClosedRange<Int64>? {
        let s = try db.prepare("SELECT MIN(start_ns), MAX(end_ns) FROM chunks")
        guard try s.step(), !s.isNull(0), !s.isNull(1) else { return nil }
        let a = s.int64(0), b = s.int64(1)
        return a <= b ? a...b : nil
    }

    /// Session events in time order, optionally within an inclusive window.
    public func events(startNs: Int64? = nil, endNs: Int64? = nil) throws -> [SessionEvent] {
        let s = try db.prepare("""
            SELECT time_ns, kind, identity, track, count, detail FROM events
            WHERE time_ns >= ? AND time_ns <= ? ORDER BY time_ns, id
            """)
        s.bind(1, startNs ?? .min)
        s.bind(2, endNs ?? .max)
        var out: [SessionEvent] = []
        while try s.step() {
            // An event kind this version does not know (a newer writer) becomes a note, its
            // original kind kept in the detail (recording-format.md, "Extension rules").
            let raw = s.string(1) ?? ""
            var detail = s.string(5)
            let kind = SessionEvent.Kind(rawValue: raw) ?? {
                detail = "[\(raw)] " + (detail ?? "")
                return .note
            }()
            out.append(SessionEvent(timeNs: s.int64(0), kind: kind, identity: s.string(2), track: s.string(3),
                                    count: s.optionalInt64(4), detail: detail))
        }
        return out
    }

    /// Frames of the selected tracks in receive-time order across tracks, streamed: memory
    /// holds about one decompressed chunk per track whose time range overlaps the position.
    public func frames(_ selection: FrameSelection = FrameSelection()) throws -> FrameCursor {
        try FrameCursor(reader: self, selection: selection)
    }
}

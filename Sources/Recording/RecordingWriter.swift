import CSQLite
import TrackModel

/// Writes a `.tbag` file (schemas/recording-format.md): frames into per-track chunks, zstd
/// compressed, one SQLite row per chunk.
///
/// Ownership: one task (or thread) owns a writer; it is not `Sendable`. The pipeline's
/// `recording` sink keeps it inside an actor.
///
/// Durability: a track's chunk is committed when it reaches `chunkBytes` (default 1 MiB) or
/// when it is older than `chunkInterval` (default 100 ms), whichever comes first. Age is
/// measured on the **monotonic clock** (CLOCK_MONOTONIC_COARSE, read on each append), not on
/// frame receive times: durability is about wall time lost in a crash, and offline imports whose
/// receive times span hours must not commit a chunk per frame. An owner whose input can go
/// quiet calls `commitDueChunks()` from a timer so the last frames do not wait for the next one.
/// After a crash (even SIGKILL) the file opens and holds every committed chunk.
public final class RecordingWriter {
    public struct Options: Sendable, Hashable {
        /// zstd level for chunk bodies; nil stores chunks uncompressed (`codec = 'none'`).
        /// Default 1, from `trackbag bench write-levels` (2 M mixed frames, release build):
        /// level 1 wrote 1.14 M frames/CPU-s at ratio 1.65, level 3 0.64 M at 1.68, level 6
        /// 0.32 M at 1.86; 190-byte JSON alone compresses 5.2x at level 1. Higher levels halve
        /// throughput or worse for a few percent of bytes.
        public var zstdLevel: Int?
        /// A chunk is committed once its body reaches this many bytes.
        public var chunkBytes: Int
        /// A chunk is committed once it has been open this long (monotonic time); nil: size only.
        public var chunkIntervalNs: Int64?
        /// Replace an existing file at the path instead of failing. The old file stays whole
        /// until `close`: the new one is written beside it and renamed over it.
        public var overwrite: Bool
        /// Write into a temporary file beside the path and rename it into place at `close`,
        /// even when nothing exists there yet (batch writers: repair, import). A writer dropped
        /// without `close` then leaves nothing behind.
        public var replaceAtClose: Bool
        /// Files the caller reads while writing: the writer refuses a path that is one of them
        /// (`OutputPath.refuseInput`: same file by device and inode or resolved path, or a sidecar).
        public var inputs: [String]
        /// `meta` values: the room and server URL the session came from.
        public var room: String?
        public var url: String?
        /// Wall-clock anchor of t = 0 (Unix ns); default: when the writer was created.
        public var startTimeNs: Int64?

        public init(zstdLevel: Int? = 1, chunkBytes: Int = 1 << 20, chunkIntervalNs: Int64? = 100_000_000,
                    overwrite: Bool = false, room: String? = nil, url: String? = nil, startTimeNs: Int64? = nil,
                    replaceAtClose: Bool = false, inputs: [String] = []) {
            self.replaceAtClose = replaceAtClose
            self.inputs = inputs
            self.zstdLevel = zstdLevel
            self.chunkBytes = chunkBytes
            self.chunkIntervalNs = chunkIntervalNs
            self.overwrite = overwrite
            self.room = room
            self.url = url
            self.startTimeNs = startTimeNs
        }
    }

    /// A track's id in this file (`tracks.id`), returned by `addTrack`.
    public typealias TrackID = Int

    public let path: String
    public let options: Options
    /// Where the SQLite database is being written: `path`, or a temporary file beside it that
    /// `close` renames onto `path`.
    public let writingPath: String

    private let db: SQLiteConnection
    private let compressor: ZstdCompressor?
    private var compressed: [UInt8] = []
    private let insertZstdChunk: SQLiteStatement
    private let insertRawChunk: SQLiteStatement
    private let insertEvent: SQLiteStatement
    private let begin: SQLiteStatement
    private let commit: SQLiteStatement

    private struct OpenChunk {
        var encoder: ChunkEncoder
        var openedAtNs: Int64 = 0
        var committedFrames = 0
    }
    /// Indexed by `TrackID - 1`.
    private var chunks: [OpenChunk] = []
    private var schemaIDs: [SchemaInfo: Int64] = [:]
    private var identities: Set<String> = []
    private var isClosed = false

    /// Frames committed to the file so far (all tracks).
    public private(set) var committedFrameCount = 0
    /// Chunks committed so far.
    public private(set) var committedChunkCount = 0
    /// Compressed bytes stored so far (chunk blobs only): what `split.size` watches.
    public private(set) var storedBytes = 0

    public init(path: String, options: Options = Options()) throws {
        self.path = path
        self.options = options
        guard options.chunkBytes > 0, options.chunkBytes <= RecordingFormat.maxFramePayload else {
            throw RecordingError(.invalidArgument, "chunkBytes must be within 1…\(RecordingFormat.maxFramePayload)", file: path)
        }
        do {
            try OutputPath.refuseInput(output: path, inputs: options.inputs)
        } catch {
            throw RecordingError(.invalidArgument, error.message, file: path)
        }
        // A sidecar left by a deleted file counts too: SQLite would apply a stale WAL to a new
        // database of the same name.
        let exists = ([""] + OutputPath.sidecarSuffixes).contains { fileExists(path + $0) }
        if exists, !options.overwrite {
            throw RecordingError(.io, "file exists (pass overwrite to replace it)", file: path)
        }
        // Nothing is deleted up front: an existing file is replaced only by a complete new one.
        writingPath = exists || options.replaceAtClose ? OutputPath.temporaryPath(for: path) : path
        db = try SQLiteConnection(path: writingPath, readOnly: false, create: true)
        // WAL + synchronous=NORMAL: a commit appends to the WAL without fsync, and a crash of the
        // process (not the machine) loses nothing committed (sqlite.org/wal.html §"Performance").
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("PRAGMA synchronous=NORMAL")
        try db.execute("BEGIN")
        try db.execute(RecordingFormat.schemaSQL)
        try db.execute("PRAGMA user_version=\(RecordingFormat.version)")
        try db.execute("COMMIT")
        compressor = try options.zstdLevel.map { try ZstdCompressor(level: $0) }
        insertZstdChunk = try db.prepare("INSERT INTO chunks(track_id,start_ns,end_ns,frame_count,raw_size,codec,data) VALUES(?,?,?,?,?,'zstd',?)")
        insertRawChunk = try db.prepare("INSERT INTO chunks(track_id,start_ns,end_ns,frame_count,raw_size,codec,data) VALUES(?,?,?,?,?,'none',?)")
        insertEvent = try db.prepare("INSERT INTO events(time_ns,kind,identity,track,count,detail) VALUES(?,?,?,?,?,?)")
        begin = try db.prepare("BEGIN")
        commit = try db.prepare("COMMIT")

        let start = options.startTimeNs ?? SessionClock.system.nowNs()
        try setMeta(RecordingMetaKey.formatVersion, String(RecordingFormat.version))
        try setMeta(RecordingMetaKey.createdAt, UnixTime.iso8601(ns: UnixTime.nowNs()))
        try setMeta(RecordingMetaKey.startTimeNs, String(start))
        try setMeta(RecordingMetaKey.writer, "trackbag")
        if let room = options.room { try setMeta(RecordingMetaKey.room, room) }
        if let url = options.url { try setMeta(RecordingMetaKey.url, url) }
    }

    deinit {
        if isClosed { return }
        if writingPath == path {
            try? close()
        } else {
            // Never completed: the file it would have replaced stays as it was.
            db.close()
            for suffix in [""] + OutputPath.sidecarSuffixes { unlink(writingPath + suffix) }
        }
    }

    /// Sets a `meta` value (kept as text).
    public func setMeta(_ key: String, _ value: String) throws {
        let s = try db.prepare("INSERT OR REPLACE INTO meta(key,value) VALUES(?,?)")
        s.bind(1, key)
        s.bind(2, value)
        try s.run()
    }

    /// Adds a track (and its participant and schema rows) and returns its id for `append`.
    public func addTrack(_ info: TrackInfo) throws -> TrackID {
        try checkOpen()
        var schemaID: Int64?
        if let schema = info.schema {
            if let id = schemaIDs[schema] {
                schemaID = id
            } else {
                let s = try db.prepare("INSERT INTO schemas(name,encoding,data) VALUES(?,?,?)")
                s.bind(1, schema.name)
                s.bind(2, schema.encoding)
                s.bindCopy(3, schema.data)
                try s.run()
                schemaID = db.lastInsertRowID
                schemaIDs[schema] = schemaID
            }
        }
        if !identities.contains(info.identity) {
            let s = try db.prepare("INSERT OR IGNORE INTO participants(identity) VALUES(?)")
            s.bind(1, info.identity)
            try s.run()
            identities.insert(info.identity)
        }
        let s = try db.prepare("""
            INSERT INTO tracks(identity,name,sid,pub_handle,encryption,frame_encoding,schema_id)
            VALUES(?,?,?,?,?,?,?)
            """)
        s.bind(1, info.identity)
        s.bind(2, info.name)
        s.bind(3, info.sid)
        s.bind(4, info.pubHandle.map { Int64($0) })
        s.bind(5, info.encryption.rawValue)
        s.bind(6, info.frameEncoding)
        s.bind(7, schemaID)
        try s.run()
        let id = Int(db.lastInsertRowID)
        // Row ids are handed out 1, 2, 3… in a fresh file; the chunk table is indexed by them.
        guard id == chunks.count + 1 else {
            throw RecordingError(.sqlite, "unexpected track id \(id) (expected \(chunks.count + 1))", file: path, place: "tracks")
        }
        chunks.append(OpenChunk(encoder: ChunkEncoder(reservingCapacity: min(options.chunkBytes, 1 << 20) + 64 * 1024)))
        return id
    }

    /// Appends one frame to its track's open chunk: the hot path (no allocation once the chunk
    /// buffer has grown; a commit happens inline when the chunk is full or old).
    @inline(__always)
    public func append(track: TrackID, receiveTimeNs: Int64, userTimestamp: UInt64?, payload: UnsafeRawBufferPointer) throws {
        let index = track &- 1
        guard index >= 0, index < chunks.count else {
            throw RecordingError(.invalidArgument, "unknown track id \(track)", file: path)
        }
        // A chunk holds less than chunkBytes plus one frame: within the format's chunk limit.
        guard payload.count <= RecordingFormat.maxFramePayload else {
            throw RecordingError(.invalidArgument, "a \(payload.count)-byte frame is above the \(RecordingFormat.maxFramePayload)-byte frame limit",
                                 file: path, place: "track \(track)")
        }
        let now = options.chunkIntervalNs == nil ? 0 : MonotonicClock.coarseNow()
        // One access to the chunk array per frame (each access to a class's stored `var` is a
        // dynamic exclusivity check; several per frame showed in the write benchmark).
        let (opened, full) = Self.add(to: &chunks[index], now: now, receiveTimeNs: receiveTimeNs,
                                      userTimestamp: userTimestamp, payload: payload, chunkBytes: options.chunkBytes)
        if opened, now < oldestOpenNs { oldestOpenNs = now }
        if full {
            try begin.run()
            try writeChunk(index)
            try commit.run()
            oldestOpenNs = chunks.lazy.filter { !$0.encoder.isEmpty }.map(\.openedAtNs).min() ?? .max
        }
        if let interval = options.chunkIntervalNs, now &- oldestOpenNs >= interval {
            try commitDueChunks(now: now)
        }
    }

    /// Appends to one open chunk; returns whether it was just opened and whether it is full.
    @inline(__always)
    private static func add(to chunk: inout OpenChunk, now: Int64, receiveTimeNs: Int64, userTimestamp: UInt64?,
                            payload: UnsafeRawBufferPointer, chunkBytes: Int) -> (opened: Bool, full: Bool) {
        let opened = chunk.encoder.isEmpty
        if opened { chunk.openedAtNs = now }
        chunk.encoder.append(receiveTimeNs: receiveTimeNs, userTimestamp: userTimestamp, payload: payload)
        return (opened, chunk.encoder.count >= chunkBytes)
    }

    public func append(track: TrackID, receiveTimeNs: Int64, userTimestamp: UInt64?, payload: [UInt8]) throws {
        try payload.withUnsafeBytes { raw in
            try append(track: track, receiveTimeNs: receiveTimeNs, userTimestamp: userTimestamp, payload: raw)
        }
    }

    /// Monotonic time when the oldest open chunk was opened, cached so the hot path compares one
    /// integer; recomputed on each commit.
    private var oldestOpenNs: Int64 = .max

    /// Commits every open chunk older than `chunkInterval` in one transaction. Call it from a
    /// timer when frames may stop arriving.
    public func commitDueChunks() throws {
        try commitDueChunks(now: MonotonicClock.coarseNow())
    }

    private func commitDueChunks(now: Int64) throws {
        guard let interval = options.chunkIntervalNs else { return }
        try commitChunks { chunk in now &- chunk.openedAtNs >= interval }
    }

    /// Commits every open chunk, whatever its size or age.
    public func flush() throws {
        try checkOpen()
        try commitChunks { _ in true }
    }

    private func commitChunks(where due: (OpenChunk) -> Bool) throws {
        var began = false
        var oldest: Int64 = .max
        for i in chunks.indices where !chunks[i].encoder.isEmpty {
            if due(chunks[i]) {
                if !began { try begin.run(); began = true }
                try writeChunk(i)
            } else {
                oldest = min(oldest, chunks[i].openedAtNs)
            }
        }
        if began { try commit.run() }
        oldestOpenNs = oldest
    }

    /// Inserts track `index`'s open chunk (inside the caller's transaction) and empties it.
    private func writeChunk(_ index: Int) throws {
        let enc = chunks[index].encoder
        var stmt = insertRawChunk
        var length = enc.count
        if let compressor {
            length = try enc.withBody { raw in
                try compressor.compress(raw, into: &compressed)
            }
            // Incompressible chunks (ciphertext, random blobs) are stored as they are.
            if length < enc.count { stmt = insertZstdChunk } else { length = enc.count }
        }
        stmt.bind(1, Int64(index + 1))
        stmt.bind(2, enc.startNs)
        stmt.bind(3, enc.endNs)
        stmt.bind(4, Int64(enc.frameCount))
        stmt.bind(5, Int64(enc.count))
        if stmt === insertZstdChunk {
            try compressed.withUnsafeBytes { raw in
                stmt.bindStatic(6, UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                try stmt.run()
            }
        } else {
            try enc.withBody { raw in
                stmt.bindStatic(6, raw)
                try stmt.run()
            }
        }
        committedFrameCount += enc.frameCount
        committedChunkCount += 1
        storedBytes += length
        chunks[index].committedFrames += enc.frameCount
        chunks[index].encoder.reset()
    }

    /// Frames of `track` committed so far.
    public func committedFrames(track: TrackID) -> Int {
        let i = track - 1
        return i >= 0 && i < chunks.count ? chunks[i].committedFrames : 0
    }

    /// Records a session event (join, publish, drop…), committed at once.
    public func record(event: SessionEvent) throws {
        try checkOpen()
        insertEvent.bind(1, event.timeNs)
        insertEvent.bind(2, event.kind.rawValue)
        insertEvent.bind(3, event.identity)
        insertEvent.bind(4, event.track)
        insertEvent.bind(5, event.count)
        insertEvent.bind(6, event.detail)
        try insertEvent.run()
    }

    /// Commits everything, checkpoints the WAL into the file, leaves WAL mode and closes: the
    /// result is one self-contained file. Idempotent.
    public func close() throws {
        guard !isClosed else { return }
        try flush()
        try setMeta(RecordingMetaKey.closedAt, UnixTime.iso8601(ns: UnixTime.nowNs()))
        isClosed = true
        // A finished file leaves WAL mode: it becomes one self-contained file, and readers
        // (read-only) do not create -wal/-shm files beside it. A crashed file stays in WAL mode
        // and readers recover it from the WAL.
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try? db.execute("PRAGMA journal_mode=DELETE")
        db.close()
        if writingPath != path {
            do {
                try OutputPath.moveIntoPlace(writingPath, path, removingSidecars: true)
            } catch {
                throw RecordingError(.io, error.message, file: path)
            }
        }
    }

    private func checkOpen() throws {
        if isClosed { throw RecordingError(.invalidArgument, "writer is closed", file: path) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TrackModel

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}


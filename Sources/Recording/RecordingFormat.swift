/// Format facts shared by writer, reader and doctor (schemas/recording-format.md).
public enum RecordingFormat {
    /// The version this trackbag writes, stored in `PRAGMA user_version`. Readers open files
    /// of this version or older; a newer one is refused (`RecordingError.Kind.newerVersion`).
    public static let version = 1

    /// Largest `raw_size` a chunk may declare (schemas/recording-format.md, "Limits"): readers
    /// refuse a larger one before allocating anything for it, whatever the file claims.
    public static let maxChunkRawSize: Int64 = 128 << 20
    /// Largest frame payload the writer accepts; with `chunkBytes` at most this, every chunk it
    /// writes stays within `maxChunkRawSize`.
    public static let maxFramePayload = 64 << 20

    /// The row checks every reader makes before decompressing a chunk: `raw_size` within the
    /// limit, and no more than its stored bytes can expand to (`none`: equal; `zstd`: checked
    /// against the frame header by `ZstdDecompressor`).
    static func checkChunkSizes(rawSize: Int64, storedSize: Int, codec: String) throws {
        guard rawSize >= 0, rawSize <= maxChunkRawSize else {
            throw RecordingError(.corrupt, "raw_size \(rawSize) is outside 0…\(maxChunkRawSize), the format's chunk size limit")
        }
        if codec == codecNone, storedSize != Int(rawSize) {
            throw RecordingError(.corrupt, "blob is \(storedSize) bytes, raw_size says \(rawSize)")
        }
    }

    /// Chunk codecs (`chunks.codec`).
    static let codecZstd = "zstd"
    static let codecNone = "none"

    /// The tables a version-1 file has; a database lacking one is not a recording.
    static let requiredTables = ["meta", "participants", "schemas", "tracks", "events", "chunks"]

    /// `schemas/recording.sql`, kept byte-identical (RecordingTests checks it) so the spec and
    /// what the writer applies cannot drift apart.
    static let schemaSQL = """
-- trackbag .tbag recording format, version 1 (spec: schemas/recording-format.md).
-- Applied by RecordingWriter to a new file inside one transaction; the format version lives in
-- PRAGMA user_version (set by the writer after this script).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE participants (
    id       INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    sid      TEXT
);

CREATE TABLE schemas (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    encoding TEXT NOT NULL,
    data     BLOB NOT NULL
);

CREATE TABLE tracks (
    id             INTEGER PRIMARY KEY,
    identity       TEXT NOT NULL,
    name           TEXT NOT NULL,
    sid            TEXT,
    pub_handle     INTEGER,
    encryption     TEXT NOT NULL DEFAULT 'none',
    frame_encoding TEXT,
    schema_id      INTEGER REFERENCES schemas(id)
);

CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    time_ns  INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    identity TEXT,
    track    TEXT,
    count    INTEGER,
    detail   TEXT
);
CREATE INDEX events_by_time ON events(time_ns);

CREATE TABLE chunks (
    id          INTEGER PRIMARY KEY,
    track_id    INTEGER NOT NULL REFERENCES tracks(id),
    start_ns    INTEGER NOT NULL,
    end_ns      INTEGER NOT NULL,
    frame_count INTEGER NOT NULL,
    raw_size    INTEGER NOT NULL,
    codec       TEXT NOT NULL,
    data        BLOB NOT NULL
);
CREATE INDEX chunks_by_time ON chunks(start_ns);
CREATE INDEX chunks_by_track ON chunks(track_id, start_ns);
"""
}

/// Meta keys the writer sets (`meta` table). Unknown keys are kept and ignored by readers.
public enum RecordingMetaKey {
    public static let formatVersion = "format_version"
    public static let createdAt = "created_at"
    public static let startTimeNs = "start_time_ns"
    public static let room = "room"
    public static let url = "url"
    public static let writer = "writer"
    public static let closedAt = "closed_at"
}

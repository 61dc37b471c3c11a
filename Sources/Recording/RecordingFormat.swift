/// Format facts shared by writer, reader and doctor (schemas/recording-format.md).
public enum RecordingFormat {
    /// The version this trackbag writes, stored in `PRAGMA user_version`. Readers open files
    /// of this version or older; a newer one is refused (`RecordingError.Kind.newerVersion`).
    public static let version = 1

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

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

"""An independent reader of the .tbag format written from schemas/recording-format.md alone
(Python's sqlite3 + zstandard), so interop tests judge our Swift writer by the spec."""
import sqlite3
import struct

import zstandard


def read_varint(b: bytes, i: int):
    result = shift = 0
    while True:
        if i >= len(b):
            raise ValueError(f"varint cut off at byte {i}")
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def decode_chunk_body(body: bytes):
    """Frame records: zigzag time delta varint, flags u8, optional u64 LE user timestamp,
    payload length varint, payload."""
    frames, i, prev = [], 0, 0
    while i < len(body):
        z, i = read_varint(body, i)
        delta = (z >> 1) ^ -(z & 1)
        t = (prev + delta + 2**63) % 2**64 - 2**63
        prev = t
        flags = body[i]
        i += 1
        assert flags & ~1 == 0, f"unknown flags {flags:#x}"
        uts = None
        if flags & 1:
            (uts,) = struct.unpack_from("<Q", body, i)
            i += 8
        n, i = read_varint(body, i)
        payload = body[i:i + n]
        assert len(payload) == n, "payload cut off"
        i += n
        frames.append((t, uts, payload))
    return frames


def read_tbag(path: str):
    """Returns (user_version, tracks {id: (identity, name)}, frames {track_id: [frames in chunk order]})."""
    db = sqlite3.connect(path)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tracks = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, identity, name FROM tracks")}
        frames = {tid: [] for tid in tracks}
        dctx = zstandard.ZstdDecompressor()
        for tid, count, raw_size, codec, data in db.execute(
                "SELECT track_id, frame_count, raw_size, codec, data FROM chunks ORDER BY id"):
            body = dctx.decompress(data, max_output_size=raw_size) if codec == "zstd" else bytes(data)
            assert len(body) == raw_size
            decoded = decode_chunk_body(body)
            assert len(decoded) == count
            frames[tid].extend(decoded)
        return version, tracks, frames
    finally:
        db.close()

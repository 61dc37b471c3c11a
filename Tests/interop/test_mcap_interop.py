"""MCAP interop: our writer judged by the `mcap` Python library (1.6.0, CRC validation on), and
files written by that library read back by our reader with nothing lost. Also the `mcap` stage
mapping (frames -> MCAP -> frames) and truncated/corrupt files.

Our side is driven through the `trackbag-testpeer mcap-tool` command (write / dump / from-frames /
to-frames), see Sources/trackbag/Commands/MCAPTool.swift.
"""
import base64
import io
import json
import os
import random
import struct
import subprocess
import zlib

import pytest
from mcap.reader import NonSeekingReader, SeekingReader
from mcap.stream_reader import StreamReader
from mcap.records import DataEnd, Footer
from mcap.writer import CompressionType, IndexType, Writer
from live_room import testpeer

PROTO_SCHEMA = bytes.fromhex(
    # a FileDescriptorSet-shaped blob; the bytes are opaque to MCAP, only carried
    "0a3c0a0b696d752e70726f746f120369"
    "6d7522280a03496d7512080a01781801"
    "2001120a0a01791802200112080a017a"
    "18032001620670726f746f33")
JSON_SCHEMA = json.dumps({"type": "object", "properties": {"x": {"type": "number"}}}).encode()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=120, **kw)


def sample_messages(n=600, seed=7):
    """Messages on three channels: JSON with a jsonschema, protobuf with a schema, and a
    schemaless raw channel; empty and large payloads included."""
    rnd = random.Random(seed)
    out = []
    t = 1_700_000_000_000_000_000
    for i in range(n):
        t += rnd.randint(1, 5_000_000)
        kind = i % 3
        if kind == 0:
            payload = json.dumps({"x": i * 0.5, "seq": i}).encode()
            msg = {"topic": "/robot/state", "message_encoding": "json",
                   "schema": {"name": "State", "encoding": "jsonschema", "data_b64": b64(JSON_SCHEMA)},
                   "metadata": {"owner": "robot"}}
        elif kind == 1:
            payload = bytes(rnd.getrandbits(8) for _ in range(48))
            msg = {"topic": "/robot/imu", "message_encoding": "protobuf",
                   "schema": {"name": "imu.Imu", "encoding": "protobuf", "data_b64": b64(PROTO_SCHEMA)},
                   "metadata": {}}
        else:
            size = 0 if i % 30 == 2 else (100_000 if i % 97 == 2 else rnd.randint(1, 2048))
            payload = bytes(rnd.getrandbits(8) for _ in range(size))
            msg = {"topic": "blobs", "message_encoding": "", "schema": None, "metadata": {}}
        msg.update({"log_time": t, "publish_time": t - rnd.randint(0, 1000), "sequence": i,
                    "data_b64": b64(payload)})
        out.append(msg)
    return out


def write_ours(trackbag, tmp_path, messages, *args, metadata=()):
    src = tmp_path / "in.jsonl"
    with open(src, "w") as f:
        for m in messages:
            f.write(json.dumps(m) + "\n")
        for name, md in metadata:
            f.write(json.dumps({"metadata_record": {"name": name, "metadata": md}}) + "\n")
    out = tmp_path / "ours.mcap"
    r = run([testpeer(trackbag), "mcap-tool", "write", str(src), str(out), *args])
    assert r.returncode == 0, r.stderr.decode()
    return out


def check_crcs_by_hand(data: bytes):
    """Data End and Footer CRCs recomputed independently of both implementations."""
    footer_at = len(data) - 8 - 29
    assert data[-8:] == b"\x89MCAP0\r\n" and data[footer_at] == 0x02
    summary_start, summary_offset_start, summary_crc = struct.unpack_from("<QQI", data, footer_at + 9)
    assert summary_start > 0 and summary_crc != 0
    assert zlib.crc32(data[summary_start:footer_at + 9 + 16]) == summary_crc
    # Data End is the record right before the summary: opcode 0x0F, length 4.
    de = summary_start - 13
    assert data[de] == 0x0F and struct.unpack_from("<Q", data, de + 1)[0] == 4
    (data_crc,) = struct.unpack_from("<I", data, de + 9)
    assert data_crc != 0 and zlib.crc32(data[:de]) == data_crc
    # Summary records are grouped by opcode and each group is described by one Summary Offset.
    groups, pos = [], summary_start
    while pos < summary_offset_start:
        op, length = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
        if groups and groups[-1][0] == op:
            groups[-1][2] += 9 + length
        else:
            assert op not in [g[0] for g in groups], f"opcode {op:#x} appears in two groups"
            groups.append([op, pos, 9 + length])
        pos += 9 + length
    offsets = []
    while pos < footer_at:
        assert data[pos] == 0x0E
        offsets.append(list(struct.unpack_from("<BQQ", data, pos + 9)))
        pos += 9 + struct.unpack_from("<Q", data, pos + 1)[0]
    assert offsets == groups
    assert [g[0] for g in groups][:2] == [0x03, 0x04] or [g[0] for g in groups][0] == 0x04


def check_indexes_by_hand(data: bytes, summary):
    """What `mcap doctor` checks beyond CRCs: every Chunk Index points at a Chunk record of the
    stated length, sizes and time bounds match, and every Message Index entry points at a
    Message record with that log time; together they cover every message of the chunk."""
    import lz4.frame
    import zstandard
    total = 0
    for ci in summary.chunk_indexes:
        at = ci.chunk_start_offset
        assert data[at] == 0x06
        assert 9 + struct.unpack_from("<Q", data, at + 1)[0] == ci.chunk_length
        start, end, usize, ucrc = struct.unpack_from("<QQQI", data, at + 9)
        (clen,) = struct.unpack_from("<I", data, at + 37)
        compression = data[at + 41: at + 41 + clen].decode()
        assert compression == ci.compression and usize == ci.uncompressed_size
        (rlen,) = struct.unpack_from("<Q", data, at + 41 + clen)
        assert rlen == ci.compressed_size
        raw = data[at + 49 + clen: at + 49 + clen + rlen]
        records = {"zstd": lambda b: zstandard.ZstdDecompressor().decompress(b, max_output_size=usize),
                   "lz4": lz4.frame.decompress, "": lambda b: b}[compression](raw)
        assert len(records) == usize and zlib.crc32(records) == ucrc
        assert (start, end) == (ci.message_start_time, ci.message_end_time)
        indexed = set()
        for channel_id, offset in ci.message_index_offsets.items():
            assert data[offset] == 0x07
            (cid,) = struct.unpack_from("<H", data, offset + 9)
            (alen,) = struct.unpack_from("<I", data, offset + 11)
            assert cid == channel_id
            for k in range(alen // 16):
                log_time, moff = struct.unpack_from("<QQ", data, offset + 15 + 16 * k)
                assert records[moff] == 0x05
                mcid, _seq, mlog = struct.unpack_from("<HIQ", records, moff + 9)
                assert (mcid, mlog) == (channel_id, log_time)
                indexed.add(moff)
        pos, messages = 0, set()
        while pos < len(records):
            if records[pos] == 0x05:
                messages.add(pos)
            pos += 9 + struct.unpack_from("<Q", records, pos + 1)[0]
        assert indexed == messages
        total += len(messages)
    return total


@pytest.mark.parametrize("args", [[], ["--compression", "lz4"], ["--compression", "none"], ["--unchunked"],
                                  ["--chunk-size", "4096"]],
                         ids=["zstd", "lz4", "none", "unchunked", "small-chunks"])
def test_our_file_read_by_python_library(trackbag, tmp_path, args):
    messages = sample_messages()
    metadata = [("calibration", {"k": "v", "n": "1"}), ("empty", {})]
    path = write_ours(trackbag, tmp_path, messages, *args, metadata=metadata)
    data = path.read_bytes()
    check_crcs_by_hand(data)

    # Indexed reader (summary, chunk indexes, message indexes), CRC validation on.
    with open(path, "rb") as f:
        reader = SeekingReader(f, validate_crcs=True)
        got = list(reader.iter_messages(log_time_order=False))
        summary = reader.get_summary()
        meta = list(reader.iter_metadata())
    assert len(got) == len(messages)
    for (schema, channel, msg), want in zip(got, messages):
        assert channel.topic == want["topic"]
        assert channel.message_encoding == want["message_encoding"]
        assert channel.metadata == want["metadata"]
        if want["schema"] is None:
            assert schema is None and channel.schema_id == 0
        else:
            assert schema.name == want["schema"]["name"]
            assert schema.encoding == want["schema"]["encoding"]
            assert schema.data == base64.b64decode(want["schema"]["data_b64"])
        assert msg.log_time == want["log_time"]
        assert msg.publish_time == want["publish_time"]
        assert msg.sequence == want["sequence"]
        assert msg.data == base64.b64decode(want["data_b64"])
    assert [(m.name, m.metadata) for m in meta] == metadata

    # The summary matches what was written.
    st = summary.statistics
    assert st.message_count == len(messages)
    assert st.schema_count == 2 and st.channel_count == 3 and st.metadata_count == 2
    assert st.message_start_time == messages[0]["log_time"]
    assert st.message_end_time == messages[-1]["log_time"]
    by_topic = {c.topic: cid for cid, c in summary.channels.items()}
    for topic in ("/robot/state", "/robot/imu", "blobs"):
        assert st.channel_message_counts[by_topic[topic]] == sum(1 for m in messages if m["topic"] == topic)
    if "--unchunked" in args:
        assert st.chunk_count == 0 and summary.chunk_indexes == []
    else:
        assert st.chunk_count == len(summary.chunk_indexes) >= 1
        assert check_indexes_by_hand(data, summary) == len(messages)
        if "--chunk-size" in args:
            assert st.chunk_count > 10

    # The streaming reader (the `doctor`-style linear pass): chunk CRCs and the data section
    # CRC validated, every record well-formed.
    count = 0
    for record in StreamReader(io.BytesIO(data), validate_crcs=True).records:
        count += type(record).__name__ == "Message"
    assert count == len(messages) or "--unchunked" not in args
    with open(path, "rb") as f:
        assert sum(1 for _ in NonSeekingReader(f, validate_crcs=True).iter_messages()) == len(messages)


def python_file(path, *, chunked=True, compression=CompressionType.ZSTD, n=500, attachment=True, bare=False):
    """A file written by the reference library: JSON and protobuf channels with schemas, a
    schemaless channel, metadata and an attachment. `bare`: no indexes, no summary at all,
    but a data section CRC."""
    rnd = random.Random(3)
    expected = []
    with open(path, "wb") as f:
        extra = dict(index_types=IndexType.NONE, repeat_channels=False, repeat_schemas=False,
                     use_statistics=False, use_summary_offsets=False, enable_data_crcs=True) if bare else {}
        w = Writer(f, chunk_size=8192, compression=compression, use_chunking=chunked, **extra)
        w.start(profile="", library="pytest")
        js = w.register_schema("State", "jsonschema", JSON_SCHEMA)
        ps = w.register_schema("imu.Imu", "protobuf", PROTO_SCHEMA)
        chans = [
            (w.register_channel("/robot/state", "json", js, {"a": "b"}), "/robot/state", "json"),
            (w.register_channel("/robot/imu", "protobuf", ps), "/robot/imu", "protobuf"),
            (w.register_channel("camera", "", 0), "camera", ""),
        ]
        t = 1_000_000_000
        for i in range(n):
            cid, topic, enc = chans[i % 3]
            t += rnd.randint(1, 1_000_000)
            data = (json.dumps({"x": i}).encode() if enc == "json"
                    else bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 48, 3000]))))
            w.add_message(cid, log_time=t, data=data, publish_time=t + 7, sequence=i)
            expected.append({"channel_id": cid, "topic": topic, "log_time": t, "publish_time": t + 7,
                             "sequence": i, "data_b64": b64(data)})
            if i == n // 2:
                w.add_metadata("mid", {"x": "1"})
        if attachment:
            w.add_attachment(create_time=5, log_time=6, name="calib.txt", media_type="text/plain", data=b"hello")
        w.finish()
    return expected


def dump(trackbag, path, *extra):
    r = run([testpeer(trackbag), "mcap-tool", "dump", str(path), *extra])
    lines = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return r.returncode, lines


@pytest.mark.parametrize("chunked,compression,bare", [
    (True, CompressionType.ZSTD, False), (True, CompressionType.LZ4, False), (True, CompressionType.NONE, False),
    (False, CompressionType.NONE, False), (True, CompressionType.ZSTD, True), (False, CompressionType.NONE, True)],
    ids=["chunked-zstd", "chunked-lz4", "chunked-none", "unchunked", "chunked-unindexed-nosummary",
         "unchunked-nosummary"])
@pytest.mark.parametrize("linear", [False, True], ids=["indexed", "linear"])
def test_python_file_read_by_us(trackbag, tmp_path, chunked, compression, bare, linear):
    path = tmp_path / "py.mcap"
    expected = python_file(path, chunked=chunked, compression=compression, bare=bare)
    if bare:
        data = path.read_bytes()
        assert struct.unpack_from("<Q", data, len(data) - 8 - 29 + 9)[0] == 0  # no summary at all
    rc, lines = dump(trackbag, path, *(["--linear"] if linear else []))
    assert rc == 0, lines[-1:]
    end = lines[-1]
    assert end["type"] == "end" and end["messages"] == len(expected)
    assert end["mode"] == ("indexed" if chunked and not linear and not bare else "linear")
    channels = {l["id"]: l for l in lines if l["type"] == "channel"}
    schemas = {l["id"]: l for l in lines if l["type"] == "schema"}
    got = [l for l in lines if l["type"] == "message"]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert channels[g["channel_id"]]["topic"] == e["topic"]
        for k in ("channel_id", "log_time", "publish_time", "sequence", "data_b64"):
            assert g[k] == e[k], k
    assert channels[1]["metadata"] == {"a": "b"} and channels[1]["message_encoding"] == "json"
    assert schemas[channels[2]["schema_id"]]["encoding"] == "protobuf"
    assert base64.b64decode(schemas[channels[2]["schema_id"]]["data_b64"]) == PROTO_SCHEMA
    assert channels[3]["schema_id"] == 0
    assert [l for l in lines if l["type"] == "metadata"] == [{"type": "metadata", "name": "mid", "metadata": {"x": "1"}}]
    att = [l for l in lines if l["type"] == "attachment"]
    assert len(att) == 1 and base64.b64decode(att[0]["data_b64"]) == b"hello"


def record_boundaries(data: bytes):
    """Offsets where each top-level record starts (linear walk of a valid file)."""
    pos, out = 8, []
    while pos < len(data) - 8:
        out.append(pos)
        (length,) = struct.unpack_from("<Q", data, pos + 1)
        pos += 9 + length
    return out


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "unchunked"])
def test_truncated_file_says_how_much_was_readable(trackbag, tmp_path, chunked):
    full = tmp_path / "full.mcap"
    expected = python_file(full, chunked=chunked, n=120, attachment=False)
    data = full.read_bytes()
    cuts = set()
    for b in record_boundaries(data):
        cuts.update({b, b + 1, b + 9, b + 12})
    cuts = sorted(c for c in cuts if 8 < c < len(data))
    if len(cuts) > 60:
        cuts = cuts[:: len(cuts) // 60 + 1] + cuts[-5:]
    for cut in cuts:
        p = tmp_path / "cut.mcap"
        p.write_bytes(data[:cut])
        rc, lines = dump(trackbag, p)
        assert rc == 1, f"cut at {cut}: no error"
        err = lines[-1]
        assert err["type"] == "error", (cut, err)
        assert err["kind"] in ("truncated", "malformed"), (cut, err)
        got = [l for l in lines if l["type"] == "message"]
        assert err["messages_read"] == len(got), (cut, err)
        assert 0 <= err["bytes_readable"] <= cut
        assert "readable" in err["message"]
        # What was read is exactly the file's prefix of messages.
        assert [g["data_b64"] for g in got] == [e["data_b64"] for e in expected[: len(got)]]


def test_corrupt_chunk_crc_is_reported(trackbag, tmp_path):
    messages = sample_messages(200)
    path = write_ours(trackbag, tmp_path, messages, "--compression", "none", "--chunk-size", "4096")
    data = bytearray(path.read_bytes())
    # Flip a byte in the middle of the first chunk's records (uncompressed: CRC must catch it).
    first_chunk = next(b for b in record_boundaries(bytes(data)) if data[b] == 0x06)
    data[first_chunk + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    rc, lines = dump(trackbag, path)
    assert rc == 1 and lines[-1]["type"] == "error" and lines[-1]["kind"] == "crcMismatch", lines[-1]
    assert lines[-1]["offset"] == first_chunk
    # The reference library agrees the file is corrupt.
    with pytest.raises(Exception):
        for _ in StreamReader(io.BytesIO(bytes(data)), validate_crcs=True).records:
            pass


# ---- The `mcap` sink/source mapping (schemas/mcap-mapping.md) ----

def sample_frames():
    frames, t = [], 1_750_000_000_000_000_000
    tracks = [
        {"identity": "alice", "track": "imu", "sid": "DTR_a1", "pub_handle": 1, "encryption": "none",
         "frame_encoding": "protobuf",
         "schema": {"name": "imu.Imu", "encoding": "protobuf", "data_b64": b64(PROTO_SCHEMA)}},
        {"identity": "alice", "track": "state", "sid": "DTR_a2", "pub_handle": 2, "encryption": "none",
         "frame_encoding": "json",
         "schema": {"name": "State", "encoding": "jsonschema", "data_b64": b64(JSON_SCHEMA)}},
        {"identity": "bob", "track": "raw", "encryption": "gcm"},
    ]
    for i in range(300):
        t += 1_000_000 + i
        tr = dict(tracks[i % 3])
        ts = None if i % 7 == 0 else 1_750_000_000_000_000 + i * 1000  # microseconds
        if i == 50:
            ts = 2**64 - 1  # overflows when scaled: must still survive
        tr.update({"time_ns": t, "user_timestamp": ts, "payload_b64": b64(bytes([i % 256]) * (i % 40))})
        frames.append(tr)
    events = [{"event": {"time_ns": t0, "kind": k, "identity": "alice", "detail": "d"}}
              for t0, k in ((1_750_000_000_000_000_000, "join"), (1_750_000_000_500_000_000, "publish"))]
    return frames, events


@pytest.mark.parametrize("unit", [None, "us"], ids=["default", "unit-us"])
def test_frames_to_mcap_and_back(trackbag, tmp_path, unit):
    frames, events = sample_frames()
    src = tmp_path / "frames.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in events + frames))
    out = tmp_path / "frames.mcap"
    args = [testpeer(trackbag), "mcap-tool", "from-frames", str(src), str(out)]
    if unit:
        args += ["--user-timestamp-unit", unit]
    r = run(args)
    assert r.returncode == 0, r.stderr.decode()

    # The reference library sees one topic per track with the track's encoding and schema.
    with open(out, "rb") as f:
        reader = SeekingReader(f, validate_crcs=True)
        msgs = [(s, c, m) for s, c, m in reader.iter_messages(log_time_order=False)
                if c.metadata.get("trackbag.role") != "user_timestamp"]
        meta = list(reader.iter_metadata())
    assert len(msgs) == len(frames)
    for (schema, channel, msg), fr in zip(msgs, frames):
        assert channel.topic == f"/{fr['identity']}/{fr['track']}"
        assert channel.message_encoding == fr.get("frame_encoding", "")
        assert channel.metadata["trackbag.identity"] == fr["identity"]
        assert channel.metadata["trackbag.track"] == fr["track"]
        assert channel.metadata["trackbag.encryption"] == fr["encryption"]
        if "sid" in fr:
            assert channel.metadata["trackbag.sid"] == fr["sid"]
            assert channel.metadata["trackbag.pub_handle"] == str(fr["pub_handle"])
        if "schema" in fr:
            assert schema.name == fr["schema"]["name"] and schema.encoding == fr["schema"]["encoding"]
        else:
            assert schema is None
        assert msg.log_time == fr["time_ns"]
        assert msg.data == base64.b64decode(fr["payload_b64"])
        ts = fr["user_timestamp"]
        if unit == "us" and ts is not None and ts * 1000 < 2**64:
            assert msg.publish_time == ts * 1000
        else:
            assert msg.publish_time == fr["time_ns"]
    assert [m.name for m in meta] == ["trackbag.event", "trackbag.event"]
    assert meta[0].metadata["kind"] == "join" and meta[0].metadata["time_ns"] == str(events[0]["event"]["time_ns"])

    # Back through the source: every field of every frame exactly, both timestamps included.
    r = run([testpeer(trackbag), "mcap-tool", "to-frames", str(out)])
    assert r.returncode == 0, r.stderr.decode()
    lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
    got_events = [l for l in lines if "event" in l]
    got_frames = [l for l in lines if "event" not in l]
    assert got_events == events
    assert len(got_frames) == len(frames)
    for g, fr in zip(got_frames, frames):
        assert g == fr


def test_foreign_topics_become_tracks(trackbag, tmp_path):
    path = tmp_path / "foreign.mcap"
    with open(path, "wb") as f:
        w = Writer(f)
        w.start()
        c1 = w.register_channel("/robot/imu/raw", "cdr", 0)
        c2 = w.register_channel("camera", "json", 0)
        w.add_message(c1, log_time=10, data=b"\x01\x02", publish_time=9)
        w.add_message(c2, log_time=11, data=b"{}", publish_time=11)
        w.finish()
    r = run([testpeer(trackbag), "mcap-tool", "to-frames", str(path), "--identity", "rover"])
    assert r.returncode == 0, r.stderr.decode()
    got = [json.loads(l) for l in r.stdout.decode().splitlines()]
    assert [(g["identity"], g["track"], g["frame_encoding"], g["time_ns"], g["user_timestamp"]) for g in got] == [
        ("robot", "imu/raw", "cdr", 10, 9), ("rover", "camera", "json", 11, 11)]


def test_python_data_section_crc_is_checked(trackbag, tmp_path):
    """A file from the reference library with a data section CRC: a flipped byte outside any
    chunk (the Header's library string) is caught by the Data End CRC alone."""
    path = tmp_path / "py.mcap"
    python_file(path, chunked=False, bare=True, n=30, attachment=False)
    data = bytearray(path.read_bytes())
    assert data[8] == 0x01 and data[25:31] == b"pytest"
    rc, lines = dump(trackbag, path)
    assert rc == 0 and lines[-1]["messages"] == 30
    data[25] ^= 0x20
    path.write_bytes(bytes(data))
    rc, lines = dump(trackbag, path)
    assert rc == 1 and lines[-1]["kind"] == "crcMismatch", lines[-1]
    assert lines[-1]["messages_read"] == 30  # every message was read before the Data End check


@pytest.mark.parametrize("unit", [None, "us"], ids=["default", "unit-us"])
def test_tbag_mcap_tbag_round_trip(trackbag, tmp_path, unit):
    """The issue's round trip through the real commands: an MCAP with full track info is
    imported into .tbag, exported back to MCAP (read by the reference library), and every frame
    comes back with the same payload bytes, receive time, user timestamp and track fields."""
    frames, _events = sample_frames()
    src = tmp_path / "frames.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in frames))
    a_mcap, a_tbag, b_mcap = tmp_path / "a.mcap", tmp_path / "a.tbag", tmp_path / "b.mcap"
    r = run([testpeer(trackbag), "mcap-tool", "from-frames", str(src), str(a_mcap)])
    assert r.returncode == 0, r.stderr.decode()
    r = run([trackbag, "import", str(a_mcap), "--out", str(a_tbag)])
    assert r.returncode == 0, r.stderr.decode()
    args = [trackbag, "export", str(a_tbag), "--format", "mcap", "--out", str(b_mcap)]
    if unit:
        args += ["--user-timestamp-unit", unit]
    r = run(args)
    assert r.returncode == 0, r.stderr.decode()

    with open(b_mcap, "rb") as f:
        reader = SeekingReader(f, validate_crcs=True)
        msgs = [(c, m) for _s, c, m in reader.iter_messages()
                if c.metadata.get("trackbag.role") != "user_timestamp"]
    assert len(msgs) == len(frames)
    for (channel, msg), fr in zip(msgs, frames):
        assert channel.topic == f"/{fr['identity']}/{fr['track']}"
        assert msg.log_time == fr["time_ns"] and msg.data == base64.b64decode(fr["payload_b64"])
        ts = fr["user_timestamp"]
        if unit and ts is not None and ts * 1000 < 2**64:
            assert msg.publish_time == ts * 1000

    r = run([testpeer(trackbag), "mcap-tool", "to-frames", str(b_mcap)])
    assert r.returncode == 0, r.stderr.decode()
    got = [json.loads(l) for l in r.stdout.decode().splitlines()]
    got = [g for g in got if "event" not in g]
    assert got == frames


def test_import_truncated_mcap_fails_clearly_or_salvages(trackbag, tmp_path):
    """`trackbag import` of a cut MCAP: an error naming the offset and what was readable, and
    with --allow-truncated the readable frames land in the .tbag."""
    full = tmp_path / "full.mcap"
    expected = python_file(full, chunked=False, n=90, attachment=False)
    data = full.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) * 2 // 3])
    r = run([trackbag, "import", str(cut), "--out", str(tmp_path / "x.tbag")])
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "truncated" in err and "readable" in err and "offset" in err, err
    r = run([trackbag, "import", str(cut), "--out", str(tmp_path / "y.tbag"), "--allow-truncated",
             "--identity", "rover"])
    assert r.returncode == 0, r.stderr.decode()
    out = tmp_path / "y.jsonl"
    r = run([trackbag, "export", str(tmp_path / "y.tbag"), "--format", "jsonl", "--out", str(out)])
    assert r.returncode == 0, r.stderr.decode()
    frames = [json.loads(l) for l in out.read_text().splitlines()]
    assert 0 < len(frames) < len(expected)
    by_topic = {"/robot/state": ("robot", "state"), "/robot/imu": ("robot", "imu"), "camera": ("rover", "camera")}
    for f, e in zip(frames, expected):
        assert (f["identity"], f["track"]) == by_topic[e["topic"]]
        assert f["payload_b64"] == e["data_b64"] and f["time_ns"] == e["log_time"]
        assert f["user_timestamp"] == e["publish_time"]

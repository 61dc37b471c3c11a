"""MCAP exact both ways: a file another tool wrote (here the reference `mcap` library, 1.6.0,
CRCs checked) goes through `trackbag import` and `trackbag export --format mcap` and comes back
with the same topics, schemas, channels and messages (log time, publish time, sequence, data),
read back by the same library. Also: a schema that only a chunk holds while the summary repeats
channels, and `--order log-time`. Mapping: schemas/mcap-mapping.md, "Round trips".
"""
import base64
import json
import random
import subprocess

import pytest
from mcap.reader import NonSeekingReader, SeekingReader
from mcap.writer import CompressionType, Writer
import live_room

PROTO_SCHEMA = bytes.fromhex(
    "0a3c0a0b696d752e70726f746f120369"
    "6d7522280a03496d7512080a01781801"
    "2001120a0a01791802200112080a017a"
    "18032001620670726f746f33")
JSON_SCHEMA = json.dumps({"type": "object", "properties": {"x": {"type": "number"}}}).encode()
ROS_SCHEMA = b"float64 x\nfloat64 y\nfloat64 z\n"


def run(cmd):
    return subprocess.run(cmd, capture_output=True, timeout=120)


def write_third_party(path, *, n=3000, sequences="per-channel", repeat_schemas=True, chunk_size=16384,
                      late_schema=False):
    """Three topics with schemas (JSON, protobuf, ROS 2), one with channel metadata, one whose
    topic names no identity; publish_time differs from log_time. `sequences`: `per-channel`
    counts from 0 on each channel (what a recorder assigns), `zero` leaves every sequence 0
    (the default of the library's writers), `arbitrary` is whatever the publisher sent. `late_schema`: the third schema and channel are registered mid-file, so
    they live only in a later chunk."""
    rnd = random.Random(11)
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=chunk_size, compression=CompressionType.ZSTD, repeat_schemas=repeat_schemas,
                   repeat_channels=True)
        w.start(profile="", library="pytest-third-party")
        js = w.register_schema("State", "jsonschema", JSON_SCHEMA)
        ps = w.register_schema("imu.Imu", "protobuf", PROTO_SCHEMA)
        chans = [w.register_channel("/robot/state", "json", js, {"owner": "robot", "rate": "50"}),
                 w.register_channel("/robot/imu", "protobuf", ps)]

        def add_third():
            rs = w.register_schema("geometry_msgs/msg/Vector3", "ros2msg", ROS_SCHEMA)
            chans.append(w.register_channel("odom", "cdr", rs, {"frame_id": "base"}))

        if not late_schema:
            add_third()
        counters = {}
        t = 1_700_000_000_000_000_000
        for i in range(n):
            if late_schema and i == n // 2:
                add_third()
            cid = chans[i % len(chans)]
            t += rnd.randint(1, 2_000_000)
            data = (json.dumps({"x": i}).encode() if cid == chans[0]
                    else bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 24, 48, 700]))))
            seq = counters.get(cid, 0)
            counters[cid] = seq + 1
            if sequences == "arbitrary":
                seq = rnd.getrandbits(32)
            elif sequences == "zero":
                seq = 0
            w.add_message(cid, log_time=t, data=data, publish_time=t - rnd.randint(1, 5_000_000), sequence=seq)
        w.finish()


def contents(path):
    """Everything the round trip must keep, independent of record ids: schemas, channels (with
    their schema) and messages (with their topic), as sorted lists. Read linearly: the
    library's indexed reader cannot resolve a schema the summary lacks."""
    schemas, channels, msgs = {}, {}, []
    with open(path, "rb") as f:
        for schema, channel, m in NonSeekingReader(f, validate_crcs=True).iter_messages():
            key = None if schema is None else (schema.name, schema.encoding, bytes(schema.data))
            if key is not None:
                schemas[key] = True
            channels[channel.id] = (channel.topic, channel.message_encoding, key or ("",),
                                    sorted(channel.metadata.items()))
            msgs.append((channel.topic, m.log_time, m.publish_time, m.sequence, bytes(m.data)))
    return {"schemas": sorted(schemas), "channels": sorted(channels.values()), "messages": sorted(msgs)}


def round_trip(trackbag, tmp_path, src, *import_args):
    tbag, out = tmp_path / "imported.tbag", tmp_path / "exported.mcap"
    r = run([trackbag, "import", str(src), "--out", str(tbag), *import_args])
    assert r.returncode == 0, r.stderr.decode()
    r = run([trackbag, "export", str(tbag), "--format", "mcap", "--out", str(out)])
    assert r.returncode == 0, r.stderr.decode()
    return out


def assert_same(a, b):
    want, got = contents(a), contents(b)
    assert got["schemas"] == want["schemas"]
    assert got["channels"] == want["channels"]
    assert len(got["messages"]) == len(want["messages"])
    for g, w in zip(got["messages"], want["messages"]):
        assert g == w


@pytest.mark.parametrize("sequences", ["per-channel", "zero"])
@pytest.mark.parametrize("order", ["file", "log-time"])
def test_third_party_mcap_round_trips_exactly(trackbag, tmp_path, order, sequences):
    """3 topics in, the same 3 topics out: no companion topics, every message field equal."""
    src = tmp_path / "third_party.mcap"
    write_third_party(src, sequences=sequences)
    out = round_trip(trackbag, tmp_path, src, "--order", order)
    assert_same(src, out)
    with open(out, "rb") as f:
        topics = {c.topic for c in SeekingReader(f).get_summary().channels.values()}
    assert topics == {"/robot/state", "/robot/imu", "odom"}


@pytest.mark.xfail(strict=True, reason="a .tbag keeps no per-frame MCAP sequence: only a constant or a counter comes back")
def test_publisher_sequences_survive_the_round_trip(trackbag, tmp_path):
    src = tmp_path / "third_party_seq.mcap"
    write_third_party(src, n=600, sequences="arbitrary")
    assert_same(src, round_trip(trackbag, tmp_path, src))


@pytest.mark.parametrize("late", [False, True], ids=["first-chunk", "later-chunk"])
def test_schema_only_inside_a_chunk_is_kept(trackbag, tmp_path, late):
    """The summary repeats channels but not schemas (written by the library with
    repeat_schemas=False): each schema is only in a chunk, and the import still gives every
    channel its schema, which the export writes back."""
    src = tmp_path / "chunk_schemas.mcap"
    write_third_party(src, n=900, repeat_schemas=False, chunk_size=4096, late_schema=late)
    with open(src, "rb") as f:
        summary = SeekingReader(f).get_summary()
        assert summary.schemas == {} and len(summary.channels) == 3
    out = round_trip(trackbag, tmp_path, src)
    got = contents(out)
    assert ("geometry_msgs/msg/Vector3", "ros2msg", ROS_SCHEMA) in got["schemas"]
    assert {(t, s[0]) for t, _e, s, _m in got["channels"]} == {
        ("/robot/state", "State"), ("/robot/imu", "imu.Imu"), ("odom", "geometry_msgs/msg/Vector3")}
    want = contents(src)
    assert got["messages"] == want["messages"]


def test_log_time_order_matches_the_reference_reader(trackbag, tmp_path):
    """Chunks that overlap in time: `--order log-time` gives the frames in the order the
    library's indexed reader gives messages (log_time_order=True); `file` keeps file order."""
    src = tmp_path / "overlap.mcap"
    rnd = random.Random(5)
    with open(src, "wb") as f:
        w = Writer(f, chunk_size=2048, compression=CompressionType.NONE)
        w.start()
        a = w.register_channel("/r/a", "", 0)
        b = w.register_channel("/r/b", "", 0)
        times = rnd.sample(range(1_000_000, 2_000_000), 400)   # distinct, back and forth
        for i, t in enumerate(times):
            w.add_message(a if i % 2 else b, log_time=t, publish_time=t, data=i.to_bytes(4, "little"), sequence=i)
        w.finish()
    with open(src, "rb") as f:
        reference = [bytes(m.data) for _s, _c, m in SeekingReader(f).iter_messages(log_time_order=True)]
    with open(src, "rb") as f:
        file_order = [bytes(m.data) for _s, _c, m in SeekingReader(f).iter_messages(log_time_order=False)]
    assert reference != file_order

    def frames(order):
        r = run([live_room.testpeer(trackbag), "mcap-tool", "to-frames", str(src), "--order", order])
        assert r.returncode == 0, r.stderr.decode()
        return [base64.b64decode(json.loads(l)["payload_b64"]) for l in r.stdout.decode().splitlines()
                if l.strip() and "event" not in json.loads(l)]

    by_time = frames("log-time")
    assert [int.from_bytes(x, "little") for x in by_time] == [int.from_bytes(x, "little") for x in reference]
    assert frames("file") == file_order

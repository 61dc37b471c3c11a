"""ROS 2 bags in (docs/rosbag2.md), judged by `rosbags` 0.11.9, which writes the bags (SQLite3
and MCAP storage, each split in two files) and deserialises every message, and by LiveKit's
official SDK (livekit 1.2.1), which receives the replayed bag.

- `trackbag import BAG` → `trackbag export --decode`: every message is a frame on the track its
  topic names, with the bag's timestamp, the stored bytes unchanged and, decoded with the schema
  the import attached, the values rosbags reads. MCAP export gives back the bag's topics and types.
- A bag from before message definitions (bag version < 8): common types decode from trackbag's
  built-in definitions; the custom type is imported without a schema, with a warning naming it.
- Bad bags (cut metadata.yaml, missing table, topic_id without a topic, damaged .db3) fail with
  the file and the problem, write no recording and leave the bag as it was.
- Live (root, scripts/netns-run): `trackbag play` of the import; an SDK subscriber receives every
  message's bytes, per topic, in order, on tracks that declare encoding CDR and the schema id
  (message type, ROS2_MSG).
"""
import base64
import hashlib
import json
import os
import pathlib
import sqlite3
import subprocess

import pytest
from mcap.reader import make_reader
from rosbags.rosbag2 import StoragePlugin

from netns import NETNS_RUN, PEER_PYTHON, needs_root
from rosbag2_bags import PER_TOPIC, TOPICS, TRACKS, drop_definitions, read_truth, write_bag

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "rosbag2_play_driver.py")
TOTAL = PER_TOPIC * len(TOPICS)


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    base = tmp_path_factory.mktemp("bags")
    sq = write_bag(str(base / "sq"), StoragePlugin.SQLITE3, parts=2)
    mc = write_bag(str(base / "mc"), StoragePlugin.MCAP, parts=2)
    one = write_bag(str(base / "one"), StoragePlugin.SQLITE3, parts=1)
    return {"sqlite3": sq, "mcap": mc, "one": one, "old": drop_definitions(one, str(base / "old")),
            "sqlite3-zstd": write_bag(str(base / "sqz"), StoragePlugin.SQLITE3, parts=2, compressed=True),
            "mcap-zstd": write_bag(str(base / "mcz"), StoragePlugin.MCAP, parts=2, compressed=True)}


def run(args, timeout=120):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def tree_digest(path):
    """Every file under `path` (or the file) with its bytes' hash: what "unchanged" means."""
    p = pathlib.Path(path)
    files = [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file())
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def import_bag(trackbag, bag, out):
    before = tree_digest(bag)
    done = run([trackbag, "import", str(bag), "--out", str(out)])
    assert tree_digest(bag) == before, "import changed the bag"
    return done


def decoded_rows(trackbag, tbag):
    out = str(tbag) + ".jsonl"
    done = run([trackbag, "export", str(tbag), "--format", "jsonl", "--out", out, "--decode"])
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in open(out)], done.stderr


@pytest.mark.parametrize("storage", ["sqlite3", "mcap", "sqlite3-zstd", "mcap-zstd"])
def test_split_bag_imports_byte_exact_and_decodes_as_rosbags_reads_it(trackbag, bags, tmp_path, storage):
    """Also with per-message zstd (`compression_mode: MESSAGE`): the frames are the messages
    rosbags decompresses."""
    bag = bags[storage]
    ext = "mcap" if storage.startswith("mcap") else "db3"
    name = os.path.basename(bag)
    assert sorted(os.listdir(bag)) == sorted(["metadata.yaml", f"{name}_0.{ext}", f"{name}_1.{ext}"])
    if storage.endswith("zstd"):
        assert "compression_mode: message" in open(os.path.join(bag, "metadata.yaml")).read().lower()
    truth = read_truth(bag)
    assert len(truth) == TOTAL
    tbag = tmp_path / "bag.tbag"
    done = import_bag(trackbag, bag, tbag)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr
    assert f"{TOTAL} frames" in done.stderr, done.stderr

    rows, stderr = decoded_rows(trackbag, tbag)
    assert "undecodable" not in stderr, stderr
    assert len(rows) == TOTAL
    for row, (topic, _type, ts, raw, value) in zip(rows, truth):
        assert (row["identity"], row["track"]) == TRACKS[topic]
        assert row["time_ns"] == ts and row["user_timestamp"] == ts
        assert base64.b64decode(row["payload_b64"]) == raw, (topic, ts)
        assert row["value"] == value, (topic, ts)

    info = json.loads(run([trackbag, "info", str(tbag), "--json"]).stdout)
    described = {(t["identity"], t["name"]): (t["frame_encoding"], t["schema"], t["frames"]) for t in info["tracks"]}
    assert described == {TRACKS[topic]: ("cdr", msgtype, PER_TOPIC) for topic, msgtype in TOPICS}
    schemas = {s["name"]: s for s in info["schemas"]}
    assert {name: s["encoding"] for name, s in schemas.items()} == {msgtype: "ros2msg" for _, msgtype in TOPICS}

    # MCAP export writes the bag's own topics back (mcap.channels), with the schemas it carried.
    out = tmp_path / "back.mcap"
    done = run([trackbag, "export", str(tbag), "--format", "mcap", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    with open(out, "rb") as f:
        back = [(c.topic, s.name, s.encoding, m.log_time, m.publish_time, bytes(m.data))
                for s, c, m in make_reader(f).iter_messages(log_time_order=True)]
    assert back == [(topic, msgtype, "ros2msg", ts, ts, raw) for topic, msgtype, ts, raw, _ in truth]


def test_bag_without_definitions_decodes_common_types_and_warns_for_the_custom_one(trackbag, bags, tmp_path):
    bag = bags["old"]
    truth = read_truth(bag)
    tbag = tmp_path / "old.tbag"
    done = import_bag(trackbag, bag, tbag)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1 and "/robot/wheels" in warnings[0] and "robot_msgs/msg/WheelState" in warnings[0], done.stderr
    info = json.loads(run([trackbag, "info", str(tbag), "--json"]).stdout)
    assert {(t["identity"], t["name"]): t.get("schema") for t in info["tracks"]} == {
        TRACKS[topic]: (None if topic == "/robot/wheels" else msgtype) for topic, msgtype in TOPICS}
    rows, stderr = decoded_rows(trackbag, tbag)
    assert "(undecodable): no_schema 25" in stderr, stderr
    for row, (topic, _type, ts, raw, value) in zip(rows, truth, strict=True):
        assert base64.b64decode(row["payload_b64"]) == raw
        if topic == "/robot/wheels":
            assert "value" not in row
        else:
            assert row["value"] == value, (topic, ts)


def test_one_storage_file_or_the_metadata_file_names_the_bag(trackbag, bags, tmp_path):
    one = bags["one"]
    done = import_bag(trackbag, pathlib.Path(one) / "one_0.db3", tmp_path / "file.tbag")
    assert done.returncode == 0 and f"{TOTAL} frames" in done.stderr, done.stderr
    done = import_bag(trackbag, pathlib.Path(bags["mcap"]) / "metadata.yaml", tmp_path / "meta.tbag")
    assert done.returncode == 0 and f"{TOTAL} frames" in done.stderr, done.stderr
    rows, _ = decoded_rows(trackbag, tmp_path / "file.tbag")
    assert [base64.b64decode(r["payload_b64"]) for r in rows] == [raw for *_, raw, _ in read_truth(one)]


def damage(bags, tmp_path, name, how):
    bag = tmp_path / name
    import shutil
    shutil.copytree(bags["one"], bag)
    how(bag, bag / "one_0.db3", bag / "metadata.yaml")
    return bag


def sql(statements):
    def apply(_bag, db, _meta):
        con = sqlite3.connect(db)
        con.executescript(statements)
        con.commit()
        con.close()
    return apply


def cut_yaml(_bag, _db, meta):
    text = meta.read_text()
    meta.write_text(text[:text.index("relative_file_paths")])


def cut_yaml_in_a_string(_bag, _db, meta):
    text = meta.read_text()
    meta.write_text(text[:text.index("storage_identifier")] + "storage_identifier: 'sqli")


def scribble(_bag, db, _meta):
    data = bytearray(db.read_bytes())
    for i in range(4096, len(data), 4096):
        data[i:i + 8] = b"\xee" * 8
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("name,how,expected", [
    ("cut-yaml", cut_yaml, ["metadata.yaml", "has no relative_file_paths"]),
    ("cut-yaml-string", cut_yaml_in_a_string, ["metadata.yaml", "YAML syntax"]),
    ("no-topics", sql("DROP TABLE topics;"), ["one_0.db3", "no 'topics' table"]),
    ("no-messages", sql("DROP TABLE messages;"), ["one_0.db3", "no 'messages' table"]),
    ("orphan", sql("INSERT INTO messages (topic_id, timestamp, data) VALUES (99, 1765000000500000000, x'00010000');"),
     ["one_0.db3", "topic_id 99 names no row of table topics"]),
    ("damaged", scribble, ["one_0.db3", "damaged"]),
    ("missing-file", lambda bag, db, meta: db.unlink(), ["metadata.yaml", "lists one_0.db3, which is not in"]),
])
def test_bad_bag_fails_naming_the_file_and_the_problem(trackbag, bags, tmp_path, name, how, expected):
    bag = damage(bags, tmp_path, name, how)
    out = tmp_path / f"{name}.tbag"
    done = import_bag(trackbag, bag, out)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert all(part in done.stderr for part in expected), done.stderr
    assert "Fatal error" not in done.stderr and "Traceback" not in done.stderr
    assert not out.exists(), "a failed import left a recording"


@pytest.mark.parametrize("fmt,mode,expected", [
    ("zstd", "FILE", "compression_mode FILE) is not read"),
    ("lz4", "MESSAGE", "compression_mode MESSAGE with compression_format lz4 is not read"),
    # Said to be compressed, but its messages are plain CDR: the first one is no zstd frame.
    ("zstd", "MESSAGE", "message on /imu at 1765000000000000000 ns: not a zstd frame"),
])
def test_compressed_bags_we_cannot_read_are_refused_with_the_reason(trackbag, bags, tmp_path, fmt, mode, expected):
    bag = damage(bags, tmp_path, f"compressed-{fmt}-{mode}", lambda bag, db, meta: meta.write_text(
        meta.read_text().replace("compression_format: ''", f"compression_format: {fmt}")
                        .replace("compression_mode: ''", f"compression_mode: {mode}")))
    out = tmp_path / "c.tbag"
    done = import_bag(trackbag, bag, out)
    assert done.returncode == 1 and expected in done.stderr, done.stderr
    assert not out.exists()


@needs_root
def test_replayed_bag_reaches_an_sdk_subscriber_byte_exact_with_encoding_and_schema(trackbag, bags, tmp_path):
    truth = read_truth(bags["sqlite3"])
    tbag = tmp_path / "live.tbag"
    done = import_bag(trackbag, bags["sqlite3"], tbag)
    assert done.returncode == 0, done.stderr
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, str(tmp_path / "live"), str(tbag), str(TOTAL)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in result.items() if k != "tracks"}))
    assert result["play_exit"] == 0, result["play_stderr"]
    got = result["tracks"]
    assert sorted(got) == sorted(f"{i}/{n}" for i, n in TRACKS.values())
    for topic, msgtype in TOPICS:
        identity, name = TRACKS[topic]
        track = got[f"{identity}/{name}"]
        want = [raw for t, _, _, raw, _ in truth if t == topic]
        assert [base64.b64decode(p) for p in track["frames"]] == want, (topic, len(track["frames"]), len(want))
        assert track["user_timestamps"] == [ts for t, _, ts, _, _ in truth if t == topic]
        assert track["frame_encoding"] == "WELL_KNOWN_FRAME_ENCODING_CDR", track
        assert track["schema"] == {"name": msgtype, "encoding": "WELL_KNOWN_SCHEMA_ENCODING_ROS2_MSG"}, track

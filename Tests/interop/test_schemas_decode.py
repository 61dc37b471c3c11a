"""Protobuf and ROS 2 CDR decoding judged by the libraries robots use (docs/schemas.md):
`mcap-ros2-support` 0.6.0 writes sensor_msgs/Imu and JointState in CDR, `mcap-protobuf-support`
0.6.0 writes Foxglove's PoseInFrame and LocationFix (`foxglove-schemas-protobuf` 0.4.0).
trackbag decodes them, filters on a nested field, and exports MCAP and JSON lines; the same
libraries read the export back and decode every message equal to the original, and trackbag's
value trees equal the libraries' own decoding.
"""
import base64
import json
import subprocess

from google.protobuf.json_format import MessageToDict
from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory
from mcap_protobuf.writer import Writer as ProtobufWriter
from mcap_ros2.decoder import DecoderFactory as Ros2DecoderFactory
from mcap_ros2.writer import Writer as Ros2Writer
from foxglove_schemas_protobuf.LocationFix_pb2 import LocationFix
from foxglove_schemas_protobuf.PoseInFrame_pb2 import PoseInFrame

from ros2_definitions import IMU_DEF, JOINTS_DEF

T0 = 1_765_000_000_000_000_000


def run_pipeline(trackbag, tmp_path, source, condition, name):
    """`trackbag import` → recording → decode → filter → recording and JSON lines →
    `trackbag export --format mcap`: the path a user takes with a robot's MCAP."""
    tbag, kept, out = tmp_path / f"{name}.tbag", tmp_path / f"{name}.kept.tbag", tmp_path / f"{name}.out.mcap"
    done = subprocess.run([trackbag, "import", str(source), "--out", str(tbag)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"""
sources:
  in: {{type: recording, path: "{tbag}"}}
transforms:
  decoded: {{type: decode, inputs: [in]}}
  kept: {{type: filter, inputs: [decoded], condition: '{condition}'}}
sinks:
  out: {{type: recording, inputs: [kept], path: "{kept}"}}
  lines: {{type: jsonl, inputs: [kept], path: "{tmp_path / (name + '.jsonl')}", include_value: true}}
""")
    done = subprocess.run([trackbag, "run", str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = done.stdout
    # The pipeline's recording keeps the imported file's channel origins (recording meta the
    # recording source carries to the recording sink), so topics come back as they were:
    # /imu, not /mcap/imu. User timestamps are the MCAP publish times.
    done = subprocess.run([trackbag, "export", str(kept), "--format", "mcap", "--out", str(out),
                           "--user-timestamp-unit", "ns"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / (name + ".jsonl")).read_text().splitlines()]
    return out, lines, report


def decoded(path, factory):
    with open(path, "rb") as f:
        return [(channel.topic, schema.name, schema.encoding, m.log_time, m.publish_time, msg)
                for schema, channel, m, msg in make_reader(f, decoder_factories=[factory()]).iter_decoded_messages()]


def ros_to_plain(v):
    """An mcap-ros2-support message as JSON lines would hold it (bytes as base64)."""
    if hasattr(v, "__slots__"):
        return {k: ros_to_plain(getattr(v, k)) for k in v.__slots__}
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, list):
        return [ros_to_plain(x) for x in v]
    return v


def imu_message(i, z):
    return {"header": {"stamp": {"sec": 1_765_000_000 + i, "nanosec": i * 1000}, "frame_id": f"imu{i % 3}"},
            "orientation": {"x": 0.0, "y": 0.0, "z": 0.1 * i, "w": 1.0},
            "orientation_covariance": [float(k) for k in range(9)],
            "angular_velocity": {"x": -0.5, "y": 0.25, "z": i / 7},
            "angular_velocity_covariance": [0.0] * 9,
            "linear_acceleration": {"x": 0.01 * i, "y": -0.02, "z": z},
            "linear_acceleration_covariance": [1e-3] * 9}


def test_ros2_cdr_imu_and_joint_state_decode_filter_and_round_trip(trackbag, tmp_path):
    source = tmp_path / "ros2.mcap"
    originals = []
    with open(source, "wb") as f:
        w = Ros2Writer(f)
        imu = w.register_msgdef("sensor_msgs/msg/Imu", IMU_DEF)
        joints = w.register_msgdef("sensor_msgs/msg/JointState", JOINTS_DEF)
        for i in range(200):
            z = 9.0 + (i % 4) * 0.4  # 9.0, 9.4, 9.8, 10.2: half above 9.5
            msg = imu_message(i, z)
            w.write_message("/imu", imu, msg, log_time=T0 + i * 10_000_000, publish_time=T0 + i * 10_000_000 - 5)
            originals.append(("/imu", msg))
            if i % 10 == 0:
                js = {"header": {"stamp": {"sec": i, "nanosec": 0}, "frame_id": ""},
                      "name": ["hip", "knee"], "position": [0.1 * i, -0.2], "velocity": [], "effort": [1.5]}
                w.write_message("/joints", joints, js, log_time=T0 + i * 10_000_000 + 1)
                originals.append(("/joints", js))
        w.finish()

    out, lines, report = run_pipeline(trackbag, tmp_path, source,
                                      'track == "joints" || value.linear_acceleration.z > 9.5', "ros2")
    assert "undecodable" in report and "undecodable_" not in report, report
    expected = [(topic, msg) for topic, msg in originals
                if topic == "/joints" or msg["linear_acceleration"]["z"] > 9.5]
    assert len(expected) == 100 + 20
    back = decoded(out, Ros2DecoderFactory)
    assert [(t, ros_to_plain(m)) for t, *_, m in back] == [(t, ros_to_plain_dict(m)) for t, m in expected]
    assert {(t, s, e) for t, s, e, *_ in back} == {("/imu", "sensor_msgs/msg/Imu", "ros2msg"),
                                                   ("/joints", "sensor_msgs/msg/JointState", "ros2msg")}
    # trackbag's own value trees equal the library's decoding of the same frames.
    assert len(lines) == len(back)
    for line, (_, _, _, _, _, msg) in zip(lines, back):
        assert line["value"] == ros_to_plain(msg)

    # `export --decode`: the imported recording as JSON lines a person reads, every frame with
    # its value, as the messages were written.
    readable = tmp_path / "ros2.readable.jsonl"
    done = subprocess.run([trackbag, "export", str(tmp_path / "ros2.tbag"), "--format", "jsonl",
                           "--out", str(readable), "--decode"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "undecodable" not in done.stderr, done.stderr
    rows = [json.loads(line) for line in readable.read_text().splitlines()]
    assert [row["value"] for row in rows] == [ros_to_plain_dict(msg) for _, msg in originals]
    done = subprocess.run([trackbag, "export", str(tmp_path / "ros2.tbag"), "--format", "mcap",
                           "--out", str(tmp_path / "no.mcap"), "--decode"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "--format jsonl" in done.stderr, done.stderr


def ros_to_plain_dict(msg):
    """The dicts we wrote, with the library's mapping applied (floats stay floats)."""
    return json.loads(json.dumps(msg))


def test_foxglove_protobuf_decode_filter_and_round_trip(trackbag, tmp_path):
    source = tmp_path / "foxglove.mcap"
    originals = []
    with open(source, "wb") as f:
        w = ProtobufWriter(f)
        for i in range(150):
            pose = PoseInFrame(frame_id="map")
            pose.timestamp.seconds = 1_765_000_000 + i
            pose.timestamp.nanos = (i * 1_000_003) % 1_000_000_000
            pose.pose.position.x = 0.5 * i
            pose.pose.position.y = -1.25
            pose.pose.position.z = (i % 3) * 0.4  # 0, 0.4, 0.8: a third above 0.5
            pose.pose.orientation.w = 1.0
            w.write_message("/pose", pose, log_time=T0 + i * 1_000_000, publish_time=T0 + i * 1_000_000)
            originals.append(("/pose", pose))
            if i % 5 == 0:
                fix = LocationFix(frame_id="gps", latitude=52.5 + i / 1000, longitude=13.4, altitude=34.0,
                                  position_covariance=[0.5, 0, 0, 0, 0.5, 0, 0, 0, 2.0],
                                  position_covariance_type=LocationFix.DIAGONAL_KNOWN)
                fix.timestamp.seconds = 1_765_000_000 + i
                w.write_message("/gps", fix, log_time=T0 + i * 1_000_000 + 1, publish_time=T0 + i * 1_000_000 + 1)
                originals.append(("/gps", fix))
        w.finish()

    out, lines, report = run_pipeline(trackbag, tmp_path, source,
                                      'track == "gps" || value.pose.position.z > 0.5', "foxglove")
    assert "undecodable_" not in report, report
    expected = [(t, m) for t, m in originals if t == "/gps" or m.pose.position.z > 0.5]
    assert len(expected) == 50 + 30
    back = decoded(out, ProtobufDecoderFactory)
    assert [(t, m.SerializeToString()) for t, *_, m in back] == [(t, m.SerializeToString()) for t, m in expected]
    # The library decodes into classes of its own pool, so compare as dicts.
    assert [MessageToDict(m) for *_, m in back] == [MessageToDict(m) for _, m in expected]
    assert {(t, s, e) for t, s, e, *_ in back} == {("/pose", "foxglove.PoseInFrame", "protobuf"),
                                                   ("/gps", "foxglove.LocationFix", "protobuf")}
    # trackbag's value trees equal protobuf's own JSON mapping of the same messages (none of
    # these fields is a 64-bit integer, which the JSON mapping would write as text).
    assert len(lines) == len(back)
    for line, (*_, msg) in zip(lines, back):
        assert line["value"] == MessageToDict(msg, preserving_proto_field_name=True,
                                              always_print_fields_with_no_presence=True)


def test_undecodable_frames_are_counted_by_reason_and_passed_on(trackbag, tmp_path):
    source = tmp_path / "bad.mcap"
    with open(source, "wb") as f:
        w = Ros2Writer(f)
        imu = w.register_msgdef("sensor_msgs/msg/Imu", IMU_DEF)
        w.write_message("/imu", imu, imu_message(0, 10.0), log_time=T0)
        w.finish()
    # Truncate the one message: rewrite the file with the library's raw writer.
    from mcap.writer import Writer
    good = [(s, c, m) for s, c, m in make_reader(open(source, "rb")).iter_messages()]
    bad = tmp_path / "truncated.mcap"
    with open(bad, "wb") as f:
        w = Writer(f)
        w.start()
        s, c, m = good[0]
        sid = w.register_schema(s.name, s.encoding, s.data)
        cid = w.register_channel(c.topic, c.message_encoding, sid)
        w.add_message(cid, log_time=m.log_time, data=m.data[:40], publish_time=m.publish_time)
        w.add_message(cid, log_time=m.log_time + 1, data=m.data, publish_time=m.publish_time)
        w.finish()
    out, lines, report = run_pipeline(trackbag, tmp_path, bad, 'value == null || value.linear_acceleration.z > 9.5', "bad")
    assert "undecodable_bad_payload" in report and "1" in report.split("undecodable_bad_payload")[1].split("\n")[0], report
    assert len(lines) == 2 and "value" not in lines[0] and lines[1]["value"]["linear_acceleration"]["z"] == 10.0
    with open(out, "rb") as f:
        assert [m.data for _, _, m in make_reader(f).iter_messages()] == [good[0][2].data[:40], good[0][2].data]

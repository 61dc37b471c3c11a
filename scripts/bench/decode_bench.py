"""Baseline for `trackbag-bench decode` (Benchmarks/DecodeBench.swift): writes N frames of a
~300-byte protobuf `foxglove.PosesInFrame` (topic /poses) and N of a 316-byte CDR
`sensor_msgs/Imu` (topic /imu) into an MCAP file, then times, on exactly those payloads,
Google's `protobuf` (ParseFromString, the upb C backend) and `mcap-ros2-support`'s decoder.
Also ParseFromString followed by MessageToDict, which builds a full value tree as `decode` does.
Prints {"protobuf": {"cpu_s": …}, "protobuf_dict": {…}, "ros2": {…}}: process CPU seconds, best of 3.

usage: decode_bench.py N OUT.mcap
"""
import json
import os
import random
import sys
import time

from google.protobuf import descriptor_pb2

from foxglove_schemas_protobuf.PosesInFrame_pb2 import PosesInFrame
from mcap.reader import make_reader
from mcap_ros2._dynamic import generate_dynamic, serialize_dynamic
from mcap.writer import Writer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "interop"))
from ros2_definitions import IMU_DEF  # noqa: E402


def cpu_best_of_3(fn):
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    rnd = random.Random(5)
    poses, imus = [], []
    for i in range(n):
        m = PosesInFrame(frame_id="map")
        m.timestamp.seconds = 1_765_000_000 + i
        m.timestamp.nanos = rnd.randrange(1_000_000_000)
        for _ in range(4):
            p = m.poses.add()
            p.position.x, p.position.y, p.position.z = rnd.random(), rnd.random(), rnd.random()
            p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = rnd.random(), rnd.random(), rnd.random(), rnd.random()
        poses.append(m)
    encode = serialize_dynamic("sensor_msgs/msg/Imu", IMU_DEF)["sensor_msgs/msg/Imu"]
    for i in range(n):
        imus.append(bytes(encode({
            "header": {"stamp": {"sec": 1_765_000_000 + i, "nanosec": rnd.randrange(1_000_000_000)}, "frame_id": "imu_link"},
            "orientation": {"x": rnd.random(), "y": rnd.random(), "z": rnd.random(), "w": rnd.random()},
            "orientation_covariance": [rnd.random() for _ in range(9)],
            "angular_velocity": {"x": rnd.random(), "y": rnd.random(), "z": rnd.random()},
            "angular_velocity_covariance": [rnd.random() for _ in range(9)],
            "linear_acceleration": {"x": rnd.random(), "y": rnd.random(), "z": 9.8 + rnd.random()},
            "linear_acceleration_covariance": [rnd.random() for _ in range(9)]})))

    # Both kinds in one file, through the raw writer; the schema data is what the support
    # libraries write (the FileDescriptorSet with dependencies, the bundled .msg text).
    pose_bytes = [m.SerializeToString() for m in poses]
    with open(path, "wb") as f:
        w = Writer(f)
        w.start()
        fds = descriptor_pb2.FileDescriptorSet()
        seen = set()

        def add(fd):
            for dep in fd.dependencies:
                add(dep)
            if fd.name not in seen:
                seen.add(fd.name)
                fd.CopyToProto(fds.file.add())
        add(PosesInFrame.DESCRIPTOR.file)
        ps = w.register_schema("foxglove.PosesInFrame", "protobuf", fds.SerializeToString())
        pc = w.register_channel("/poses", "protobuf", ps)
        rs = w.register_schema("sensor_msgs/msg/Imu", "ros2msg", IMU_DEF.encode())
        rc = w.register_channel("/imu", "cdr", rs)
        for i, b in enumerate(pose_bytes):
            w.add_message(pc, log_time=i, data=b, publish_time=i)
        for i, b in enumerate(imus):
            w.add_message(rc, log_time=n + i, data=b, publish_time=n + i)
        w.finish()

    # Time decoding of the payloads as stored in the file.
    with open(path, "rb") as f:
        stored = {"/poses": [], "/imu": []}
        for _, channel, message in make_reader(f).iter_messages():
            stored[channel.topic].append(message.data)

    def parse_protobuf():
        for b in stored["/poses"]:
            m = PosesInFrame()
            m.ParseFromString(b)

    from google.protobuf.json_format import MessageToDict

    def parse_protobuf_to_dict():
        # A full value tree, as `decode` builds one: parse, then every field as Python values.
        for b in stored["/poses"]:
            m = PosesInFrame()
            m.ParseFromString(b)
            MessageToDict(m, preserving_proto_field_name=True)

    decode_imu = generate_dynamic("sensor_msgs/msg/Imu", IMU_DEF)["sensor_msgs/msg/Imu"]

    def parse_ros2():
        for b in stored["/imu"]:
            decode_imu(b)

    print(json.dumps({"protobuf": {"cpu_s": cpu_best_of_3(parse_protobuf), "bytes": len(pose_bytes[0])},
                      "protobuf_dict": {"cpu_s": cpu_best_of_3(parse_protobuf_to_dict)},
                      "ros2": {"cpu_s": cpu_best_of_3(parse_ros2), "bytes": len(imus[0])}}))


if __name__ == "__main__":
    main()

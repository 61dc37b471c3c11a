"""ROS 2 bags written by `rosbags` 0.11.9 (the pure-Python rosbag2 library), and what that
library reads back from them: the bags test_rosbag2.py imports and the truth it is judged by.

Four topics, interleaved every 10 ms over 1 s: sensor_msgs/msg/Imu, std_msgs/msg/String and
geometry_msgs/msg/Twist (from the library's Humble type store) and a custom type,
robot_msgs/msg/WheelState, registered from its .msg text and using builtin_interfaces/Time.
"""
import base64
import dataclasses
import shutil
import sqlite3

import numpy as np
from rosbags.rosbag2 import CompressionFormat, CompressionMode, Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

T0 = 1_765_000_000_000_000_000
STEP_NS = 10_000_000
PER_TOPIC = 25
WHEEL_MSG = "builtin_interfaces/Time stamp\nstring name\nfloat64[] speeds\nint32 ticks\nbool ok\nuint8 mode\n"
TOPICS = [("/imu", "sensor_msgs/msg/Imu"), ("/chatter", "std_msgs/msg/String"),
          ("/robot/cmd_vel", "geometry_msgs/msg/Twist"), ("/robot/wheels", "robot_msgs/msg/WheelState")]
# What trackbag names each topic's track (identity, track): MCAP import's rule, identity ros2
# for topics of one level.
TRACKS = {"/imu": ("ros2", "imu"), "/chatter": ("ros2", "chatter"),
          "/robot/cmd_vel": ("robot", "cmd_vel"), "/robot/wheels": ("robot", "wheels")}


def typestore():
    store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(get_types_from_msg(WHEEL_MSG, "robot_msgs/msg/WheelState"))
    return store


def message(store, msgtype, i):
    t = store.types
    stamp = t["builtin_interfaces/msg/Time"](sec=1_765_000_000 + i, nanosec=i * 1000)
    if msgtype == "sensor_msgs/msg/Imu":
        v3, q = t["geometry_msgs/msg/Vector3"], t["geometry_msgs/msg/Quaternion"]
        return t[msgtype](header=t["std_msgs/msg/Header"](stamp=stamp, frame_id=f"imu{i % 3}"),
                          orientation=q(x=0.0, y=0.0, z=0.1 * i, w=1.0),
                          orientation_covariance=np.arange(9, dtype=np.float64),
                          angular_velocity=v3(x=-0.5, y=0.25, z=i / 7),
                          angular_velocity_covariance=np.zeros(9, dtype=np.float64),
                          linear_acceleration=v3(x=0.01 * i, y=-0.02, z=9.0 + (i % 4) * 0.4),
                          linear_acceleration_covariance=np.full(9, 1e-3))
    if msgtype == "std_msgs/msg/String":
        return t[msgtype](data=f"hello {i} \u00e9\u00e8" + "x" * (i * 37))
    if msgtype == "geometry_msgs/msg/Twist":
        v3 = t["geometry_msgs/msg/Vector3"]
        return t[msgtype](linear=v3(x=0.1 * i, y=0.0, z=0.0), angular=v3(x=0.0, y=0.0, z=-0.05 * i))
    return t[msgtype](stamp=stamp, name=f"wheel{i % 4}", speeds=np.array([0.5 * i, -1.25, 3.0][: 1 + i % 3]),
                      ticks=-i * 1000, ok=i % 2 == 0, mode=i % 256)


def schedule():
    """(index, topic, type, timestamp) for every message, in time order."""
    out = []
    for i in range(PER_TOPIC):
        for k, (topic, msgtype) in enumerate(TOPICS):
            out.append((i, topic, msgtype, T0 + (i * len(TOPICS) + k) * STEP_NS))
    return out


def write_bag(path, plugin, parts=1, compressed=False):
    """A bag at `path` in `plugin` storage; with parts > 1, split into that many storage files
    (the messages in time order, cut in equal runs) under one metadata.yaml. rosbags writes one
    file per bag, so each part is written as its own bag and the parts are put together the way
    rosbag2 splits (`<name>_<n>.<ext>`, listed in relative_file_paths). `compressed`: each
    message zstd-compressed (`compression_mode: MESSAGE`)."""
    store = typestore()
    plan = schedule()
    size = -(-len(plan) // parts)
    pieces = []
    for p in range(parts):
        piece = f"{path}.part{p}"
        w = Writer(piece, version=Writer.VERSION_LATEST, storage_plugin=plugin)
        if compressed:
            w.set_compression(CompressionMode.MESSAGE, CompressionFormat.ZSTD)
        with w:
            conns = {topic: w.add_connection(topic, msgtype, typestore=store) for topic, msgtype in TOPICS}
            for i, topic, msgtype, ts in plan[p * size:(p + 1) * size]:
                w.write(conns[topic], ts, store.serialize_cdr(message(store, msgtype, i), msgtype))
        pieces.append(piece)
    ext = "db3" if plugin == StoragePlugin.SQLITE3 else "mcap"
    import os
    os.makedirs(path)
    name = os.path.basename(path)
    files = []
    for p, piece in enumerate(pieces):
        target = f"{name}_{p}.{ext}"
        shutil.move(os.path.join(piece, f"{os.path.basename(piece)}.{ext}"), os.path.join(path, target))
        files.append(target)
    # The first part's metadata, with every part's file listed.
    text = open(os.path.join(pieces[0], "metadata.yaml")).read()
    head, rest = text.split("  relative_file_paths:\n", 1)
    rest = rest.split("\n", 1)[1]  # the one line listing the first part's own file
    while rest.startswith("  - "):
        rest = rest.split("\n", 1)[1]
    text = head + "  relative_file_paths:\n" + "".join(f"  - {f}\n" for f in files) + rest
    text = text.replace(f"message_count: {size}\n  relative_file_paths", f"message_count: {len(plan)}\n  relative_file_paths")
    with open(os.path.join(path, "metadata.yaml"), "w") as f:
        f.write(text)
    for piece in pieces:
        shutil.rmtree(piece)
    return path


def drop_definitions(src, dst):
    """A copy of a one-file SQLite3 bag as rosbag2 before bag version 8 wrote it: no
    message_definitions table (sqlite_storage schema 3)."""
    shutil.copytree(src, dst)
    import glob
    import os
    for db in glob.glob(os.path.join(dst, "*.db3")):
        con = sqlite3.connect(db)
        con.executescript("DROP TABLE message_definitions; UPDATE schema SET schema_version = 3;")
        con.commit()
        con.close()
    return dst


def plain(v):
    """A rosbags message as trackbag's JSON lines hold its value: objects of fields in order,
    numeric arrays as lists, uint8 arrays as base64 bytes."""
    if dataclasses.is_dataclass(v):
        return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name != "__msgtype__"}
    if isinstance(v, np.ndarray):
        if v.dtype == np.uint8:
            return base64.b64encode(v.tobytes()).decode()
        return [plain(x) for x in v.tolist()]
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_truth(path):
    """What rosbags reads from the bag: (topic, type, timestamp, raw bytes, value) in time order."""
    store = typestore()
    out = []
    with Reader(path) as reader:
        for conn, ts, raw in reader.messages():
            out.append((conn.topic, conn.msgtype, ts, bytes(raw), plain(store.deserialize_cdr(raw, conn.msgtype))))
    out.sort(key=lambda m: m[2])
    return out

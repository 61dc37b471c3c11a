"""The benchmark's frame mix, shared by the Python baseline; MCAPBench.swift builds the same."""
import random

TRACKS = 16


def track_kind(t: int) -> str:
    return "json" if t < 6 else ("imu" if t < 11 else "blob")


def payload_index(i: int) -> int:
    """The n-th frame of a kind takes pool entry n % 1024: no payload repeats inside a chunk."""
    t = i % TRACKS
    first, count = {"json": (0, 6), "imu": (6, 5), "blob": (11, 5)}[track_kind(t)]
    return ((i // TRACKS) * count + (t - first)) % 1024


def payload_pools():
    rnd = random.Random(42)
    json_pool, imu_pool, blob_pool = [], [], []
    for i in range(1024):
        body = ('{"t":%d,"pos":{"x":%.6f,"y":%.6f,"z":%.6f},"vel":{"x":%.6f,"y":%.6f},"status":"ok","note":"'
                % (i, rnd.random(), rnd.random(), rnd.random(), rnd.random(), rnd.random()))
        body = body + "n" * (190 - len(body) - 2) + '"}'
        json_pool.append(body.encode()[:190])
        imu_pool.append(bytes(rnd.getrandbits(8) for _ in range(48)))
        blob_pool.append(bytes(rnd.getrandbits(8) for _ in range(1024)))
    return {"json": json_pool, "imu": imu_pool, "blob": blob_pool}

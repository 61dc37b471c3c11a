"""Baseline for `trackbag-bench mcap`: the `mcap` Python library (1.6.0) writing and reading the
same frames trackbag's MCAP export and import handle (Sources/trackbag/Bench/MCAPBench.swift).

Frames: FRAMES frames round-robin over 16 tracks; tracks 0-5 carry 190-byte JSON, 6-10 48-byte
IMU records, 11-15 1 KiB blobs; payloads cycle through a pool of 1024 per kind built before the
clock starts; the Swift side builds pools of the same shape (random floats in JSON text, random
bytes), so both compress alike. Writer: one channel per track, zstd chunks of
1 MiB (the library's defaults), publish_time = user timestamp (ns). Reader: SeekingReader with
CRC validation, every message touched.

Prints one JSON object: write_s, read_s (wall), write_cpu_s, read_cpu_s (process CPU), frames,
payload_bytes, file_bytes.
"""
import json
import os
import sys
import time

from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer

from frames import TRACKS, payload_index, payload_pools, track_kind


def main():
    frames = int(sys.argv[1])
    path = sys.argv[2]
    pools = payload_pools()
    base = 1_750_000_000_000_000_000

    t0, c0, s0 = time.perf_counter(), time.process_time(), os.times().system
    payload_bytes = 0
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=1 << 20, compression=CompressionType.ZSTD)
        w.start(profile="", library="mcap-python-bench")
        channels = []
        for t in range(TRACKS):
            kind = track_kind(t)
            channels.append(w.register_channel(f"/bench/track{t}", "json" if kind == "json" else "", 0,
                                               {"trackbag.identity": "bench", "trackbag.track": f"track{t}"}))
        for i in range(frames):
            t = i % TRACKS
            data = pools[track_kind(t)][payload_index(i)]
            log_time = base + i * 1000
            w.add_message(channels[t], log_time=log_time, data=data, publish_time=log_time - 500, sequence=i)
            payload_bytes += len(data)
        w.finish()
    write_s, write_cpu_s, write_sys_s = time.perf_counter() - t0, time.process_time() - c0, os.times().system - s0

    t0, c0, s0 = time.perf_counter(), time.process_time(), os.times().system
    n = 0
    read_bytes = 0
    with open(path, "rb") as f:
        reader = make_reader(f, validate_crcs=True)
        for _schema, _channel, message in reader.iter_messages(log_time_order=False):
            n += 1
            read_bytes += len(message.data)
    read_s, read_cpu_s, read_sys_s = time.perf_counter() - t0, time.process_time() - c0, os.times().system - s0
    assert n == frames and read_bytes == payload_bytes, (n, read_bytes)
    print(json.dumps({"write_s": write_s, "read_s": read_s, "write_cpu_s": write_cpu_s, "read_cpu_s": read_cpu_s,
                      "write_sys_s": write_sys_s, "read_sys_s": read_sys_s,
                      "frames": frames,
                      "payload_bytes": payload_bytes, "file_bytes": os.path.getsize(path)}))


if __name__ == "__main__":
    main()

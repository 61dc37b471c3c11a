"""Prints the data-channel benchmark side by side (used by scripts/bench-webrtc-data).

Usage: webrtc_bench_table.py SWIFT_SWIFT_JSON OTHERS_JSON
"""
import json
import sys

swift = json.loads(sys.argv[1])
others = json.loads(sys.argv[2])
pairs = [("Swift-Swift", swift["results"]), ("Swift-aiortc", others["swift-aiortc"]["results"]),
         ("aiortc-aiortc", others["aiortc-aiortc"]["results"])]
header = ("pair", "lossy MB/s", "CPU s/MB", "reliable MB/s", "CPU s/MB", "RTT p50 ms", "RTT p99 ms", "lossy lost")
print("%-14s %11s %9s %14s %9s %11s %11s %11s" % header)
for name, results in pairs:
    r = {x["run"]: x for x in results}
    lossy, reliable, rtt = r["throughput-lossy"], r["throughput-reliable"], r["rtt-256B"]
    print("%-14s %11.1f %9.4f %14.1f %9.4f %11.3f %11.3f %11s" % (
        name, lossy["MBps"], lossy["cpuSecondsPerMB"], reliable["MBps"], reliable["cpuSecondsPerMB"],
        rtt["p50ms"], rtt["p99ms"], "%d/%d" % (lossy["sent"] - lossy["received"], lossy["sent"])))
print(json.dumps({"swift-swift": swift, **others}))

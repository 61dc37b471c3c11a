"""Flight-recorder memory benchmark (`make bench-snapshot`), over loopback with trackbag's own
participants only (no root, no namespace).

usage: snapshot_memory.py TRACKBAG [--rate 20000] [--seconds 60] [--size 128] [--tracks 3]
                          [--pre 10s] [--post 5s] [--max-bytes 256MiB,16MiB] [--trigger-at 0.5]
                          [--keep]

Per `--max-bytes` value, a fresh `trackbag serve` on 127.0.0.1, `trackbag record --snapshot
--pre P --post Q --max-bytes M`, and one publisher, `trackbag-testpeer room-peer` (our
RoomClient: LiveKit's Python SDK sends about 2k frames/s whatever it is asked, see
scripts/bench/live_record.py), pushing `--rate` frames/s of `--size` bytes round-robin over
`--tracks` data tracks for `--seconds`. The payloads are an 8-byte sequence number and bytes that
do not compress (sensor samples), so zstd cannot hide what the ring holds. At `--trigger-at`
of the run the recorder gets SIGUSR1; it writes the `pre` window before it and the `post`
window after it to one file.

Measured: the recorder's RSS (VmRSS) every 0.25 s, from just before the publisher starts
(the baseline: joined, subscribed, nothing buffered) to the end; the ring's own peak and the
frames it evicted (the recorder's exit line); what the server sent the recorder (its log at the
recorder's leave); the file: frames per track, each track's sequence numbers in order, the
window it covers around the trigger, and the evictions its `drop` event counts. "bound" is the
stated one, RSS growth over the baseline under 2 × max_bytes + 12 MiB; the recorder's measured
fixed cost at that rate is the growth with a ring bounded at 1 MiB, less that MiB (a 1 MiB run
comes first for that purpose).

The last stdout line is JSON with every figure (the test in Tests/interop reads it); the tables
above it are what a user reads. Figures are printed, never asserted here.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "interop"))
from live_room import proc_stats, read_lines_blocking, start_loopback_server, stop, testpeer, token, wait_until  # noqa: E402
from tbag_format import read_tbag  # noqa: E402

ROOM = "flight"
SAMPLE_S = 0.25
MIB = 1 << 20
# What docs/snapshot.md states: the ring (max_bytes), the pre window handed to the file writer
# while the ring fills again (up to max_bytes more), and a fixed cost: the receive path's
# queues, SQLite's page cache, zstd's contexts.
FIXED_COST = 12 * MIB


def stated_bound(max_bytes):
    return 2 * max_bytes + FIXED_COST


def arg(name, default, kind=str):
    return kind(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def parse_bytes(text):
    m = re.fullmatch(r"(\d+)(KiB|MiB|GiB|B)?", text)
    if not m:
        raise SystemExit(f"--max-bytes: {text!r} is not a size like 16MiB")
    return int(m.group(1)) * {"B": 1, None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m.group(2)]


def parse_seconds(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", text)
    if not m:
        raise SystemExit(f"{text!r} is not a duration like 10s")
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def one_run(trackbag, workdir, max_bytes, rate, seconds, size, ntracks, pre, post, trigger_at):
    folder = tempfile.mkdtemp(prefix=f"snap-{max_bytes}-", dir=workdir)
    snaps = os.path.join(folder, "snaps")
    server_log = open(os.path.join(folder, "server.log"), "w")
    procs, rec_out, rec_err, peer_lines = [], [], [], []
    result = {"max_bytes": max_bytes, "rate": rate, "seconds": seconds, "size": size, "tracks": ntracks,
              "pre_s": pre, "post_s": post}
    try:
        server, url = start_loopback_server(trackbag, stderr=server_log)
        procs.append(server)
        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", ROOM, "--identity", "recorder",
                                     "--snapshot", "--pre", f"{pre}s", "--post", f"{post}s",
                                     "--max-bytes", str(max_bytes), "--snapshot-dir", snaps],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(recorder)
        threading.Thread(target=read_lines_blocking, args=(recorder.stdout, rec_out), daemon=True).start()
        threading.Thread(target=read_lines_blocking, args=(recorder.stderr, rec_err), daemon=True).start()
        peer = subprocess.Popen([testpeer(trackbag), "room-peer", "--url", url, "--token", token("robot", ROOM)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(peer)
        threading.Thread(target=read_lines_blocking, args=(peer.stdout, peer_lines), daemon=True).start()
        names = [f"t{k}" for k in range(ntracks)]
        for name in names:
            peer.stdin.write(json.dumps({"cmd": "publish", "track": name}) + "\n")
        peer.stdin.flush()
        wait_until(lambda: sum('"reply":"publish"' in l for l in list(peer_lines)) >= ntracks, 30, "the publisher's tracks")
        # The recorder is ready once it says it records every track ("recording robot/t0 (sid …)").
        wait_until(lambda: sum("recording robot/" in l for l in list(rec_err)) >= ntracks, 30,
                   "the recorder's subscriptions", poll=0.1)
        time.sleep(1.0)
        _, baseline = proc_stats(recorder.pid)
        cpu0, _ = proc_stats(recorder.pid)
        samples = []  # (seconds since start, RSS KiB)
        count = int(rate * seconds)
        started = time.monotonic()
        peer.stdin.write(json.dumps({"cmd": "stream", "tracks": names, "rate": rate, "size": size, "count": count,
                                     "fill": "random"}) + "\n")
        peer.stdin.flush()
        fired = None
        end = started + seconds + post + 1.5
        while time.monotonic() < end or not any('"reply":"stream"' in l for l in list(peer_lines)):
            now = time.monotonic() - started
            samples.append((round(now, 2), proc_stats(recorder.pid)[1]))
            if fired is None and now >= trigger_at * seconds:
                recorder.send_signal(signal.SIGUSR1)
                fired = time.time_ns()
            if now > seconds * 3 + 60:
                raise RuntimeError("the publisher did not finish its stream")
            time.sleep(SAMPLE_S)
        cpu1, _ = proc_stats(recorder.pid)
        reply = next(json.loads(l) for l in peer_lines if '"reply":"stream"' in l)
        peer.stdin.write('{"cmd":"quit"}\n')
        peer.stdin.flush()
        peer.wait(timeout=30)
        recorder.send_signal(signal.SIGINT)
        result["recorder_exit"] = recorder.wait(timeout=60)
        time.sleep(0.5)
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
        server_log.close()
    line = next((l for l in rec_out if l.startswith("snapshot:")), "")
    m = re.search(r"(\d+) frames in (\d+) file\(s\); ring peak (\d+) bytes \(bound (\d+)\), (\d+) frames evicted", line)
    if not m:
        raise RuntimeError(f"the recorder did not print its snapshot line; stdout {rec_out[-5:]} stderr {rec_err[-10:]}")
    written, nfiles, peak, bound, evicted = map(int, m.groups())
    sent = None
    for l in open(os.path.join(folder, "server.log")):
        s = re.search(r"recorder left: .*?(\d+) sent", l)
        if s:
            sent = int(s.group(1))
    rss = [kib for _, kib in samples]
    result.update({
        "pushed": reply["sent"], "push_seconds": round(reply["seconds"], 2),
        "achieved_rate": round(reply["sent"] / reply["seconds"]) if reply["seconds"] else None,
        "server_sent_to_recorder": sent, "frames_written": written, "files": nfiles,
        "ring_peak_bytes": peak, "ring_bound_bytes": bound, "evicted": evicted,
        "rss_baseline_kib": baseline, "rss_peak_kib": max(rss), "rss_end_kib": rss[-1],
        "rss_growth_kib": max(rss) - baseline,
        "recorder_cpu_us_per_frame": round((cpu1 - cpu0) * 1e6 / max(1, reply["sent"]), 2),
        "samples": samples[:: max(1, len(samples) // 40)],
    })
    files = sorted(os.listdir(snaps)) if os.path.isdir(snaps) else []
    checks = []
    for name in files:
        _, tracks, frames = read_tbag(os.path.join(snaps, name))
        per_track = {tracks[tid][1]: fs for tid, fs in frames.items()}
        ordered = all(all(int.from_bytes(a[2][:8], "big") < int.from_bytes(b[2][:8], "big") for a, b in zip(fs, fs[1:]))
                      for fs in per_track.values())
        sizes_ok = all(len(f[2]) == size for fs in per_track.values() for f in fs)
        times = [f[0] for fs in per_track.values() for f in fs]
        with sqlite3.connect(os.path.join(snaps, name)) as db:
            events = db.execute("SELECT kind, count, detail FROM events").fetchall()
        checks.append({"file": name, "frames": {k: len(v) for k, v in sorted(per_track.items())},
                       "in_order": ordered, "sizes_ok": sizes_ok,
                       "snapshot_events": sum(1 for kind, _, _ in events if kind == "snapshot"),
                       "evicted_in_file": sum(c or 0 for kind, c, _ in events if kind == "drop"),
                       "from_trigger_s": round((min(times) - fired) / 1e9, 3) if times and fired else None,
                       "to_trigger_s": round((max(times) - fired) / 1e9, 3) if times and fired else None})
    result["snapshot_files"] = checks
    result["workdir"] = folder
    return result


def table(results, fixed_kib):
    print(f"\nflight recorder memory: {results[0]['rate']} frames/s asked over {results[0]['tracks']} tracks, "
          f"{results[0]['size']}-byte frames that do not compress, pre {results[0]['pre_s']} s, post {results[0]['post_s']} s, "
          f"{results[0]['seconds']} s each")
    header = f"{'max_bytes':>10} {'reached fr/s':>12} {'ring peak':>10} {'evicted':>9} {'RSS base':>9} {'RSS peak':>9} " \
             f"{'growth':>8} {'bound':>8} {'CPU µs/fr':>9}  file"
    print(header)
    for r in results:
        bound = stated_bound(r["max_bytes"]) / MIB
        f = r["snapshot_files"][0] if r["snapshot_files"] else {}
        print(f"{r['max_bytes'] / MIB:>7.0f}MiB {r['achieved_rate']:>12} {r['ring_peak_bytes'] / MIB:>7.1f}MiB "
              f"{r['evicted']:>9} {r['rss_baseline_kib'] / 1024:>6.1f}MiB {r['rss_peak_kib'] / 1024:>6.1f}MiB "
              f"{r['rss_growth_kib'] / 1024:>5.1f}MiB {bound:>5.1f}MiB {r['recorder_cpu_us_per_frame']:>9}  "
              f"{sum(f.get('frames', {}).values())} frames, {f.get('from_trigger_s')} s .. +{f.get('to_trigger_s')} s")
    print(f"bound = 2 × max_bytes + {FIXED_COST // MIB} MiB (docs/snapshot.md); measured fixed cost at this rate: "
          f"{fixed_kib / 1024:.1f} MiB (the growth with a 1 MiB ring, less that MiB)")


def main():
    trackbag = sys.argv[1]
    rate = arg("--rate", 20000, int)
    seconds = arg("--seconds", 60.0, float)
    size = arg("--size", 128, int)
    ntracks = arg("--tracks", 3, int)
    pre = parse_seconds(arg("--pre", "10s"))
    post = parse_seconds(arg("--post", "5s"))
    trigger_at = arg("--trigger-at", 0.5, float)
    bounds = [parse_bytes(t) for t in arg("--max-bytes", "256MiB,16MiB").split(",")]
    workdir = tempfile.mkdtemp(prefix="bench-snapshot-")
    try:
        runs = [1 * MIB] + [b for b in bounds if b != MIB]
        results = [one_run(trackbag, workdir, b, rate, seconds, size, ntracks, pre, post, trigger_at) for b in runs]
        fixed_kib = max(0, results[0]["rss_growth_kib"] - 1024)
        table(results, fixed_kib)
        print(json.dumps({"fixed_kib": fixed_kib, "results": results}))
    finally:
        if "--keep" in sys.argv:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

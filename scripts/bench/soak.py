"""Soak benchmark, run INSIDE scripts/netns-run by the pinned venv python (`make soak`).

usage: soak.py TRACKBAG [--minutes 30] [--split 5m] [--rate 2000] [--tracks 8] [--loss 0.01] [--keep]

A long session as a robot makes one: LiveKit's official SDK (livekit==1.2.1, this file in
`robot` mode) publishes `--tracks` data tracks at `--rate` frames/s in all, through the fault
relay (Tests/interop/fault_relay.py) at `--loss` random loss each way, into `trackbag serve`;
`trackbag record --split-duration` records it while an SDK viewer (this file in `viewer` mode)
watches through the relay too. Every 10 s the RSS, open descriptors and CPU time of the server
and the recorder are sampled and printed.

At the end it checks what a long session must keep, and prints each check with its figures:
- RSS flat: growth after warm-up (the first fifth of the run, at least a minute) below 5 MiB;
- no leaked descriptors: the count at the end equals the count after warm-up;
- CPU per frame constant: the second half's CPU µs per frame against the first half's;
- the split parts together hold every frame the recorder received (its own count), each
  track's frames in order across parts, no frame in two parts, and every frame number missing
  at a boundary or anywhere else accounted for by the files' gap/drop counts;
- the parts play as one session: `trackbag run` over `path: [parts]` gives every frame once,
  in order.
Figures are printed; the exit status is 0 only when every check holds.
"""
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "interop"))
from fault_relay import Impairment, RelayProcess  # noqa: E402
from live_room import STEP, proc_stats, read_every_track, run_then_exit, start_server, stop, token  # noqa: E402
from tbag_format import read_tbag  # noqa: E402

ADDR_A = os.environ.get("TB_ADDR_A", "10.99.0.1")
ADDR_B = os.environ.get("TB_ADDR_B", "10.99.0.2")
ROOM = "soak"
SAMPLE_S = 10.0


def arg(name, default, kind=str):
    return kind(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def payload(track, index):
    """8 bytes of frame index, 1 of track number, 55 of pattern: 64 bytes a frame."""
    return index.to_bytes(8, "big") + bytes([track]) + bytes(((index + track + k) & 0xFF) for k in range(55))


async def robot_main(url, ntracks, rate, seconds):
    """Pushes ntracks tracks on absolute deadlines; prints {"pushed": [...], "failed": n} at the end."""
    from livekit import rtc
    room = rtc.Room()
    await asyncio.wait_for(room.connect(url, token("robot", ROOM)), STEP)
    tracks = [await room.local_participant.publish_data_track(name=f"t{k}") for k in range(ntracks)]
    print(json.dumps({"published": ntracks}), flush=True)
    # One frame at a time, round-robin over the tracks, 1/rate apart: the SDK's sender holds
    # one pending frame across all tracks (drop-oldest), so frames pushed in a burst evict
    # each other; spaced pushes are what a robot's sensor callbacks do.
    pushed, failed = [0] * ntracks, 0
    start = time.monotonic()
    n = 0
    while n / rate < seconds:
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        k, i = n % ntracks, n // ntracks
        try:
            tracks[k].try_push(rtc.DataTrackFrame(payload=payload(k, i), user_timestamp=i))
            pushed[k] += 1
        except Exception:
            failed += 1
        n += 1
    await asyncio.sleep(1.0)
    print(json.dumps({"pushed": pushed, "failed": failed}), flush=True)
    await room.disconnect()


async def viewer_main(url):
    """Counts frames per track until stdin closes; prints {"received": {...}}."""
    from livekit import rtc
    room = rtc.Room()
    counts = {}
    readers = read_every_track(room, lambda track, frame: counts.__setitem__(track.info.name, counts.get(track.info.name, 0) + 1))
    await asyncio.wait_for(room.connect(url, token("viewer", ROOM)), STEP)
    print(json.dumps({"joined": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for r in readers:
        r.cancel()
    print(json.dumps({"received": counts}), flush=True)
    await room.disconnect()


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def check(results, name, ok, figures):
    results.append((name, ok, figures))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)


def main():
    trackbag = os.path.abspath(sys.argv[1])
    minutes = arg("--minutes", 30.0, float)
    split = arg("--split", "5m")
    rate = arg("--rate", 2000, int)
    ntracks = arg("--tracks", 8, int)
    loss = arg("--loss", 0.01, float)
    seconds = minutes * 60
    workdir = tempfile.mkdtemp(prefix="tb-soak-")
    procs, relay = [], None
    print(f"soak: {minutes:g} min, {rate} frames/s over {ntracks} tracks, {loss:.1%} loss each way, "
          f"split every {split}; {os.path.realpath(trackbag)}; {os.cpu_count()} cores", flush=True)
    try:
        server, direct_url = start_server(trackbag, workdir, ADDR_A, "--advertise-address", ADDR_B)
        procs.append(server)
        rtc_port = None
        for _ in range(5):
            m = re.search(r"WebRTC .*: " + re.escape(ADDR_A) + r":(\d+)", server.stdout.readline())
            if m:
                rtc_port = int(m.group(1))
                break
        assert rtc_port, "serve did not print its WebRTC port"
        link = Impairment(loss=loss)
        relay = RelayProcess(sys.executable, f"{ADDR_B}:{rtc_port}={ADDR_A}:{rtc_port}",
                             tcp=f"{ADDR_B}:0={ADDR_A}:{direct_url.rsplit(':', 1)[1]}", up=link, down=link)
        url = f"ws://{relay.ready['tcp']}"
        me = [sys.executable, os.path.abspath(__file__)]
        robot = subprocess.Popen(me + ["robot", url, str(ntracks), str(rate), str(seconds)], stdout=subprocess.PIPE, text=True)
        procs.append(robot)
        assert "published" in robot.stdout.readline(), "robot did not publish"
        viewer = subprocess.Popen(me + ["viewer", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(viewer)
        assert "joined" in viewer.stdout.readline(), "viewer did not join"
        out = os.path.join(workdir, "soak-{part}.tbag")
        rec_log = open(os.path.join(workdir, "record.log"), "w")
        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", ROOM, "--out", out,
                                     "--split-duration", split], stdout=subprocess.PIPE, stderr=rec_log, text=True)
        procs.append(recorder)
        pids = {"server": server.pid, "record": recorder.pid}
        samples = []
        started = time.monotonic()
        print(f"{'t s':>6} {'server RSS MiB':>15} {'record RSS MiB':>15} {'server fds':>11} {'record fds':>11} "
              f"{'server CPU s':>13} {'record CPU s':>13}", flush=True)
        while robot.poll() is None:
            time.sleep(SAMPLE_S - (time.monotonic() - started) % SAMPLE_S)
            t = time.monotonic() - started
            row = {"t": t}
            for name, pid in pids.items():
                cpu, rss = proc_stats(pid)
                row[name] = {"rss_kib": rss, "fds": fds(pid), "cpu_s": cpu}
            samples.append(row)
            print(f"{t:6.0f} {row['server']['rss_kib'] / 1024:15.1f} {row['record']['rss_kib'] / 1024:15.1f} "
                  f"{row['server']['fds']:11} {row['record']['fds']:11} {row['server']['cpu_s']:13.2f} "
                  f"{row['record']['cpu_s']:13.2f}", flush=True)
        robot_result = json.loads(robot.stdout.read().strip().splitlines()[-1])
        time.sleep(2.0)
        viewer.stdin.close()
        viewer_result = json.loads(viewer.stdout.read().strip().splitlines()[-1])
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
        record_summary = recorder.stdout.read()
        relay_stats = relay.stats()
    finally:
        for proc in reversed(procs):
            stop(proc)
        if relay:
            relay.close()

    results = []
    pushed = sum(robot_result["pushed"])
    with open(os.path.join(workdir, "server.log")) as f:
        published = [int(m.group(1)) for m in re.finditer(r"serve: robot left: published (\d+) packets", f.read())]
    # A 64-byte frame is one data-track packet: what the server got from the robot's SDK. The
    # rest the SDK's one-frame drop-oldest send queue evicted (the files' gap events count them).
    print(f"robot's SDK sent {sum(published)} of them to the server", flush=True)
    print(f"\npushed {pushed} frames ({robot_result['failed']} refused by the SDK); viewer received "
          f"{sum(viewer_result['received'].values())}; relay {json.dumps({d: relay_stats['udp'][d]['dropped_total'] for d in ('up', 'down')})} "
          f"datagrams dropped up/down", flush=True)
    print(record_summary.strip(), flush=True)

    warm_t = max(60.0, seconds / 5)
    warm = next((s for s in samples if s["t"] >= warm_t), samples[-1] if samples else None)
    if warm and samples:
        for name in ("server", "record"):
            after = [s[name]["rss_kib"] for s in samples if s["t"] >= warm["t"]]
            growth = (max(after) - warm[name]["rss_kib"]) / 1024
            check(results, f"{name} RSS flat after warm-up", growth < 5.0,
                  f"{warm[name]['rss_kib'] / 1024:.1f} MiB at {warm['t']:.0f} s, max {max(after) / 1024:.1f} MiB after "
                  f"(growth {growth:.2f} MiB, bound 5)")
            check(results, f"{name} descriptors", samples[-1][name]["fds"] <= warm[name]["fds"],
                  f"{warm[name]['fds']} after warm-up, {samples[-1][name]['fds']} at the end")
        half = len(samples) // 2
        if half >= 2:
            per_sample_frames = rate * SAMPLE_S
            for name in ("server", "record"):
                first = (samples[half][name]["cpu_s"] - samples[0][name]["cpu_s"]) / (half * per_sample_frames) * 1e6
                second = (samples[-1][name]["cpu_s"] - samples[half][name]["cpu_s"]) / ((len(samples) - 1 - half) * per_sample_frames) * 1e6
                check(results, f"{name} CPU per frame constant", second <= first * 1.25 + 1.0,
                      f"{first:.1f} µs/frame in the first half, {second:.1f} in the second")

    parts = sorted((p for p in os.listdir(workdir) if re.fullmatch(r"soak-\d+\.tbag", p)),
                   key=lambda p: int(p.split("-")[1].split(".")[0]))
    paths = [os.path.join(workdir, p) for p in parts]
    # Per track, over the parts in order: (receive time, frame index) as the files hold them.
    per_track, in_files, spans = {}, 0, []
    for path in paths:
        _, tracks, frames = read_tbag(path)
        times = []
        for tid, (identity, name) in tracks.items():
            rows = [(f[0], int.from_bytes(f[2][:8], "big")) for f in frames[tid]]
            per_track.setdefault(name, []).extend(rows)
            times.extend(t for t, _ in rows)
            in_files += len(rows)
        spans.append((min(times), max(times)) if times else None)
    timed = [s for s in spans if s]
    overlapping = sum(1 for a, b in zip(timed, timed[1:]) if b[0] <= a[1])
    time_disorder = sum(1 for rows in per_track.values() for a, b in zip(rows, rows[1:]) if b[0] < a[0])
    duplicates = sum(len(rows) - len({i for _, i in rows}) for rows in per_track.values())
    # Data tracks are unordered: a frame may arrive after a later one. Counted, not a failure.
    arrived_out_of_order = sum(1 for rows in per_track.values() for a, b in zip(rows, rows[1:]) if b[1] < a[1])
    m = re.search(r"received (\d+) frames", record_summary)
    received = int(m.group(1)) if m else None
    check(results, "split parts hold every frame the recorder received", received == in_files,
          f"{len(parts)} parts, {in_files} frames in them, recorder received {received}")
    check(results, "parts follow each other in time, frames in receive order, none twice",
          overlapping == 0 and time_disorder == 0 and duplicates == 0,
          f"{overlapping} parts overlapping the one before, {time_disorder} frames before their predecessor's receive "
          f"time, {duplicates} duplicates; {arrived_out_of_order} frames arrived after a later one of their track "
          f"(data tracks are unordered)")
    missing_by_index = sum((max(i for _, i in rows) - min(i for _, i in rows) + 1) - len({i for _, i in rows})
                           for rows in per_track.values() if rows)
    accounted = 0
    for path in paths:
        info = json.loads(subprocess.run([trackbag, "info", path, "--json"], capture_output=True, text=True, check=True,
                                         timeout=120).stdout)
        accounted += sum(t["missing_frames"] + t["dropped_frames"] for t in info["tracks"])
    # A push the SDK refused never got a frame number, so no receiver can see it skipped; the
    # robot counted it when `try_push` raised.
    refused = robot_result["failed"]
    check(results, "every missing frame accounted for (gap/drop counts in the files + pushes the SDK refused)",
          missing_by_index == accounted + refused,
          f"{missing_by_index} frame indices missing between each track's first and last recorded frame; "
          f"files count {accounted} missing or dropped, the SDK refused {refused} pushes")

    jsonl = os.path.join(workdir, "replayed.jsonl")
    pipeline = os.path.join(workdir, "replay.yaml")
    with open(pipeline, "w") as f:
        f.write(f"sources:\n  rec:\n    type: recording\n    path: {json.dumps(list(reversed(paths)))}\n"
                f"sinks:\n  out:\n    type: jsonl\n    inputs: [rec]\n    path: {jsonl}\n")
    run = subprocess.run([trackbag, "run", pipeline], capture_output=True, text=True, timeout=600)
    replayed = {}
    if run.returncode == 0:
        with open(jsonl) as f:
            for line in f:
                row = json.loads(line)
                replayed.setdefault(row["track"], []).append(row["time_ns"])
    same = all(replayed.get(name) == [t for t, _ in rows] for name, rows in per_track.items())
    check(results, "the parts replay as one session (every frame once, in the files' order)",
          run.returncode == 0 and sum(len(v) for v in replayed.values()) == in_files and same,
          f"exit {run.returncode}, {sum(len(v) for v in replayed.values())} frames replayed of {in_files}, "
          f"each track in recorded order: {same}")
    print(json.dumps({"samples": samples, "checks": results}), flush=True)
    if "--keep" in sys.argv:
        print(f"kept {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "robot":
        run_then_exit(robot_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
    elif mode == "viewer":
        run_then_exit(viewer_main(sys.argv[2]))
    elif mode and not mode.startswith("-"):
        sys.exit(main())
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

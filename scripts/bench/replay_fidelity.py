"""Replay fidelity benchmark: replay a 1 kHz track and measure how faithfully its
timing reaches the room. Figures are printed, never asserted. Run INSIDE scripts/netns-run
(LiveKit's SDK ignores loopback, so the server listens on the namespace's veth address), by the
pinned venv's python; `scripts/bench-replay-fidelity.sh` does both.

usage: replay_fidelity.py TRACKBAG [--seconds S] [--camera] [--json]

With --camera the recording also holds `robot/camera`, 10 Hz × 40,000 B (a robot's real mix:
each frame is 3 data-track packets), and both viewers subscribe to it too; the figures stay
`imu`'s, so they show whether a large frame holds up the small ones queued behind it.

One run, side by side:
1. A recording is generated: one track `robot/imu`, 1 kHz for S seconds (default 60), 64-byte
   payloads (8-byte big-endian frame index, then a pattern), user timestamp = index × 1000 µs,
   receive times exactly 1 ms apart; written as JSON lines and turned into a .tbag by
   `trackbag import`.
2. Baseline: `trackbag-bench pacing --seconds S`: the pure `ReplayClock` absolute-deadline loop
   and the recording source at original pace into a null sink (no network), the issue's
   "absolute deadlines on this machine reach p99 ≈ 0.18 ms".
3. `trackbag serve` in the namespace; an SDK viewer (livekit 1.2.1, this process) and a Swift
   viewer (`trackbag-testpeer room-peer`, timing only) join room `fidelity`; `trackbag play FILE
   --wait-for-subscribers 2` replays the file. Sender lateness p50/p99/max and end drift come
   from play's own report; each viewer's inter-arrival error is |viewer gap − recorded gap| for
   every pair of consecutive recorded frames that both arrived.

Targets: sender p99 ≤ 0.5 ms, |drift| ≤ 1 ms over 60 s, subscriber p99 ≤ 2 ms.
With --json the last line printed is every figure as one JSON object (the smoke test reads it).

Every process started here is ended by its PID within a bounded time; the scratch folder
(mkdtemp) is removed at the end.
"""
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings

from livekit import api, rtc

# trackbag-testpeer is found the way the interop tests find it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "interop"))
from live_room import percentile, testpeer  # noqa: E402

# The server's development key pair (devkey/secret) is shorter than PyJWT would like; it is the
# key `trackbag serve` accepts by default, so the warning says nothing here.
warnings.filterwarnings("ignore", message=".*HMAC key.*")

RATE_HZ = 1000
PAYLOAD_BYTES = 64
PERIOD_NS = 1_000_000_000 // RATE_HZ
IDENTITY, TRACK, ROOM = "robot", "imu", "fidelity"
CAMERA_TRACK, CAMERA_HZ, CAMERA_BYTES = "camera", 10, 40_000
# The targets this benchmark is judged by.
SENDER_P99_TARGET_MS = 0.5
DRIFT_TARGET_MS = 1.0
SUBSCRIBER_P99_TARGET_MS = 2.0
# How long one setup step (server start, a join) may take.
STEP_S = 30.0

PACED = re.compile(r"paced (\d+) frames: lateness p50 (-?[\d.]+) ms, p99 (-?[\d.]+) ms, "
                   r"max (-?[\d.]+) ms, end drift (-?[\d.]+) ms")


def payload(i):
    return i.to_bytes(8, "big") + bytes((i * 31 + k) & 0xFF for k in range(PAYLOAD_BYTES - 8))


def token(identity):
    grant = api.VideoGrants(room_join=True, room=ROOM, can_publish=True, can_subscribe=True, can_publish_data=True)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


def parse_paced(line):
    m = PACED.search(line)
    if not m:
        return None
    return {"frames": int(m.group(1)), "p50_ms": float(m.group(2)), "p99_ms": float(m.group(3)),
            "max_ms": float(m.group(4)), "drift_ms": float(m.group(5))}


def end_process(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stops one child by its PID: `sig`, then SIGKILL after `timeout`. Returns its exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout=5)
    return proc.returncode


async def end_async_process(proc, sig=signal.SIGTERM, timeout=10.0):
    if proc.returncode is None:
        try:
            proc.send_signal(sig)
            return await asyncio.wait_for(proc.wait(), timeout)
        except ProcessLookupError:
            return await proc.wait()
        except asyncio.TimeoutError:
            proc.kill()
            return await proc.wait()
    return proc.returncode


def make_recording(trackbag, workdir, seconds, camera=False):
    """JSON lines in the export format (README.md), then `trackbag import`."""
    frames = int(RATE_HZ * seconds)
    jsonl = os.path.join(workdir, "imu.jsonl")
    # Receive times start at a whole second of today's Unix time; exactly 1 ms apart.
    base_ns = (time.time_ns() // 1_000_000_000) * 1_000_000_000
    camera_period = RATE_HZ // CAMERA_HZ
    camera_payload = base64.b64encode(bytes(i & 0xFF for i in range(CAMERA_BYTES))).decode()
    with open(jsonl, "w") as f:
        for i in range(frames):
            f.write(json.dumps({"identity": IDENTITY, "track": TRACK, "time_ns": base_ns + i * PERIOD_NS,
                                "user_timestamp": i * (PERIOD_NS // 1000),
                                "payload_b64": base64.b64encode(payload(i)).decode()}) + "\n")
            if camera and i % camera_period == camera_period // 2:
                f.write(json.dumps({"identity": IDENTITY, "track": CAMERA_TRACK, "time_ns": base_ns + i * PERIOD_NS + 1,
                                    "user_timestamp": i * (PERIOD_NS // 1000) + 1,
                                    "payload_b64": camera_payload}) + "\n")
    tbag = os.path.join(workdir, "imu.tbag")
    done = subprocess.run([trackbag, "import", jsonl, "--out", tbag], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError("trackbag import failed: " + done.stderr[-2000:])
    return tbag, frames


def pacing_baseline(trackbag, workdir, seconds):
    """`trackbag-bench pacing`: two figures, the bare deadline loop and the recording source."""
    bench = os.path.join(os.path.dirname(os.path.abspath(trackbag)), "trackbag-bench")
    done = subprocess.run([bench, "pacing", "--seconds", str(seconds), "--dir", workdir],
                          capture_output=True, text=True, timeout=2 * seconds + 120)
    if done.returncode != 0:
        raise RuntimeError("trackbag-bench pacing failed: " + done.stderr[-2000:])
    result = {"debug_build_note": "debug build" in done.stdout}
    for line in done.stdout.splitlines():
        if "bare absolute-deadline loop" in line:
            result["bare_loop"] = parse_paced(line)
        elif "recording source, original pace" in line:
            result["recording_source"] = parse_paced(line)
    return result


def start_server(trackbag, workdir, addr):
    out_path = os.path.join(workdir, "server.out")
    # The child keeps its own copies of the file descriptors; ours close after the spawn.
    with open(out_path, "w") as out, open(os.path.join(workdir, "server.log"), "w") as log:
        proc = subprocess.Popen([trackbag, "serve", "--host", addr, "--port", "0", "--rtc-port", "0", "--node-ip", addr, "--dev"],
                                stdout=out, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + STEP_S
    while time.monotonic() < deadline and proc.poll() is None:
        with open(out_path) as f:
            m = re.search(r"listening on (\S+)", f.read())
        if m:
            return proc, m.group(1)
        time.sleep(0.05)
    end_process(proc)
    raise RuntimeError("trackbag serve did not report its URL")


async def replay(trackbag, workdir, url, tbag, frames, seconds, camera=False):
    """Both viewers in the room, then `trackbag play`; returns what each viewer saw."""
    sdk_frames = []  # (user_timestamp, payload, monotonic ns at arrival)
    camera_frames = []  # arrival ns, for the count only
    readers = []
    viewer = rtc.Room()

    def on_published(track):
        if track.publisher_identity != IDENTITY or track.info.name not in (TRACK, CAMERA_TRACK):
            return

        async def read():
            async for frame in track.subscribe(buffer_size=8192):
                if track.info.name == TRACK:
                    sdk_frames.append((frame.user_timestamp, bytes(frame.payload), time.monotonic_ns()))
                else:
                    camera_frames.append(time.monotonic_ns())
        readers.append(asyncio.ensure_future(read()))

    viewer.on("data_track_published", on_published)
    await asyncio.wait_for(viewer.connect(url, token("sdkviewer")), STEP_S)

    # The Swift viewer writes its JSON lines straight to a file, so this event loop (which
    # timestamps the SDK viewer's frames) does no work per Swift frame.
    swift_out = os.path.join(workdir, "swiftviewer.jsonl")
    with open(swift_out, "w") as out:
        swift = await asyncio.create_subprocess_exec(
            testpeer(trackbag), "room-peer", "--url", url, "--token", token("swiftviewer"),
            stdin=asyncio.subprocess.PIPE, stdout=out, stderr=asyncio.subprocess.DEVNULL)
    player = None
    play_out_path = os.path.join(workdir, "play.out")
    play_err_path = os.path.join(workdir, "play.err")
    try:
        swift.stdin.write((json.dumps({"cmd": "subscribe", "identity": IDENTITY, "track": TRACK, "buffer": 8192,
                                       "timeout": int(STEP_S * 2), "timing_only": True}) + "\n").encode())
        if camera:
            swift.stdin.write((json.dumps({"cmd": "subscribe", "identity": IDENTITY, "track": CAMERA_TRACK,
                                           "buffer": 8192, "timeout": int(STEP_S * 2), "timing_only": True})
                               + "\n").encode())
        await swift.stdin.drain()
        with open(play_out_path, "w") as out, open(play_err_path, "w") as err:
            player = await asyncio.create_subprocess_exec(
                trackbag, "play", tbag, "--url", url, "--room", ROOM, "--wait-for-subscribers", "2",
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            play_status = await asyncio.wait_for(player.wait(), seconds + 2 * STEP_S + 30)
        except asyncio.TimeoutError:
            await end_async_process(player, signal.SIGINT)
            with open(play_err_path) as f:
                raise RuntimeError("trackbag play did not finish in time; its stderr:\n" + f.read()[-3000:])

        # Frames still in flight: until both viewers have them all, at most 5 s.
        def swift_count():
            with open(swift_out) as f:
                return sum(1 for line in f if '"timing"' in line)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (len(sdk_frames) < frames or swift_count() < frames):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
    finally:
        # The children first (by PID, bounded), then this process's own viewer.
        if player is not None and player.returncode is None:
            await end_async_process(player, signal.SIGINT)
        if swift.returncode is None:
            try:
                # Its own counters (buffer and depacketizer drops) before it leaves.
                swift.stdin.write(b'{"cmd":"stats"}\n{"cmd":"quit"}\n')
                await swift.stdin.drain()
                await asyncio.wait_for(swift.wait(), 10)
            except (asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
                await end_async_process(swift)
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.wait_for(viewer.disconnect(), STEP_S)

    swift_frames = []  # (user_timestamp, size, wall-clock ns at arrival)
    subscribe_reply = None
    swift_stats = None
    with open(swift_out) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            m = json.loads(line)
            if m.get("event") == "timing":
                # The imu subscription is the first one; camera frames are counted, not timed.
                if subscribe_reply is None or m.get("sub") == subscribe_reply.get("sub"):
                    swift_frames.append((m["user_timestamp"], m["size"], m["recv_ns"]))
            elif m.get("reply") == "subscribe" and subscribe_reply is None:
                subscribe_reply = m
            elif m.get("reply") == "stats":
                swift_stats = {k: m.get(k) for k in ("frames_received", "buffer_drops", "depacketizer_drops")}
    with open(play_out_path) as f:
        play_out = f.read().splitlines()
    with open(play_err_path) as f:
        play_err = f.read().splitlines()
    def intact(t, p):
        return t is not None and 0 <= t < 1 << 60 and p == payload(t // 1000)
    return {"sdk": [(t, len(p), a, intact(t, p)) for t, p, a in sdk_frames],
            "swift": [(t, n, a, None) for t, n, a in swift_frames],
            "swift_subscribe": subscribe_reply, "swift_stats": swift_stats, "play_status": play_status, "play_out": play_out, "play_err": play_err,
            "sdk_camera_frames": len(camera_frames)}


def server_sessions(workdir):
    """What `trackbag serve` logged for each participant as it left: packets it published, and
    as a subscriber packets queued, sent and dropped by the server (so a viewer's lost frames
    can be told apart: dropped by the server, or lost after it sent them)."""
    sessions = {}
    try:
        with open(os.path.join(workdir, "server.log")) as f:
            for line in f:
                m = re.search(r"serve: (\S+) left: published (\d+) packets .* as subscriber (\d+) queued, "
                              r"(\d+) sent, (\d+) dropped", line)
                if m:
                    sessions[m.group(1)] = {"published": int(m.group(2)), "queued": int(m.group(3)),
                                            "sent": int(m.group(4)), "dropped": int(m.group(5))}
    except OSError:
        pass
    return sessions


def viewer_figures(received, frames, recorded_ns):
    """Loss, order and inter-arrival error of one viewer. `received`: (user_timestamp, size,
    arrival ns, payload intact or None) in arrival order."""
    indices = []
    bad = 0
    for t, size, arrival, intact in received:
        if t is None or t % 1000 or not 0 <= t // 1000 < frames or size != PAYLOAD_BYTES or intact is False:
            bad += 1
            continue
        indices.append((t // 1000, arrival))
    unique = {i for i, _ in indices}
    in_order = all(b[0] > a[0] for a, b in zip(indices, indices[1:]))
    errors = []
    for (i0, a0), (i1, a1) in zip(indices, indices[1:]):
        if i1 == i0 + 1:
            errors.append(abs((a1 - a0) - (recorded_ns[i1] - recorded_ns[i0])) / 1e6)
    # The viewer's own end drift: first→last arrival against the recorded span between them.
    span_drift = None
    if len(indices) > 1:
        (f_i, f_a), (l_i, l_a) = indices[0], indices[-1]
        span_drift = ((l_a - f_a) - (recorded_ns[l_i] - recorded_ns[f_i])) / 1e6
    return {"received": len(received), "distinct": len(unique), "lost": frames - len(unique),
            "malformed": bad, "duplicates": len(indices) - len(unique), "in_order": in_order,
            "pairs": len(errors), "p50_ms": percentile(errors, 0.50), "p99_ms": percentile(errors, 0.99),
            "max_ms": max(errors) if errors else None,
            "share_over_2ms": (sum(1 for e in errors if e > 2.0) / len(errors)) if errors else None,
            "span_drift_ms": span_drift}


def fmt(v, digits=3):
    return "—" if v is None else f"{v:.{digits}f}"


def verdict(ok):
    return "meets" if ok else "MISSES"


def print_report(r):
    build = r["build"]
    print(f"== replay fidelity: {IDENTITY}/{TRACK}, {RATE_HZ} Hz × {PAYLOAD_BYTES} B for {r['seconds']:g} s "
          f"({r['frames']} frames); trackbag {build} build ({r['trackbag']})")
    if r.get("camera"):
        print(f"   beside {IDENTITY}/{CAMERA_TRACK}, {CAMERA_HZ} Hz × {CAMERA_BYTES} B, subscribed by both viewers "
              f"(SDK viewer got {r['sdk_camera_frames']} camera frames); figures below are {TRACK}'s")
    print("sender lateness (actual send − deadline, ms)   p50      p99      max   end drift   target")
    rows = [("trackbag play (republish → serve)", r["play"]),
            ("baseline: bench pacing, bare ReplayClock", r["pacing"].get("bare_loop")),
            ("baseline: bench pacing, recording source", r["pacing"].get("recording_source"))]
    for i, (name, p) in enumerate(rows):
        if p is None:
            print(f"  {name:<42} (no figures)")
            continue
        target = ""
        if i == 0:
            target = (f"p99 ≤ {SENDER_P99_TARGET_MS} ms: {verdict(p['p99_ms'] <= SENDER_P99_TARGET_MS)}, "
                      f"|drift| ≤ {DRIFT_TARGET_MS} ms: {verdict(abs(p['drift_ms']) <= DRIFT_TARGET_MS)}")
        elif i == 1:
            target = "issue: p99 ≈ 0.18 ms"
        print(f"  {name:<42} {p['p50_ms']:7.3f}  {p['p99_ms']:7.3f}  {p['max_ms']:7.3f}  {p['drift_ms']:9.3f}   {target}"
              + (f"   ({p['frames']} frames)" if p["frames"] != r["frames"] else ""))
    print("subscriber inter-arrival error |viewer gap − recorded gap| (ms)")
    print("  viewer                     received   lost  in order    p50      p99      max   >2 ms   span drift   target")
    for name, v in (("Swift (trackbag-testpeer room-peer)", r["swift"]), ("SDK (livekit 1.2.1 python)", r["sdk"])):
        share = "—" if v["share_over_2ms"] is None else f"{100 * v['share_over_2ms']:.2f}%"
        ok = v["p99_ms"] is not None and v["p99_ms"] <= SUBSCRIBER_P99_TARGET_MS
        print(f"  {name:<26} {v['distinct']:>8} {v['lost']:>6}  {'yes' if v['in_order'] else 'NO':>8} "
              f"{fmt(v['p50_ms']):>7}  {fmt(v['p99_ms']):>7}  {fmt(v['max_ms']):>7} {share:>7}   {fmt(v['span_drift_ms']):>9}"
              f"   p99 ≤ {SUBSCRIBER_P99_TARGET_MS} ms: {verdict(ok)}")
    sessions = r["server_sessions"]
    if IDENTITY in sessions:
        line = f"  server: {IDENTITY} published {sessions[IDENTITY]['published']} packets"
        for who in ("swiftviewer", "sdkviewer"):
            if who in sessions:
                v = sessions[who]
                line += f"; to {who} {v['queued']} queued, {v['sent']} sent, {v['dropped']} dropped"
        print(line)
    if r["swift_stats"]:
        st = r["swift_stats"]
        print(f"  Swift viewer's own count: {st['frames_received']} frames received, {st['buffer_drops']} buffer drops, "
              f"{st['depacketizer_drops']} depacketizer drops")
    print("  (>2 ms: share of frame pairs whose error exceeds 2 ms; span drift: first→last arrival minus the"
          " recorded span between those frames)")
    if r["play_summary"]:
        print("  trackbag play: " + r["play_summary"])


async def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    trackbag = os.path.abspath(args[0])
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 60.0
    as_json = "--json" in args
    camera = "--camera" in args
    if not 1 <= seconds <= 3600:
        sys.exit("--seconds must be 1…3600")
    addr = os.environ.get("TB_ADDR_A")
    if not addr:
        sys.exit("run inside scripts/netns-run (TB_ADDR_A unset): LiveKit's SDK ignores loopback")
    build = "release" if "/release/" in trackbag else ("debug" if "/debug/" in trackbag else "unknown")

    workdir = tempfile.mkdtemp(prefix="trackbag-replay-fidelity-")
    server = None
    try:
        tbag, frames = make_recording(trackbag, workdir, seconds, camera)
        recorded_ns = [i * PERIOD_NS for i in range(frames)]
        pacing = pacing_baseline(trackbag, workdir, seconds)
        if pacing.pop("debug_build_note"):
            build = "debug"
        server, url = start_server(trackbag, workdir, addr)
        seen = await replay(trackbag, workdir, url, tbag, frames, seconds, camera)
    finally:
        server_status = end_process(server) if server is not None else None
        sessions = server_sessions(workdir)
        shutil.rmtree(workdir, ignore_errors=True)

    play = next((parse_paced(l) for l in seen["play_out"] if l.startswith("timing:")), None)
    summary = next((l for l in seen["play_out"] if l.startswith("frames sent")), None)
    result = {"trackbag": trackbag, "build": build, "seconds": seconds, "frames": frames, "camera": camera,
              "sdk_camera_frames": seen["sdk_camera_frames"],
              "play_exit": seen["play_status"], "server_exit": server_status, "play": play, "play_summary": summary,
              "play_stderr": seen["play_err"][-10:], "pacing": pacing,
              "swift_subscribe": seen["swift_subscribe"], "swift_stats": seen["swift_stats"],
              "server_sessions": sessions,
              "swift": viewer_figures(seen["swift"], frames, recorded_ns),
              "sdk": viewer_figures(seen["sdk"], frames, recorded_ns),
              "targets": {"sender_p99_ms": SENDER_P99_TARGET_MS, "drift_ms": DRIFT_TARGET_MS,
                          "subscriber_p99_ms": SUBSCRIBER_P99_TARGET_MS, "baseline_bare_p99_ms": 0.18}}
    if play is None:
        print("trackbag play printed no timing report; its stdout:\n" + "\n".join(seen["play_out"]), file=sys.stderr)
        print("its stderr:\n" + "\n".join(seen["play_err"][-20:]), file=sys.stderr)
        result["play"] = None
    if result["play"] is not None:
        print_report(result)
    if as_json:
        print(json.dumps(result))
    return 0 if play is not None and seen["play_status"] == 0 else 1


if __name__ == "__main__":
    status = asyncio.run(main())
    # Every child is ended and the scratch folder removed by now. The SDK's native runtime
    # (livekit 1.2.1's Rust FFI) can abort in a tokio worker while the interpreter finalizes
    # ("panic in a function that cannot unwind", seen after a 60 s run), which would turn a
    # finished benchmark into exit 134; leave without finalizing instead.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

"""Record and replay a live room, run INSIDE scripts/netns-run: `trackbag serve`,
`trackbag record`, `trackbag play`, and LiveKit's official SDK (livekit==1.2.1, this process) as
the robot and as the viewer. Prints one JSON line with what was observed; the test file judges.

usage: record_play_driver.py TRACKBAG WORKDIR [--seconds S] [--rate X]

Phases:
1. An SDK publisher `robot` joins room `live` and publishes `imu` (1 kHz, 48 B) and `joints`
   (100 Hz JSON); `trackbag record` joins; then `camera` (10 Hz, 40,000 B) is published, so
   one track is published after the recorder joined. Frames are pushed for S seconds on
   absolute deadlines; the recorder is stopped with SIGINT.
2. The recording is exported to JSON lines (what the recorder got).
3. An SDK viewer joins room `replay`; `trackbag play --wait-for-subscribers 1` replays the file
   (at `--rate`); the viewer records every frame with its arrival time.

Priority: the suite also runs beside busy processes (`make test-loaded`). For the replay, whose
pacing is judged, `play` and `serve` run at `--nice -10`, what docs/losses.md tells a busy
robot to give them (`serve`, shared by both phases, runs so while recording too), and the two viewers, which stand for subscribers on other computers, at the
same nice value, so that their own waits for a CPU are not counted as the replayer's error. The
recording phase's robot and recorder run at nice 0 (the recorder's losses under load are
attributed, not avoided). Without root (no CAP_SYS_NICE) everything runs at nice 0.
"""
import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import time

from livekit import rtc

from live_room import (STEP, SDKDropCounter, in_order_subset, percentile, read_every_track, read_lines, start_server, stop,
                       testpeer, token, udp_socket_drops, wait_finished)

TRACKBAG = sys.argv[1]
WORKDIR = sys.argv[2]
os.makedirs(WORKDIR, exist_ok=True)
SECONDS = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 3.0
RATE = float(sys.argv[sys.argv.index("--rate") + 1]) if "--rate" in sys.argv else 1.0
# `joints` is unpublished half way and published again (same name, new sid).
REPUBLISH = "--republish" in sys.argv
# The recorder is stopped with SIGKILL instead of SIGINT.
KILL = "--kill" in sys.argv
# `trackbag play --loop`, stopped with SIGINT after about 2.5 passes.
LOOP = "--loop" in sys.argv
ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
SERVER_PID = [0]
# Nice value of the replay's processes (see the docstring); None without root.
REPLAY_NICE = -10 if os.geteuid() == 0 else None
# Receive-buffer drops per process and socket, taken while the sockets are open (see
# live_room.udp_socket_drops): where a frame the server sent was lost, if the kernel lost it.
LOSS_ACCOUNTS = {}


def monotonic_to_unix_ns():
    """What to add to time.monotonic_ns() to get Unix ns, the clock trackbag's viewer stamps
    with: the tightest of a few paired readings (a preemption between the two reads only widens
    a pair)."""
    pairs = []
    for _ in range(16):
        m0 = time.monotonic_ns()
        u = time.time_ns()
        m1 = time.monotonic_ns()
        pairs.append((m1 - m0, u - (m0 + m1) // 2))
    return min(pairs)[1]


SDK_DROPS = SDKDropCounter.install()

# name: (frames per second, payload maker)
TRACKS = {
    "imu": (1000, lambda i: i.to_bytes(8, "big") + bytes((i + k) & 0xFF for k in range(40))),
    "joints": (100, lambda i: json.dumps({"seq": i, "position": [i * 0.001, -i * 0.002, 0.5],
                                          "velocity": [0.1, 0.2, 0.3]}).encode()),
    "camera": (10, lambda i: i.to_bytes(8, "big") + bytes(((i * 7 + k) & 0xFF) for k in range(40_000 - 8))),
}


async def push_paced(local, rate, make, seconds, sent, failures, first=0):
    """Pushes rate×seconds frames on absolute deadlines; user timestamp = index·period in µs."""
    count = int(rate * seconds)
    start = time.monotonic()
    for i in range(first, first + count):
        delay = start + (i - first) / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        payload = make(i)
        ts = 1_000_000_000 + i * (1_000_000 // rate)
        for _ in range(200):
            try:
                local.try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=ts))
                sent.append((payload, ts))
                break
            except Exception:
                failures[0] += 1
                await asyncio.sleep(0.001)


async def record_phase(url, out):
    sdk_before = SDK_DROPS.snapshot()
    pub = rtc.Room()
    await asyncio.wait_for(pub.connect(url, token("robot", "live")), STEP)
    locals_ = {}
    for name in ("imu", "joints"):
        locals_[name] = await asyncio.wait_for(pub.local_participant.publish_data_track(name=name), STEP)
    recorder = await asyncio.create_subprocess_exec(
        TRACKBAG, "record", "--url", url, "--room", "live", "--out", out,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    rec_out, rec_err = [], []
    ready2 = asyncio.Event()
    ready3 = asyncio.Event()
    readers = [asyncio.ensure_future(read_lines(recorder.stdout, rec_out)),
               asyncio.ensure_future(read_lines(recorder.stderr, rec_err, ready2, "recording robot/", 2))]
    await asyncio.wait_for(ready2.wait(), STEP)
    # Published after the recorder joined.
    locals_["camera"] = await asyncio.wait_for(pub.local_participant.publish_data_track(name="camera"), STEP)
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline and not any("recording robot/camera" in l for l in rec_err):
        await asyncio.sleep(0.02)
    # The subscriptions are confirmed by the server within a round trip; give them a moment.
    await asyncio.sleep(0.5)
    sent = {name: [] for name in TRACKS}
    failures = [0]
    started = time.time()

    async def joints_republished():
        rate, make = TRACKS["joints"]
        half = SECONDS / 2
        await push_paced(locals_["joints"], rate, make, half, sent["joints"], failures)
        await locals_["joints"].unpublish()
        await asyncio.sleep(0.3)
        locals_["joints"] = await asyncio.wait_for(pub.local_participant.publish_data_track(name="joints"), STEP)
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline and sum("recording robot/joints" in l for l in rec_err) < 2:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        await push_paced(locals_["joints"], rate, make, half, sent["joints"], failures, first=int(rate * half))

    await asyncio.gather(*(push_paced(locals_[name], rate, make, SECONDS, sent[name], failures)
                           for name, (rate, make) in TRACKS.items() if not (REPUBLISH and name == "joints")),
                         *([joints_republished()] if REPUBLISH else []))
    pushed_for = time.time() - started
    await asyncio.sleep(1.0)
    LOSS_ACCOUNTS["record"] = {"sockets": {"robot_sdk": udp_socket_drops(os.getpid()),
                                           "recorder": udp_socket_drops(recorder.pid),
                                           "server": udp_socket_drops(SERVER_PID[0])},
                               "robot_sdk_logged": SDK_DROPS.since(sdk_before)}
    recorder.send_signal(signal.SIGKILL if KILL else signal.SIGINT)
    try:
        rec_status = await asyncio.wait_for(recorder.wait(), STEP)
    except asyncio.TimeoutError:
        recorder.kill()
        rec_status = "killed"
    await asyncio.gather(*readers, return_exceptions=True)
    await pub.disconnect()
    return sent, failures[0], pushed_for, rec_status, rec_out, rec_err


def recorded_losses(path):
    """Per track, what the recording says was lost before it: `trackbag info --json`'s
    dropped_frames (drop events) and missing_frames (frame numbers skipped, gap events)."""
    done = subprocess.run([TRACKBAG, "info", path, "--json"], check=True, capture_output=True, text=True, timeout=60)
    info = json.loads(done.stdout)
    return {t["name"]: {"dropped": t["dropped_frames"], "missing": t["missing_frames"], "gap_events": t["gap_events"]}
            for t in info["tracks"]}


def publication_ends(path):
    """Per track, where each publication that was unpublished ends in the recording: frames
    received before the track's next `publish` event (its next publication) belong to it. The
    `unpublish` event's own time is not the bound: the recorder may learn of the unpublish
    (signal) before the publication's last frames (data channel) reach it."""
    import sqlite3
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT track, time_ns, kind FROM events WHERE kind IN ('publish', 'unpublish') "
                          "AND track IS NOT NULL ORDER BY time_ns, id").fetchall()
    finally:
        db.close()
    ends = {}
    for track, time_ns, kind in rows:
        if kind == "unpublish":
            later = [t for tr, t, k in rows if tr == track and k == "publish" and t > time_ns]
            ends.setdefault(track, []).append(min(later) if later else float("inf"))
    return ends


# livekit-datatrack (the SDK's Rust core, remote/manager.rs `TrackTask::run`): a subscription's
# task ends as soon as it sees the track unpublished (its select is `biased` towards the state
# change), and the packets still waiting in its queue (`PACKET_BUFFER_COUNT`, 16) are dropped
# without a log line. So the last frames of a publication may be lost by the SDK viewer at an
# unpublish even when the server sent them: at most this many single-packet frames per unpublish.
SDK_UNPUBLISH_QUEUE = 16


def export(path):
    jsonl = path + ".jsonl"
    subprocess.run([TRACKBAG, "export", path, "--format", "jsonl", "--out", jsonl], check=True,
                   capture_output=True, timeout=60)
    frames = {}
    with open(jsonl) as f:
        for line in f:
            row = json.loads(line)
            frames.setdefault(row["track"], []).append(
                (base64.b64decode(row["payload_b64"]), row["user_timestamp"], row["time_ns"], row["identity"]))
    return frames


def nice_option(*flag):
    """[*flag, REPLAY_NICE] for a replay process this driver starts (`--nice -10`,
    `nice -n -10`), or nothing without root."""
    return [*flag, str(REPLAY_NICE)] if REPLAY_NICE is not None else []


async def play_phase(url, path, expected):
    sdk_before = SDK_DROPS.snapshot()
    viewer = rtc.Room()
    received = {}
    publishers = []

    def on_frame(track, frame):
        received.setdefault(track.info.name, []).append((bytes(frame.payload), frame.user_timestamp, time.monotonic_ns()))

    def on_published(track):
        received.setdefault(track.info.name, [])
        publishers.append((track.publisher_identity, track.info.name))

    viewer.on("data_track_published", on_published)
    if REPLAY_NICE is not None:
        renice_this_process(REPLAY_NICE)
    readers = read_every_track(viewer, on_frame, buffer_size=4096)
    await asyncio.wait_for(viewer.connect(url, token("viewer", "replay")), STEP)
    # A Swift viewer beside the SDK's (`trackbag-testpeer room-peer`, timing only), so the figures show
    # how much of the error is the SDK/Python side.
    swift = await asyncio.create_subprocess_exec(
        *nice_option("nice", "-n"), testpeer(TRACKBAG), "room-peer", "--url", url, "--token", token("swiftviewer", "replay"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 24)
    swift_lines = []
    swift_reader = asyncio.ensure_future(read_lines(swift.stdout, swift_lines))
    for name in TRACKS:
        swift.stdin.write((json.dumps({"cmd": "subscribe", "identity": "robot", "track": name, "buffer": 4096,
                                       "timeout": 60, "timing_only": True}) + "\n").encode())
    args = [TRACKBAG, "play", path, "--url", url, "--room", "replay", "--wait-for-subscribers", "2"]
    args += nice_option("--nice")
    if RATE != 1.0:
        args += ["--rate", str(RATE)]
    if LOOP:
        args.append("--loop")
    player = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    play_out, play_err = [], []
    play_readers = asyncio.gather(read_lines(player.stdout, play_out), read_lines(player.stderr, play_err))
    if LOOP:
        # Stop it in the third pass: once it began replaying (publishing) plus 2.5 passes.
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline and not received.get("imu"):
            await asyncio.sleep(0.01)
        await asyncio.sleep(2.5 * SECONDS / RATE)
        player.send_signal(signal.SIGINT)
    await wait_finished(player, play_readers, play_err, "trackbag play")
    out, err = "\n".join(play_out), "\n".join(play_err)
    # Frames still in flight.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(len(v) for v in received.values()) < expected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    LOSS_ACCOUNTS["play"] = {"sockets": {"sdk_viewer": udp_socket_drops(os.getpid()),
                                         "swift_viewer": udp_socket_drops(swift.pid),
                                         "server": udp_socket_drops(SERVER_PID[0])},
                             "sdk_viewer_logged": SDK_DROPS.since(sdk_before)}
    for r in readers:
        r.cancel()
    await viewer.disconnect()
    swift.stdin.write(b'{"cmd":"quit"}\n')
    try:
        await asyncio.wait_for(swift.wait(), 10)
    except asyncio.TimeoutError:
        swift.kill()
        await swift.wait()
    await asyncio.gather(swift_reader, return_exceptions=True)
    messages = [json.loads(l) for l in swift_lines if l.startswith("{")]
    subs = [m["sub"] for m in messages if m.get("reply") == "subscribe" and m.get("ok")]
    swift_received = {name: [(m["user_timestamp"], m["size"], m["recv_ns"]) for m in messages
                             if m.get("event") == "timing" and m["sub"] == sub]
                      for name, sub in zip(TRACKS, subs)}
    # The SDK viewer's arrivals are stamped with time.monotonic_ns(); in Unix ns they compare
    # with trackbag's viewer's, frame by frame.
    to_unix = monotonic_to_unix_ns()
    received = {name: [(p, t, a + to_unix) for p, t, a in frames] for name, frames in received.items()}
    return received, swift_received, publishers, player.returncode, out, err


def renice_this_process(value):
    """Every thread of this process (the SDK's runtime threads included) to nice `value`;
    threads started later inherit it from the thread that starts them."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), value)
        except ProcessLookupError:
            pass  # a thread that ended meanwhile


def envelope_drift(offsets):
    """How far a replay drifted from the recording's spacing divided by the rate, from the
    lower envelope of `offsets` (arrival − recorded time / rate, in order): a frame can arrive
    late (a loaded machine holds back the SDK's Python callbacks by hundreds of ms) but never
    early, so the least-delayed frame of the first and of the last quarter tell the sender's
    pace. None for no frames."""
    if not offsets:
        return None
    quarter = max(1, len(offsets) // 4)
    return min(offsets[-quarter:]) - min(offsets[:quarter])


def packets(size):
    per_packet = 16_000 - 24
    return max(1, -(-size // per_packet))



async def main():
    os.makedirs(WORKDIR, exist_ok=True)
    path = os.path.join(WORKDIR, "live.tbag")
    # The server is the replay's too (see the docstring).
    server, url = start_server(TRACKBAG, WORKDIR, ADDR, *nice_option("--nice"))
    SERVER_PID[0] = server.pid
    try:
        sent, push_failures, pushed_for, rec_status, rec_out, rec_err = await record_phase(url, path)
        recorded = export(path)
        file_losses = recorded_losses(path)
        publication_ends_at = publication_ends(path)
        expected = sum(len(v) for v in recorded.values())
        received, swift_received, publishers, play_status, play_out, play_err = await play_phase(url, path, expected)
    finally:
        server_exit = stop(server)
    # What the server says each participant published and was sent (in leave order: the
    # robot, the recorder, then the player's robot and the viewers).
    sessions = []
    with open(os.path.join(WORKDIR, "server.log")) as f:
        for line in f:
            m = re.search(r"serve: (\S+) left: published (\d+) packets .* as subscriber (\d+) queued, (\d+) sent, (\d+) dropped", line)
            if m:
                sessions.append({"identity": m.group(1), "published": int(m.group(2)), "queued": int(m.group(3)),
                                 "sent": int(m.group(4)), "dropped": int(m.group(5))})
    result = {"seconds": SECONDS, "server_sessions": sessions, "republish": REPUBLISH, "kill": KILL, "loop": LOOP,
              "record_subscriptions": [l for l in rec_err if "recording robot/" in l], "rate": RATE, "push_failures": push_failures, "pushed_for": pushed_for,
              "record_exit": rec_status, "record_stdout": rec_out, "record_stderr": rec_err[-10:],
              "play_exit": play_status, "play_stdout": play_out.splitlines(), "play_stderr": play_err.splitlines()[-10:],
              # How much `play` slowed the whole replay to keep up (--overload slow, the
              # default), from its pacing report: the span grows by as much.
              "play_slowed_s": max([float(m) for m in re.findall(r"slowed ([0-9.]+) ms", play_out + "\n" + play_err)] or [0]) / 1000,
              "server_exit": server_exit, "publishers": sorted(set(publishers)), "tracks": {},
              "losses": LOSS_ACCOUNTS}
    all_errors = []
    all_swift_errors = []
    for name in TRACKS:
        want = [(p, t) for p, t in sent[name]]
        rec = recorded.get(name, [])
        got = received.get(name, [])
        rec_pairs = [(p, t) for p, t, _, _ in rec]
        got_pairs = [(p, t) for p, t, _ in got]
        # Inter-arrival gaps: the viewer's, against the recording's, divided by the rate.
        # Frames are matched to the recording in order (a frame the viewer lost is skipped);
        # a gap counts when two consecutive recorded frames both arrived.
        errors = []
        matched = []  # (recorded index, arrival ns)
        j = 0
        for p, t, arrival in got:
            while j < len(rec) and (rec[j][0], rec[j][1]) != (p, t):
                j += 1
            if j == len(rec):
                break
            matched.append((j, arrival))
            j += 1
        in_order = len(matched) == len(got)
        # Frames the SDK viewer lacks that were among the last SDK_UNPUBLISH_QUEUE
        # single-packet frames before one of the track's unpublishes (see SDK_UNPUBLISH_QUEUE).
        got_indices = {i for i, _ in matched}
        at_unpublish = 0
        for end in publication_ends_at.get(name, []):
            before = [i for i in range(len(rec)) if rec[i][2] < end]
            at_unpublish += sum(1 for i in before[-SDK_UNPUBLISH_QUEUE:]
                                if i not in got_indices and packets(len(rec[i][0])) == 1)
        drift_ns = envelope_drift([a - rec[i][2] / RATE for i, a in matched])
        # The SDK viewer's own lag: how much later its Python callback saw each frame than
        # trackbag's viewer (a second subscriber in the same room, stamped at delivery) saw the
        # same frame. What is left of the SDK viewer's drift once that lag is taken out is what
        # the replayer and the server did to the frames the SDK viewer got.
        swift_got = swift_received.get(name, [])
        swift_at = {}
        for t, n, recv in swift_got:
            swift_at.setdefault((t, n), recv)
        lagged = [(i, a, a - swift_at[(rec[i][1], len(rec[i][0]))]) for i, a in matched
                  if (rec[i][1], len(rec[i][0])) in swift_at]
        lags = [lag / 1e6 for _, _, lag in lagged]
        lag_quarter = max(1, len(lagged) // 4)
        drift_less_lag_ns = envelope_drift([a - lag - rec[i][2] / RATE for i, a, lag in lagged])
        for (i0, a0), (i1, a1) in zip(matched, matched[1:]):
            if i1 == i0 + 1:
                recorded_gap = (rec[i1][2] - rec[i0][2]) / RATE
                errors.append(abs((a1 - a0) - recorded_gap) / 1e6)
        all_errors += errors
        # The Swift viewer's gaps (frames matched by user timestamp and size, in order).
        swift_errors = []
        if [(t, len(p)) for p, t, _, _ in rec] == [(t, n) for t, n, _ in swift_got]:
            for i in range(1, len(rec)):
                recorded_gap = (rec[i][2] - rec[i - 1][2]) / RATE
                swift_errors.append(abs((swift_got[i][2] - swift_got[i - 1][2]) - recorded_gap) / 1e6)
        all_swift_errors += swift_errors
        result["tracks"][name] = {
            "sent": len(want), "recorded": len(rec), "replayed": len(got),
            "recorded_equals_sent": rec_pairs == want,
            "recorded_in_order_subset_of_sent": in_order_subset(rec_pairs, want),
            # Index of a frame from its user timestamp (1e9 + index × period in µs).
            "recorded_first_half": sum(1 for _, t in rec_pairs if (t - 1_000_000_000) // (1_000_000 // TRACKS[name][0]) < TRACKS[name][0] * SECONDS / 2),
            "recorded_second_half": sum(1 for _, t in rec_pairs if (t - 1_000_000_000) // (1_000_000 // TRACKS[name][0]) >= TRACKS[name][0] * SECONDS / 2),
            # Data-track packets of at most 16,000 bytes with a 12-byte header and 12 bytes of
            # extensions when a user timestamp is set (docs/WIRE.md): 40,000 B → 3 packets.
            "recorded_packets": sum(packets(len(p)) for p, _ in rec_pairs),
            "replayed_equals_recorded": got_pairs == rec_pairs,
            "replayed_in_order_subset": in_order, "replay_missing": len(rec) - len(got),
            "replay_missing_at_unpublish": at_unpublish,
            "identities": sorted(set(i for _, _, _, i in rec)),
            "file_losses": file_losses.get(name),
            # Frames sent before the first recorded one and after the last: a receiver has no
            # frame number to see them skipped by, so no file can count them.
            "sent_before_first_recorded": want.index(rec_pairs[0]) if rec_pairs and rec_pairs[0] in want else None,
            "sent_after_last_recorded": (len(want) - 1 - want.index(rec_pairs[-1])) if rec_pairs and rec_pairs[-1] in want else None,
            "recorded_span_s": (rec[-1][2] - rec[0][2]) / 1e9 if len(rec) > 1 else 0,
            "replayed_span_s": (got[-1][2] - got[0][2]) / 1e9 if len(got) > 1 else 0,
            "replayed_drift_s": drift_ns / 1e9 if drift_ns is not None else None,
            "replayed_drift_less_sdk_lag_s": drift_less_lag_ns / 1e9 if drift_less_lag_ns is not None else None,
            "sdk_lag_frames": len(lags),
            "sdk_lag_ms_p50": percentile(lags, 0.50), "sdk_lag_ms_max": max(lags) if lags else None,
            "sdk_lag_ms_first_quarter_p50": percentile(lags[:lag_quarter], 0.50),
            "sdk_lag_ms_last_quarter_p50": percentile(lags[-lag_quarter:], 0.50),
            "gap_error_ms_p50": percentile(errors, 0.50), "gap_error_ms_p99": percentile(errors, 0.99),
            "gap_error_ms_max": max(errors) if errors else None,
            "swift_replayed": len(swift_got),
            "swift_replayed_span_s": (swift_got[-1][2] - swift_got[0][2]) / 1e9 if len(swift_got) > 1 else 0, "swift_gap_error_ms_p99": percentile(swift_errors, 0.99),
            "loop_passes": len(got) / len(rec) if rec else 0,
            "loop_in_order": in_order_subset(got_pairs, rec_pairs * (len(got) // max(1, len(rec)) + 2)),
            "first_mismatch": next(({"index": i, "want_ts": a[1], "have_ts": b[1], "want_len": len(a[0]),
                                     "have_len": len(b[0])} for i, (a, b) in enumerate(zip(rec_pairs, got_pairs)) if a != b),
                                   None),
        }
    result["gap_error_ms_p50"] = percentile(all_errors, 0.50)
    result["gap_error_ms_p99"] = percentile(all_errors, 0.99)
    result["gap_error_ms_max"] = max(all_errors) if all_errors else None
    result["swift_gap_error_ms_p50"] = percentile(all_swift_errors, 0.50)
    result["swift_gap_error_ms_p99"] = percentile(all_swift_errors, 0.99)
    result["swift_gap_error_ms_max"] = max(all_swift_errors) if all_swift_errors else None
    print(json.dumps(result))


if __name__ == "__main__":
    from live_room import run_then_exit
    run_then_exit(main())

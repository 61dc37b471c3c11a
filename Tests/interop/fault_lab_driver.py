"""One fault-lab scenario, run INSIDE scripts/netns-run: LiveKit's official SDK (livekit==1.2.1,
this process) as the robot → the fault relay → `trackbag serve` → the relay → `trackbag record`;
then `trackbag play` → the relay → an SDK viewer. Prints one JSON line with what each place
saw; test_fault_lab.py judges it.

usage: fault_lab_driver.py TRACKBAG WORKDIR SCENARIO [--seconds S] [--no-play]

Addresses: the server binds TB_ADDR_A (signal and UDP) and advertises TB_ADDR_B, where the
relay listens on the same UDP port (`serve --advertise-address`) and on a TCP port for the
signal WebSocket; every peer is given the relay's URL. So each datagram and signal byte of
every peer crosses the relay, which counts them per direction.

Payloads say what they are: `imu` frames are b"imu" + index (5 bytes) + 40 pattern bytes;
`camera` frames b"cam" + index + a pattern to 20,000 bytes. A frame anywhere (the server's
capture, the file, a viewer) is checked byte for byte against the payload its index makes.
"""
import asyncio
import base64
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

from livekit import rtc

from fault_relay import Impairment, RelayProcess
from live_room import (STEP, SDKDropCounter, in_order_subset, read_every_track, read_lines, start_server, stop, token,
                       wait_finished)

# name: (frames per second, payload size)
TRACKS = {"imu": (500, 48), "camera": (5, 20_000)}
TAGS = {b"imu": "imu", b"cam": "camera"}
BLACKOUT_AT = 2.0  # seconds into the push phase

# Each scenario: the impairment both directions get, and what happens at BLACKOUT_AT.
SCENARIOS = {
    "clean": {"link": {}},
    "loss_1pct": {"link": {"loss": 0.01}},
    "loss_5pct": {"link": {"loss": 0.05}},
    "loss_20pct": {"link": {"loss": 0.20}},
    "bursty_2pct": {"link": {"burst": Impairment.bursty(0.02, 4)}},
    "jitter_30ms": {"link": {"delay_ms": 30, "jitter_ms": 20, "reorder": True}},
    "jitter_20ms": {"link": {"delay_ms": 20, "jitter_ms": 15, "reorder": True}},
    "duplicate_1pct": {"link": {"duplicate": 0.01}},
    # 2 Mbit/s with a 100 ms queue; the robot offers ~4 Mbit/s (camera at 25 Hz instead of 5).
    "cap_2mbit": {"link": {"rate_bps": 2_000_000, "queue_bytes": 25_000}, "camera_rate": 25},
    "blackout_3s": {"link": {}, "blackout": 3.0},
    "blackout_10s": {"link": {}, "blackout": 10.0},
    "signal_cut_5s": {"link": {}, "signal_cut": 5.0},
}


def payload(track, index):
    size = TRACKS[track][1]
    head = (b"imu" if track == "imu" else b"cam") + index.to_bytes(5, "big")
    return head + bytes(((index * 7 + k) & 0xFF) for k in range(size - 8))


def identify(data):
    """(track, index) of a payload this driver made, or None."""
    track = TAGS.get(bytes(data[:3]))
    if track is None or len(data) < 8:
        return None
    return track, int.from_bytes(data[3:8], "big")


def genuine(data):
    """True when `data` is byte for byte the payload its own header names."""
    known = identify(data)
    return known is not None and bytes(data) == payload(*known)


def capture_frames(path, limit):
    """What reached the server whole: the server's capture (`--capture-data-tracks`, u32 BE
    length ‖ data-track packet, docs/WIRE.md) up to byte `limit`, reassembled per (track
    handle, frame number) from a start packet through a final one with consecutive sequence
    numbers. Returns ({track: set of indices whole}, {track: frames with some packets only},
    genuine: every whole frame byte-exact)."""
    with open(path, "rb") as f:
        data = f.read(limit)
    packets = {}
    i = 0
    while i + 4 <= len(data):
        (n,) = struct.unpack_from(">I", data, i)
        packet = data[i + 4:i + 4 + n]
        i += 4 + n
        if len(packet) < 12:
            continue
        flags, _, handle, seq, frame = struct.unpack_from(">BBHHH", packet)
        start, final, ext = bool(flags & 0x10), bool(flags & 0x08), bool(flags & 0x04)
        offset = 12
        if ext:
            (words,) = struct.unpack_from(">H", packet, 12)
            offset = 12 + (words + 1) * 4
        packets.setdefault((handle, frame), {})[seq] = (start, final, packet[offset:])
    whole, partial, all_genuine = {}, {}, True
    # A track handle's name, from its whole frames (the payload says which track it is): a
    # frame that lost its start packet is still counted as partial on its track.
    names = {}
    incomplete = []
    for (handle, _), parts in packets.items():
        seqs = sorted(parts)
        # Sequence numbers wrap at 2^16; a frame has at most 128 packets.
        if max(seqs) - min(seqs) > 1000:
            seqs = sorted(parts, key=lambda s: (s + 32768) & 0xFFFF)
        first, last = seqs[0], seqs[-1]
        complete = (parts[first][0] and parts[last][1]
                    and all(((b - a) & 0xFFFF) == 1 for a, b in zip(seqs, seqs[1:])))
        body = b"".join(parts[s][2] for s in seqs)
        known = identify(parts[first][2]) if parts[first][0] else None
        if complete and known:
            all_genuine &= genuine(body)
            whole.setdefault(known[0], set()).add(known[1])
            names[handle] = known[0]
        else:
            incomplete.append((handle, known))
    for handle, known in incomplete:
        track = known[0] if known else names.get(handle, "unknown")
        partial[track] = partial.get(track, 0) + 1
    return whole, partial, all_genuine


class Clock:
    def __init__(self):
        self.t0 = time.monotonic()

    def now(self):
        return round(time.monotonic() - self.t0, 3)


async def push_track(local_ref, track, rate, seconds, log, clock):
    """Pushes `rate`×`seconds` frames on absolute deadlines; log[index] = push time (only
    for frames the SDK accepted), failures counted per reason."""
    count = int(rate * seconds)
    start = time.monotonic()
    failures = {}
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            local_ref[track].try_push(rtc.DataTrackFrame(payload=payload(track, i), user_timestamp=i))
            log[i] = clock.now()
        except Exception as e:  # refused: the SDK says so at once; counted, never retried
            key = type(e).__name__ + ": " + str(e)[:60]
            failures[key] = failures.get(key, 0) + 1
    return failures


def server_sessions(workdir):
    sessions = []
    with open(os.path.join(workdir, "server.log")) as f:
        for line in f:
            m = re.search(r"serve: (\S+) left: published (\d+) packets .* as subscriber (\d+) queued, (\d+) sent, (\d+) dropped, (\d+) unsent", line)
            if m:
                # What each of its peer connections still held inside SCTP when it left.
                held = re.findall(r"(\d+) messages unsent in SCTP, (\d+) chunks unacknowledged", line)
                sessions.append({"identity": m.group(1), "published": int(m.group(2)), "queued": int(m.group(3)),
                                 "sent": int(m.group(4)), "dropped": int(m.group(5)), "unsent": int(m.group(6)),
                                 "sctp_unsent": sum(int(a) for a, _ in held),
                                 "sctp_in_flight": sum(int(b) for _, b in held)})
    return sessions


def export(trackbag, path):
    jsonl = path + ".jsonl"
    subprocess.run([trackbag, "export", path, "--format", "jsonl", "--out", jsonl], check=True, capture_output=True, timeout=60)
    frames = {}
    with open(jsonl) as f:
        for line in f:
            row = json.loads(line)
            frames.setdefault(row["track"], []).append((base64.b64decode(row["payload_b64"]), row["user_timestamp"]))
    done = subprocess.run([trackbag, "info", path, "--json"], check=True, capture_output=True, text=True, timeout=60)
    info = json.loads(done.stdout)
    losses = {t["name"]: {"dropped": t["dropped_frames"], "missing": t["missing_frames"], "gap_events": t["gap_events"],
                          "drop_events": t.get("drop_events")} for t in info["tracks"]}
    return frames, losses, info


def relay_delta(after, before):
    out = {}
    for direction in ("up", "down"):
        a, b = after["udp"][direction], before["udp"][direction]
        out[direction] = {"received": a["received"] - b["received"], "forwarded": a["forwarded"] - b["forwarded"],
                          "duplicated": a["duplicated"] - b["duplicated"], "reordered": a["reordered"] - b["reordered"],
                          "dropped": {k: a["dropped"][k] - b["dropped"][k] for k in a["dropped"]},
                          "dropped_total": a["dropped_total"] - b["dropped_total"]}
    return out


class RoomEvents:
    """Times (on the driver's clock) of an SDK room's connection events."""

    def __init__(self, room, clock):
        self.events = []
        for name in ("reconnecting", "reconnected", "disconnected"):
            room.on(name, lambda *args, name=name: self.events.append((clock.now(), name)))


async def record_phase(trackbag, workdir, url, relay, scenario, seconds, clock):
    out = os.path.join(workdir, "live.tbag")
    sdk_before = SDK_DROPS.snapshot()
    robot = rtc.Room()
    robot_events = RoomEvents(robot, clock)
    await asyncio.wait_for(robot.connect(url, token("robot", "live")), STEP)
    local = {}
    for name in TRACKS:
        local[name] = await asyncio.wait_for(robot.local_participant.publish_data_track(name=name), STEP)
    recorder = await asyncio.create_subprocess_exec(
        trackbag, "record", "--url", url, "--room", "live", "--out", out,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    rec_out, rec_err = [], []
    subscribed = asyncio.Event()
    readers = asyncio.gather(read_lines(recorder.stdout, rec_out),
                             read_lines(recorder.stderr, rec_err, subscribed, "recording robot/", len(TRACKS)))
    await asyncio.wait_for(subscribed.wait(), STEP)
    await asyncio.sleep(0.5)
    capture_start = os.path.getsize(os.path.join(workdir, "capture.bin"))
    before = relay.stats()
    rates = {"imu": TRACKS["imu"][0], "camera": scenario.get("camera_rate", TRACKS["camera"][0])}
    pushed = {name: {} for name in TRACKS}

    async def impair():
        await asyncio.sleep(BLACKOUT_AT)
        if "blackout" in scenario:
            relay.command(cmd="blackout", seconds=scenario["blackout"])
        if "signal_cut" in scenario:
            relay.command(cmd="tcp_cut", seconds=scenario["signal_cut"])

    push_started = clock.now()
    results = await asyncio.gather(impair(), *(push_track(local, name, rates[name], seconds, pushed[name], clock)
                                               for name in TRACKS))
    failures = dict(zip(TRACKS, results[1:]))
    # Frames in flight, a jitter's worth of delay, a reconnect's re-subscription.
    await asyncio.sleep(1.5)
    after = relay.stats()
    capture_end = os.path.getsize(os.path.join(workdir, "capture.bin"))
    sdk_robot = SDK_DROPS.since(sdk_before)
    recorder.send_signal(signal.SIGINT)
    try:
        rec_status = await asyncio.wait_for(recorder.wait(), STEP)
    except asyncio.TimeoutError:
        recorder.kill()
        rec_status = "killed"
    await asyncio.gather(readers, return_exceptions=True)
    with open(os.path.join(workdir, "recorder.log"), "w") as f:
        f.write("\n".join(rec_err + rec_out) + "\n")
    await robot.disconnect()
    return {"out": out, "pushed": pushed, "push_failures": failures, "push_started": push_started, "rates": rates,
            "sizes": {name: size for name, (_, size) in TRACKS.items()},
            "relay": relay_delta(after, before), "relay_total": after, "capture": (capture_start, capture_end),
            "sdk_robot_logged": sdk_robot, "robot_events": robot_events.events,
            "record_exit": rec_status, "record_stdout": rec_out, "record_stderr": rec_err}


async def play_phase(trackbag, workdir, url, relay, scenario, path, clock):
    sdk_before = SDK_DROPS.snapshot()
    before = relay.stats()
    viewer = rtc.Room()
    viewer_events = RoomEvents(viewer, clock)
    received = {}
    readers = read_every_track(viewer, lambda track, frame: received.setdefault(track.info.name, []).append(
        bytes(frame.payload)), buffer_size=4096)
    await asyncio.wait_for(viewer.connect(url, token("viewer", "replay")), STEP)
    player = await asyncio.create_subprocess_exec(
        trackbag, "play", path, "--url", url, "--room", "replay", "--wait-for-subscribers", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    play_out, play_err = [], []
    play_readers = asyncio.gather(read_lines(player.stdout, play_out), read_lines(player.stderr, play_err))

    async def impair():
        deadline = time.monotonic() + STEP
        while not received and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(BLACKOUT_AT)
        if "blackout" in scenario:
            relay.command(cmd="blackout", seconds=scenario["blackout"])
        if "signal_cut" in scenario:
            relay.command(cmd="tcp_cut", seconds=scenario["signal_cut"])

    impairing = asyncio.ensure_future(impair())
    try:
        await wait_finished(player, play_readers, play_err, "trackbag play", timeout=90)
    finally:
        impairing.cancel()
    await asyncio.sleep(1.5)
    after = relay.stats()
    for r in readers:
        r.cancel()
    await viewer.disconnect()
    return {"received": received, "play_exit": player.returncode, "play_stdout": play_out, "play_stderr": play_err[-15:],
            "relay": relay_delta(after, before), "sdk_viewer_logged": SDK_DROPS.since(sdk_before),
            "viewer_events": viewer_events.events}


def recorder_summary(lines):
    for line in lines:
        m = re.search(r"received (\d+) frames, wrote (\d+); dropped: (\d+) before the pipeline .*?, (\d+) in the pipeline; reconnects (\d+)", line)
        if m:
            return dict(zip(("received", "wrote", "dropped_before", "dropped_pipeline", "reconnects"), map(int, m.groups())))
    return None


def out_of_order(indices):
    """How many come after a larger one."""
    count, highest = 0, -1
    for i in indices:
        if i < highest:
            count += 1
        highest = max(highest, i)
    return count


def in_order(indices):
    return all(a < b for a, b in zip(indices, indices[1:]))


def judge_record(rec, frames, file_losses, whole, partial, scenario):
    """Per track: what each place saw (counts of frames) and where the rest went."""
    tracks = {}
    for name in TRACKS:
        pushed = rec["pushed"][name]
        in_file = frames.get(name, [])
        idx = [identify(p)[1] if identify(p) else -1 for p, _ in in_file]
        at_server = whole.get(name, set()) & set(pushed)
        first, last = (min(idx), max(idx)) if idx else (None, None)
        edge = sum(1 for i in pushed if first is None or i < first or i > last)
        f = file_losses.get(name, {"dropped": 0, "missing": 0, "gap_events": 0})
        # When did frames flow again after a blackout or a signal cut: the first frame pushed
        # after it ended that is in the file, and the push time of that frame after the end.
        outage = scenario.get("blackout") or scenario.get("signal_cut")
        recovery = server_recovery = None
        if outage and idx:
            end = rec["push_started"] + BLACKOUT_AT + outage
            after = [pushed[i] for i in idx if i in pushed and pushed[i] >= end]
            recovery = round(min(after) - end, 3) if after else None
            # The same at the server: how much of it is the robot's uplink.
            at_server_after = [pushed[i] for i in at_server if pushed[i] >= end]
            server_recovery = round(min(at_server_after) - end, 3) if at_server_after else None
        tracks[name] = {
            "pushed": len(pushed),
            "push_failures": sum(rec["push_failures"][name].values()),
            "reached_server": len(at_server),
            "partial_at_server": partial.get(name, 0),
            "in_file": len(in_file),
            "file_genuine": all(genuine(p) for p, _ in in_file),
            "file_user_ts_matches": all(identify(p)[1] == ts for p, ts in in_file if identify(p)),
            "file_in_order": in_order(idx),
            # Frames recorded after a later-pushed one (the channel is unordered: a link that
            # reorders datagrams reorders frames).
            "file_out_of_order": out_of_order(idx),
            "file_duplicates": len(idx) - len(set(idx)),
            "file_not_pushed": sum(1 for i in idx if i not in pushed),
            "file_not_at_server": sum(1 for i in idx if i not in at_server),
            "at_server_not_in_file": len(at_server - set(idx)),
            "at_server_not_in_file_inside": len({i for i in at_server - set(idx) if first is not None and first < i < last}),
            "edge_unseen": edge,
            "file_missing": f["missing"], "file_dropped": f["dropped"], "file_gap_events": f["gap_events"],
            "recovery_s": recovery, "server_recovery_s": server_recovery,
            # Frames pushed in the last second that are in the file: the link works at the end.
            "last_second_in_file": sum(1 for i in idx if i in pushed and pushed[i] >= max(pushed.values()) - 1.0),
        }
    return tracks


async def main():
    trackbag, workdir, name = sys.argv[1], sys.argv[2], sys.argv[3]
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 6.0
    scenario = SCENARIOS[name]
    if "blackout" in scenario or "signal_cut" in scenario:
        # Long enough after the outage to see frames flow again for a while; after a cut
        # signal the SDK robot re-joins in full, on its own back-off (seen: 1–5 s after the cut).
        after = 8.0 if "signal_cut" in scenario else 4.0
        seconds = max(seconds, BLACKOUT_AT + scenario.get("blackout", scenario.get("signal_cut", 0)) + after)
    os.makedirs(workdir, exist_ok=True)
    addr_a = os.environ.get("TB_ADDR_A", "10.99.0.1")
    addr_b = os.environ.get("TB_ADDR_B", "10.99.0.2")
    capture = os.path.join(workdir, "capture.bin")
    server, direct_url = start_server(trackbag, workdir, addr_a, "--advertise-address", addr_b,
                                      "--capture-data-tracks", capture)
    # `serve` prints the WebRTC address it bound after the URL.
    rtc_port = None
    for _ in range(5):
        line = server.stdout.readline()
        m = re.search(r"WebRTC .*: " + re.escape(addr_a) + r":(\d+)", line)
        if m:
            rtc_port = int(m.group(1))
            break
    signal_port = int(direct_url.rsplit(":", 1)[1])
    link = Impairment.from_dict(scenario["link"])
    relay = RelayProcess(sys.executable, f"{addr_b}:{rtc_port}={addr_a}:{rtc_port}",
                         tcp=f"{addr_b}:0={addr_a}:{signal_port}", up=link, down=link, seed=int(os.environ.get("TB_FAULT_SEED", "1")))
    url = f"ws://{relay.ready['tcp']}"
    clock = Clock()
    result = {"scenario": name, "impairment": scenario, "seconds": seconds, "url": url, "rtc_port": rtc_port}
    try:
        rec = await record_phase(trackbag, workdir, url, relay, scenario, seconds, clock)
        frames, file_losses, info = export(trackbag, rec["out"])
        whole, partial, capture_genuine = capture_frames(capture, rec["capture"][1])
        result["record"] = {k: v for k, v in rec.items() if k not in ("pushed", "record_stdout")}
        result["record"]["record_stdout"] = rec["record_stdout"][-6:]
        result["record"]["record_stderr"] = rec["record_stderr"][-20:]
        result["record"]["summary"] = recorder_summary(rec["record_stdout"])
        result["record"]["capture_genuine"] = capture_genuine
        result["record"]["reconnect_lines"] = [l for l in rec["record_stderr"] if "reconnect" in l.lower()
                                               or "lost" in l.lower()][:20]
        result["tracks"] = judge_record(rec, frames, file_losses, whole, partial, scenario)
        result["file_info"] = {"events": info.get("events"), "tracks": file_losses}
        if "--no-play" not in sys.argv:
            play = await play_phase(trackbag, workdir, url, relay, scenario, rec["out"], clock)
            viewer = {}
            for track in TRACKS:
                got = play["received"].get(track, [])
                file_idx = [identify(p)[1] for p, _ in frames.get(track, [])]
                got_idx = [identify(p)[1] if identify(p) else -1 for p in got]
                viewer[track] = {"in_file": len(file_idx), "viewer": len(got), "viewer_genuine": all(genuine(p) for p in got),
                                 "viewer_subset_of_file": set(got_idx) <= set(file_idx),
                                 # The replay sends in the file's order, which is arrival order:
                                 # push order only when the recording's link kept it.
                                 "viewer_in_order": in_order_subset(got_idx, file_idx),
                                 "viewer_duplicates": len(got_idx) - len(set(got_idx))}
            result["play"] = {k: v for k, v in play.items() if k != "received"}
            result["play"]["tracks"] = viewer
    finally:
        server_exit = stop(server)
        relay.close()
    result["server_exit"] = server_exit
    result["server_sessions"] = server_sessions(workdir)
    with open(os.path.join(workdir, "server.log")) as f:
        result["server_log_tail"] = f.read().splitlines()[-30:]
    print(json.dumps(result))


SDK_DROPS = SDKDropCounter.install() if __name__ == "__main__" else None

if __name__ == "__main__":
    from live_room import run_then_exit
    run_then_exit(main())

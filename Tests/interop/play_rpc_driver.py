"""`trackbag play` driven through RPC, run INSIDE a network namespace made by scripts/netns-run:
our server, `trackbag play --control-from operator` replaying `robot/imu` (100 Hz, user
timestamp = frame index), and three SDK participants (livekit==1.2.1, this process): a viewer
that records every frame with its arrival time and the replayer's attributes, the operator that
calls the methods, and a stranger who may not. Prints one JSON result line.

usage: play_rpc_driver.py TRACKBAG WORKDIR [--long]

--long (scripts/bench-play-control.sh): a 30 s recording and each rate held long enough for a
p99 of a few hundred gaps (rate 1 for 2 s, rate 0.25 for 8 s, rate 4 for 1.5 s); the test's
default holds each for under 2 s. A second viewer, trackbag's own client (`trackbag-testpeer
room-peer`), reads the same track and times each frame as it leaves its depacketizer, so the
gap errors of the two viewers tell what the replayer and the server do from what the SDK's
delivery to Python adds.

PLAY_EXTRA and SERVE_EXTRA (environment): more options for `trackbag play` and `trackbag serve`
(e.g. "--realtime 10"), split as a shell would.
"""
import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import time

from livekit import rtc

from live_room import SwiftPeer, imu_recording, leave_and_stop, percentile, run_then_exit, start_server, stop, token

ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
LONG = "--long" in sys.argv
FRAMES = 3000 if LONG else 1000
# Seconds each phase is held: before the pause at rate 1, rate 0.25, rate 4, rate 1 after the seek.
HOLD = {"rate1": 2.0, "quarter": 8.0, "rate4": 1.5, "after_seek": 2.0} if LONG else \
    {"rate1": 0.0, "quarter": 1.5, "rate4": 0.6, "after_seek": 0.8}


def gap_errors(part, expected_ms):
    """Inter-arrival gaps between consecutive frames of `part` ((arrival s, index) in arrival
    order) and their distance from `expected_ms`."""
    diffs = [(b[0] - a[0]) * 1000 for a, b in zip(part, part[1:]) if b[1] == a[1] + 1]
    errors = [abs(d - expected_ms) for d in diffs]
    return {"frames": len(part), "gap_p50_ms": round(percentile(diffs, 0.5) or 0, 3),
            "error_p50_ms": round(percentile(errors, 0.5) or 0, 3),
            "error_p99_ms": round(percentile(errors, 0.99) or 0, 3)}


async def main():
    trackbag, workdir = sys.argv[1], sys.argv[2]
    tbag = imu_recording(trackbag, workdir, FRAMES)
    server, url = start_server(trackbag, workdir, ADDR, *shlex.split(os.environ.get("SERVE_EXTRA", "")))
    player = None
    rooms = []
    swift = None
    try:
        viewer, operator, stranger = rtc.Room(), rtc.Room(), rtc.Room()
        rooms = [viewer, operator, stranger]
        frames = []  # (arrival monotonic s, user timestamp)
        attributes = []  # (arrival monotonic s, state, position)

        def on_published(track):
            if track.publisher_identity != "robot":
                return

            async def read():
                async for frame in track.subscribe(buffer_size=4096):
                    frames.append((time.monotonic(), frame.user_timestamp))
            asyncio.ensure_future(read())

        viewer.on("data_track_published", on_published)
        viewer.on("participant_attributes_changed",
                  lambda changed, participant: attributes.append(
                      (time.monotonic(), participant.attributes.get("trackbag.state"),
                       participant.attributes.get("trackbag.position"))) if participant.identity == "robot" else None)
        await viewer.connect(url, token("viewer", "replay"))
        await operator.connect(url, token("operator", "replay"))
        if LONG:
            swift = SwiftPeer(trackbag, url, token("swiftviewer", "replay"))
            joined = await swift.start()
            assert joined["event"] == "joined", joined
            # Subscribes as soon as the replayer publishes (the peer waits for the track).
            swift.send({"cmd": "subscribe", "identity": "robot", "track": "imu", "buffer": 4096, "timing_only": True})
        log = open(os.path.join(workdir, "play.log"), "w")
        player = subprocess.Popen([trackbag, "play", tbag, "--url", url, "--room", "replay", "--control-from", "operator",
                                   "--control-from", "console-*", "--wait-for-subscribers", "3" if LONG else "2", "--lead-in", "1",
                                   *shlex.split(os.environ.get("PLAY_EXTRA", ""))],
                                  stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while len(frames) < 50:
            assert time.monotonic() < deadline, "no replayed frames at the viewer"
            assert player.poll() is None, open(os.path.join(workdir, "play.log")).read()
            await asyncio.sleep(0.01)
        await asyncio.sleep(HOLD["rate1"])

        calls = {}

        async def call(label, method, payload="", room=operator):
            started = time.monotonic()
            try:
                value = await asyncio.wait_for(room.local_participant.perform_rpc(
                    destination_identity="robot", method=method, payload=payload), 15)
                out = {"ok": True, "status": json.loads(value)}
            except rtc.RpcError as error:
                out = {"ok": False, "error": [error.code, error.message]}
            out["started"] = started
            out["ms"] = round((time.monotonic() - started) * 1000, 2)
            calls[label] = out
            return out

        def since(t):
            return [f for f in frames if f[0] >= t]

        phases = {}
        phases["rate1_start"] = frames[0][0]
        # Pause: nothing may arrive after the pause took effect.
        await call("status", "trackbag.status")
        pause = await call("pause", "trackbag.pause")
        await asyncio.sleep(1.0)
        held = since(pause["started"])
        phases["pause"] = pause["started"]
        # Steps while paused.
        step5 = await call("step5", "trackbag.step", json.dumps({"frames": 5}))
        await asyncio.sleep(0.6)
        stepped5 = since(step5["started"])
        step_d = await call("step_duration", "trackbag.step", json.dumps({"duration": "100ms"}))
        await asyncio.sleep(0.6)
        stepped_d = since(step_d["started"])
        # Rate 0.25 asked while paused applies on resume.
        await call("rate_quarter", "trackbag.rate", json.dumps({"rate": 0.25}))
        resume = await call("resume", "trackbag.resume")
        await asyncio.sleep(HOLD["quarter"])
        rate4 = await call("rate4", "trackbag.rate", json.dumps({"rate": 4}))
        await asyncio.sleep(HOLD["rate4"])
        seek = await call("seek", "trackbag.seek", json.dumps({"to": "2s"}))
        await asyncio.sleep(0.3)
        rate1 = await call("rate1", "trackbag.rate", json.dumps({"rate": 1}))
        await asyncio.sleep(HOLD["after_seek"])
        await call("bad_rate", "trackbag.rate", json.dumps({"rate": -1}))
        await call("step_playing", "trackbag.step", json.dumps({"frames": 1}))
        await call("seek_outside", "trackbag.seek", json.dumps({"to": "1h"}))
        final = await call("final_status", "trackbag.status")
        # A participant that --control-from does not name.
        await stranger.connect(url, token("stranger", "replay"))
        await asyncio.sleep(0.5)
        stranger_pause = await call("stranger_pause", "trackbag.pause", room=stranger)
        stranger_status = await call("stranger_status", "trackbag.status", room=stranger)
        await asyncio.sleep(0.3)

        def gaps(lo, hi, expected_ms):
            result = gap_errors([f for f in frames if lo <= f[0] < hi], expected_ms)
            if swift is not None:
                # Windows by arrival at this process; gaps by the Swift viewer's own clock.
                part = [(recv_ns / 1e9, ts) for at, _, recv_ns, ts in swift.timings if lo <= at < hi]
                result["swift_viewer"] = gap_errors(part, expected_ms)
            return result

        def first_after(t):
            f = since(t)
            return f[0] if f else None

        resume_frame = first_after(resume["started"])
        # Where the frames went after the seek: the first frame sent after the call.
        after_seek = [f for f in frames if f[0] >= seek["started"]]
        seek_index = next((i for i, f in enumerate(after_seek) if f[1] == 200), None)
        last_before_pause = [f for f in frames if f[0] < pause["started"]]
        result = {
            "calls": {k: {kk: vv for kk, vv in v.items() if kk != "started"} for k, v in calls.items()},
            "held_during_pause": [f[1] for f in held],
            "stepped5": [f[1] for f in stepped5],
            "stepped_duration": [f[1] for f in stepped_d],
            "last_before_pause": last_before_pause[-1][1] if last_before_pause else None,
            "resume_to_first_frame_ms": round((resume_frame[0] - resume["started"]) * 1000, 2) if resume_frame else None,
            "seek_frames": [f[1] for f in after_seek[:5]],
            "seek_target_position": seek_index,
            # How long after the call was answered the last frame before the target arrived.
            "seek_stragglers_after_answer_ms": round((after_seek[seek_index - 1][0] - seek["started"]) * 1000
                                                     - seek["ms"], 2) if seek_index else None,
            "seek_to_target_ms": round((after_seek[seek_index][0] - seek["started"]) * 1000, 2) if seek_index is not None else None,
            "rate1": gaps(phases["rate1_start"] + 0.2, pause["started"], 10.0),
            "rate1_after_seek": gaps(rate1["started"] + 0.1, final["started"], 10.0),
            "rate_quarter": gaps(resume["started"] + 0.1, rate4["started"], 40.0),
            "rate4": gaps(rate4["started"] + 0.1, seek["started"], 2.5),
            "attributes": [[round(t - pause["started"], 3), s, p] for t, s, p in attributes],
            "pause_call": pause["started"], "resume_call": resume["started"],
            "viewer_total": len(frames), "stranger_pause": stranger_pause, "stranger_status": stranger_status,
            "final_status": final,
        }
        stop(player, signal.SIGINT)
        result["play_log"] = open(os.path.join(workdir, "play.log")).read().splitlines()[-12:]
        print(json.dumps(result, default=str))
    finally:
        if swift is not None:
            await swift.quit()
        await leave_and_stop(rooms, player, server)


if __name__ == "__main__":
    run_then_exit(asyncio.wait_for(main(), 150))

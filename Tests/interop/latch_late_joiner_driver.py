"""`trackbag play --latch robot/map --latch-late-joiners`, run INSIDE a network namespace made by
scripts/netns-run: our server, a replay of `robot/imu` (100 Hz, user timestamp = index) and
`robot/map` (3 frames of 40 kB in the first 2 s, user timestamps 1000…1002), an SDK viewer
(livekit==1.2.1) there from the start, and three SDK viewers that join one after another once
the last map frame is long gone. Each late viewer notes when it subscribed and when the map's
frames arrive. Prints one JSON result line.

usage: latch_late_joiner_driver.py TRACKBAG WORKDIR
"""
import asyncio
import base64
import json
import os
import random
import signal
import subprocess
import sys
import time

from livekit import rtc

from live_room import leave_and_stop, run_then_exit, start_server, stop, token

ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
IMU_FRAMES = 800
MAP_AT_MS = [50, 1000, 2000]
LATE_VIEWERS = 3
T0 = 1_790_000_000_000_000_000


def map_payloads():
    rng = random.Random(7)
    return [bytes(rng.getrandbits(8) for _ in range(40_000)) for _ in MAP_AT_MS]


def recording(trackbag, workdir):
    rows = [(T0 + i * 10_000_000, "imu", i, i.to_bytes(4, "big")) for i in range(IMU_FRAMES)]
    rows += [(T0 + at * 1_000_000 + 1, "map", 1000 + k, payload) for k, (at, payload) in enumerate(zip(MAP_AT_MS, map_payloads()))]
    jsonl = os.path.join(workdir, "in.jsonl")
    with open(jsonl, "w") as f:
        for t, name, user, payload in sorted(rows):
            f.write(json.dumps({"identity": "robot", "track": name, "time_ns": t, "user_timestamp": user,
                                "payload_b64": base64.b64encode(payload).decode()}) + "\n")
    tbag = os.path.join(workdir, "in.tbag")
    subprocess.run([trackbag, "import", jsonl, "--out", tbag], check=True, capture_output=True, timeout=60)
    return tbag


def watch(room, into, subscribed_at=None):
    """Subscribes to robot's tracks as they are seen; `into[name]` gets (arrival s, user ts, payload)."""
    def on_published(track):
        if track.publisher_identity != "robot":
            return

        async def read():
            name = track.info.name
            into.setdefault(name, [])
            if subscribed_at is not None:
                subscribed_at[name] = time.monotonic()
            async for frame in track.subscribe(buffer_size=4096):
                into[name].append((time.monotonic(), frame.user_timestamp, bytes(frame.payload)))
        asyncio.ensure_future(read())
    room.on("data_track_published", on_published)


async def main():
    trackbag, workdir = sys.argv[1], sys.argv[2]
    tbag = recording(trackbag, workdir)
    expected_map = map_payloads()
    server, url = start_server(trackbag, workdir, ADDR)
    player = None
    rooms = []
    try:
        early = rtc.Room()
        rooms.append(early)
        early_frames = {}
        watch(early, early_frames)
        await early.connect(url, token("early", "replay"))
        log = open(os.path.join(workdir, "play.log"), "w")
        player = subprocess.Popen([trackbag, "play", tbag, "--url", url, "--room", "replay", "--latch", "robot/map",
                                   "--latch-late-joiners", "--wait-for-subscribers", "1", "--lead-in", "1"],
                                  stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        # 3 s into the replay: the last map frame went out 1 s ago.
        while len(early_frames.get("imu", [])) < 300:
            assert time.monotonic() < deadline, "no replayed frames at the early viewer"
            assert player.poll() is None, open(os.path.join(workdir, "play.log")).read()
            await asyncio.sleep(0.01)
        late = []
        for n in range(LATE_VIEWERS):
            room, frames, subscribed_at = rtc.Room(), {}, {}
            rooms.append(room)
            watch(room, frames, subscribed_at)
            await room.connect(url, token(f"late{n}", "replay"))
            deadline = time.monotonic() + 5
            while not frames.get("map"):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.7)
            late.append((subscribed_at, frames))
        early_map_end = len(early_frames.get("map", []))
        result = {"late": [], "early_map": [(u, p == expected_map[u - 1000]) for _, u, p in early_frames.get("map", [])],
                  "early_imu_in_order": [u for _, u, _ in early_frames.get("imu", [])] == sorted(
                      u for _, u, _ in early_frames.get("imu", [])),
                  "early_imu_count": len(early_frames.get("imu", [])), "early_map_count": early_map_end}
        for subscribed_at, frames in late:
            got = frames.get("map", [])
            first = got[0] if got else None
            result["late"].append({
                "map": [(u, p == expected_map[u - 1000]) for _, u, p in got],
                "latency_ms": round((first[0] - subscribed_at["map"]) * 1000, 2) if first and "map" in subscribed_at else None,
                # For comparison: subscribe → first frame of a track that sends every 10 ms.
                "imu_latency_ms": round((frames["imu"][0][0] - subscribed_at["imu"]) * 1000, 2)
                if frames.get("imu") and "imu" in subscribed_at else None,
                "imu_first": frames.get("imu", [(0, None, b"")])[0][1],
                "imu_count": len(frames.get("imu", [])),
            })
        stop(player, signal.SIGINT)
        result["play_log"] = open(os.path.join(workdir, "play.log")).read().splitlines()[-10:]
        print(json.dumps(result))
    finally:
        await leave_and_stop(rooms, player, server)


if __name__ == "__main__":
    run_then_exit(asyncio.wait_for(main(), 120))

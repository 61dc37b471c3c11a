"""Large-frame latency benchmark: how long a 40,000-byte frame takes from an SDK publisher
through `trackbag serve` to a trackbag subscriber, beside a 1 kHz stream of small frames on the
same connection. Run INSIDE scripts/netns-run by the pinned venv's python (LiveKit's SDK ignores
loopback); `scripts/bench-live-record.sh --large-frames` runs it. Figures are printed, never
asserted.

usage: large_frame_latency.py TRACKBAG [--seconds S] [--json]

An SDK publisher (livekit 1.2.1, this process) publishes `robot/imu` (1 kHz × 48 B) and
`robot/big` (10 Hz × 40,000 B: 3 data-track packets); a Swift subscriber
(`trackbag-testpeer room-peer`, our RoomClient, which `trackbag record` reads through) stamps
each frame's arrival on the wall clock. A frame's user timestamp is the wall clock (µs) when it
was pushed, so its latency is arrival − push, per track, p50/p99/max, next to the target
(40 KB frame p99 ≤ 5 ms). A frame the SDK refuses (its own queue full) is counted as refused.
Every process started here is ended by its PID; the scratch folder is
removed.
"""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

from livekit import api, rtc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "interop"))
from live_room import percentile, start_server, stop, testpeer  # noqa: E402

warnings.filterwarnings("ignore", message=".*HMAC key.*")

ROOM, IDENTITY = "largeframes", "robot"
SMALL, SMALL_HZ, SMALL_BYTES = "imu", 1000, 48
BIG, BIG_HZ, BIG_BYTES = "big", 10, 40_000
BIG_P99_TARGET_MS = 5.0
STEP_S = 30.0


def token(identity):
    grant = api.VideoGrants(room_join=True, room=ROOM, can_publish=True, can_subscribe=True, can_publish_data=True)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


async def run(trackbag, workdir, url, seconds):
    out_path = os.path.join(workdir, "subscriber.jsonl")
    with open(out_path, "w") as out:
        sub = await asyncio.create_subprocess_exec(
            testpeer(trackbag), "room-peer", "--url", url, "--token", token("subscriber"),
            stdin=asyncio.subprocess.PIPE, stdout=out, stderr=asyncio.subprocess.DEVNULL)
    room = rtc.Room()
    try:
        await asyncio.wait_for(room.connect(url, token(IDENTITY)), STEP_S)
        small = await asyncio.wait_for(room.local_participant.publish_data_track(name=SMALL), STEP_S)
        big = await asyncio.wait_for(room.local_participant.publish_data_track(name=BIG), STEP_S)
        for name in (SMALL, BIG):
            sub.stdin.write((json.dumps({"cmd": "subscribe", "identity": IDENTITY, "track": name, "buffer": 8192,
                                         "timeout": int(STEP_S), "timing_only": True}) + "\n").encode())
        await sub.stdin.drain()
        # Both subscriptions answered before the clock starts.
        deadline = time.monotonic() + STEP_S
        while time.monotonic() < deadline:
            with open(out_path) as f:
                if sum(1 for line in f if '"reply":"subscribe"' in line.replace(" ", "")) >= 2:
                    break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        big_payload = bytes(i & 0xFF for i in range(BIG_BYTES))
        small_payload = bytes(SMALL_BYTES)
        refused = {SMALL: 0, BIG: 0}
        t0 = time.monotonic()
        ticks = int(seconds * SMALL_HZ)
        per_big = SMALL_HZ // BIG_HZ
        for i in range(ticks):
            delay = t0 + i / SMALL_HZ - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            pushes = [(BIG, big, big_payload)] if i % per_big == per_big // 2 else []
            for name, track, payload in pushes + [(SMALL, small, small_payload)]:
                try:
                    track.try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=time.time_ns() // 1000))
                except rtc.PushFrameError:
                    refused[name] += 1  # the SDK's own queue was full: never sent, not timed
        await asyncio.sleep(1.0)
    finally:
        if sub.returncode is None:
            try:
                sub.stdin.write(b'{"cmd":"quit"}\n')
                await sub.stdin.drain()
                await asyncio.wait_for(sub.wait(), 10)
            except (asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
                sub.kill()
                await sub.wait()
        await asyncio.wait_for(room.disconnect(), STEP_S)
    subs = {}
    latency = {SMALL: [], BIG: []}
    with open(out_path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            m = json.loads(line)
            if m.get("reply") == "subscribe":
                subs[m.get("sub")] = SMALL if not subs else BIG
            elif m.get("event") == "timing" and m.get("sub") in subs:
                latency[subs[m["sub"]]].append((m["recv_ns"] / 1000 - m["user_timestamp"]) / 1000)
    return latency, ticks, refused


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__.split("\n\n")[1])
    trackbag = os.path.abspath(args[0])
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 20.0
    addr = os.environ.get("TB_ADDR_A")
    if not addr:
        sys.exit("run inside scripts/netns-run (TB_ADDR_A unset)")
    workdir = tempfile.mkdtemp(prefix="trackbag-large-frames-")
    server = None
    try:
        server, url = start_server(trackbag, workdir, addr)
        latency, ticks, refused = asyncio.run(run(trackbag, workdir, url, seconds))
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    sent = {SMALL: ticks, BIG: ticks // (SMALL_HZ // BIG_HZ)}
    print(f"== large-frame latency: SDK publisher → trackbag serve → trackbag subscriber, {seconds:g} s ({trackbag})")
    print("  track                    pushed  refused  received    p50 ms    p99 ms    max ms   target")
    result = {"trackbag": trackbag, "seconds": seconds}
    for name, size, hz in ((SMALL, SMALL_BYTES, SMALL_HZ), (BIG, BIG_BYTES, BIG_HZ)):
        v = latency[name]
        p50, p99, mx = percentile(v, 0.5), percentile(v, 0.99), max(v) if v else None
        target = f"p99 ≤ {BIG_P99_TARGET_MS} ms: {'meets' if p99 is not None and p99 <= BIG_P99_TARGET_MS else 'MISSES'}" if name == BIG else ""
        fmt = lambda x: "—" if x is None else f"{x:.2f}"
        print(f"  {IDENTITY}/{name} {hz} Hz × {size} B".ljust(26) + f"{sent[name]:>6} {refused[name]:>8} {len(v):>9} {fmt(p50):>9} {fmt(p99):>9} {fmt(mx):>9}   {target}")
        result[name] = {"pushed": sent[name], "refused_by_sdk": refused[name], "received": len(v), "p50_ms": p50, "p99_ms": p99, "max_ms": mx}
    if "--json" in args:
        print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # the SDK's native runtime can abort while the interpreter finalizes


if __name__ == "__main__":
    main()

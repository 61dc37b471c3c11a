"""Large-frame latency benchmark: how long a 40,000-byte frame takes from an SDK publisher
through `trackbag serve` to a trackbag subscriber, beside a 1 kHz stream of small frames on the
same connection. Run INSIDE scripts/netns-run by the pinned venv's python (LiveKit's SDK ignores
loopback); `scripts/bench-live-record.sh --large-frames` runs it. Figures are printed, never
asserted.

usage: large_frame_latency.py TRACKBAG [--seconds S] [--json]

An SDK publisher (livekit 1.2.1, this process) publishes `robot/imu` (1 kHz × 48 B) and
`robot/big` (10 Hz × 40,000 B: 3 data-track packets); then trackbag's own publisher
(`room-peer`) pushes the same two streams on one connection, so what the SDK's sender adds can
be told from what our server and subscriber add. A Swift subscriber
(`trackbag-testpeer room-peer`, our RoomClient, which `trackbag record` reads through) stamps
each frame's arrival on the wall clock. A frame's user timestamp is the wall clock (µs) when it
was pushed, so its latency is arrival − push, per track, p50/p99/max, next to the target
(40 KB frame p99 ≤ 5 ms). A frame the sender refuses (its own queue full) is counted as refused;
the packets that reached the server come from its leave line.
Every process started here is ended by its PID; the scratch folder is
removed.
"""
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

from livekit import api, rtc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "interop"))
from live_room import percentile, start_server, stop, testpeer, udp_counters  # noqa: E402

warnings.filterwarnings("ignore", message=".*HMAC key.*")

ROOM, IDENTITY = "largeframes", "robot"
SMALL, SMALL_HZ, SMALL_BYTES = "imu", 1000, 48
BIG, BIG_HZ, BIG_BYTES = "big", 10, 40_000
BIG_P99_TARGET_MS = 5.0
BIG_PACKETS = 3  # data-track packets per 40,000-byte frame
STEP_S = 30.0


def token(identity):
    grant = api.VideoGrants(room_join=True, room=ROOM, can_publish=True, can_subscribe=True, can_publish_data=True)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


async def start_subscriber(trackbag, url, out_path, publisher):
    with open(out_path, "w") as out:
        sub = await asyncio.create_subprocess_exec(
            testpeer(trackbag), "room-peer", "--url", url, "--token", token("subscriber-" + publisher),
            stdin=asyncio.subprocess.PIPE, stdout=out, stderr=asyncio.subprocess.DEVNULL)
    return sub


async def subscribe_both(sub, out_path, publisher):
    for name in (SMALL, BIG):
        sub.stdin.write((json.dumps({"cmd": "subscribe", "identity": publisher, "track": name, "buffer": 8192,
                                     "timeout": int(STEP_S), "timing_only": True}) + "\n").encode())
    await sub.stdin.drain()
    # Both subscriptions answered before the clock starts.
    await replies_in(out_path, "subscribe", 2)
    await asyncio.sleep(1.0)


async def replies_in(path, command, count):
    """Waits (up to STEP_S) until a peer's output file holds `count` replies to `command`."""
    deadline = time.monotonic() + STEP_S
    while time.monotonic() < deadline:
        with open(path) as f:
            if sum(1 for line in f if f'"reply":"{command}"' in line.replace(" ", "")) >= count:
                return
        await asyncio.sleep(0.1)


async def quit_peer(proc):
    if proc.returncode is None:
        try:
            proc.stdin.write(b'{"cmd":"quit"}\n')
            await proc.stdin.drain()
            await asyncio.wait_for(proc.wait(), 10)
        except (asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
            proc.kill()
            await proc.wait()


def latencies(out_path, unit_per_ms):
    """Per track, arrival − push in ms; `unit_per_ms`: user-timestamp units per ms."""
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
                latency[subs[m["sub"]]].append(m["recv_ns"] / 1e6 - m["user_timestamp"] / unit_per_ms)
    return latency


async def run_sdk(trackbag, workdir, url, seconds):
    """The SDK robot: user timestamps in µs at push."""
    out_path = os.path.join(workdir, "subscriber-sdk.jsonl")
    sub = await start_subscriber(trackbag, url, out_path, IDENTITY)
    room = rtc.Room()
    try:
        await asyncio.wait_for(room.connect(url, token(IDENTITY)), STEP_S)
        small = await asyncio.wait_for(room.local_participant.publish_data_track(name=SMALL), STEP_S)
        big = await asyncio.wait_for(room.local_participant.publish_data_track(name=BIG), STEP_S)
        await subscribe_both(sub, out_path, IDENTITY)
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
        await quit_peer(sub)
        await asyncio.wait_for(room.disconnect(), STEP_S)
    return latencies(out_path, 1_000), ticks, refused


async def run_swift(trackbag, workdir, url, seconds):
    """trackbag's own publisher (RoomClient, `room-peer`), the same two streams on one
    connection: user timestamps in ns at push. Without the SDK's sender in the path, what is
    left is our server and subscriber."""
    identity = "swiftrobot"
    out_path = os.path.join(workdir, "subscriber-swift.jsonl")
    pub_out = os.path.join(workdir, "publisher-swift.jsonl")
    sub = await start_subscriber(trackbag, url, out_path, identity)
    with open(pub_out, "w") as out:
        pub = await asyncio.create_subprocess_exec(
            testpeer(trackbag), "room-peer", "--url", url, "--token", token(identity),
            stdin=asyncio.subprocess.PIPE, stdout=out, stderr=asyncio.subprocess.DEVNULL)
    ticks = int(seconds * SMALL_HZ)
    refused = {SMALL: 0, BIG: 0}
    try:
        for name in (SMALL, BIG):
            pub.stdin.write((json.dumps({"cmd": "publish", "track": name}) + "\n").encode())
        await pub.stdin.drain()
        await replies_in(pub_out, "publish", 2)
        await subscribe_both(sub, out_path, identity)
        for name, hz, size in ((SMALL, SMALL_HZ, SMALL_BYTES), (BIG, BIG_HZ, BIG_BYTES)):
            pub.stdin.write((json.dumps({"cmd": "stream", "track": name, "rate": hz, "size": size, "fill": "random",
                                         "count": int(seconds * hz), "background": True, "tag": name}) + "\n").encode())
        await pub.stdin.drain()
        deadline = time.monotonic() + seconds + STEP_S
        replies = {}
        while time.monotonic() < deadline and len(replies) < 2:
            with open(pub_out) as f:
                for line in f:
                    if line.startswith("{") and '"stream"' in line:
                        m = json.loads(line)
                        if m.get("reply") == "stream":
                            replies[m.get("tag")] = m
            await asyncio.sleep(0.2)
        for name, m in replies.items():
            refused[name] = m.get("dropped", 0)
        await asyncio.sleep(1.0)
    finally:
        await quit_peer(pub)
        await quit_peer(sub)
    return latencies(out_path, 1e6), ticks, refused


def packets_reached_server(workdir, identity):
    """What `serve` says the publisher's connection delivered (its leave line): packets, and
    the gaps in the SCTP sequence it waited out (a packet lost on the link leaves one; a frame
    the sender dropped before its SCTP layer does not). (None, None) if it did not say."""
    try:
        with open(os.path.join(workdir, "server.log")) as f:
            for line in f:
                m = re.search(rf"serve: {re.escape(identity)} left: published (\d+) packets", line)
                if m:
                    gaps = re.search(r"\((\d+) gaps waited out\)", line)
                    return int(m.group(1)), int(gaps.group(1)) if gaps else None
    except OSError:
        pass
    return None, None


def report(title, latency, ticks, refused, server_view, rcvbuf_drops, seconds, result, key):
    reached, gaps = server_view
    sent = {SMALL: ticks, BIG: ticks // (SMALL_HZ // BIG_HZ)}
    expected_packets = sent[SMALL] - refused[SMALL] + (sent[BIG] - refused[BIG]) * BIG_PACKETS
    print(f"== {title}, {seconds:g} s")
    print("  track                    pushed  refused  received    p50 ms    p99 ms    max ms   target")
    entry = {"packets_reached_server": reached, "packets_accepted": expected_packets, "udp_rcvbuf_errors": rcvbuf_drops,
             "sctp_gaps_at_server": gaps}
    for name, size, hz in ((SMALL, SMALL_BYTES, SMALL_HZ), (BIG, BIG_BYTES, BIG_HZ)):
        v = latency[name]
        p50, p99, mx = percentile(v, 0.5), percentile(v, 0.99), max(v) if v else None
        target = f"p99 ≤ {BIG_P99_TARGET_MS} ms: {'meets' if p99 is not None and p99 <= BIG_P99_TARGET_MS else 'MISSES'}" if name == BIG else ""
        fmt = lambda x: "—" if x is None else f"{x:.2f}"
        print(f"  {name} {hz} Hz × {size} B".ljust(26) + f"{sent[name]:>6} {refused[name]:>8} {len(v):>9} {fmt(p50):>9} {fmt(p99):>9} {fmt(mx):>9}   {target}")
        entry[name] = {"pushed": sent[name], "refused_by_sender": refused[name], "received": len(v), "p50_ms": p50, "p99_ms": p99, "max_ms": mx}
    print(f"  packets the sender accepted {expected_packets}, reached the server {'—' if reached is None else reached};"
          f" the kernel dropped {rcvbuf_drops} datagrams for a full receive buffer in the namespace (any socket);"
          f" the server waited out {'—' if gaps is None else gaps} gaps in the sender's SCTP sequence (link loss)."
          f" A difference with no drops and no gaps never left the sender.")
    result[key] = entry


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
    result = {"trackbag": trackbag, "seconds": seconds}
    try:
        server, url = start_server(trackbag, workdir, addr)
        udp0 = udp_counters()
        sdk = asyncio.run(run_sdk(trackbag, workdir, url, seconds))
        udp1 = udp_counters()
        swift = asyncio.run(run_swift(trackbag, workdir, url, seconds))
        udp2 = udp_counters()
        stop(server)
        server = None
        report("large-frame latency: SDK publisher → trackbag serve → trackbag subscriber", *sdk,
               packets_reached_server(workdir, IDENTITY), udp1["RcvbufErrors"] - udp0["RcvbufErrors"],
               seconds, result, "sdk_publisher")
        report("the same from trackbag's own publisher (RoomClient) → serve → trackbag subscriber", *swift,
               packets_reached_server(workdir, "swiftrobot"), udp2["RcvbufErrors"] - udp1["RcvbufErrors"],
               seconds, result, "trackbag_publisher")
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    if "--json" in args:
        print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # the SDK's native runtime can abort while the interpreter finalizes


if __name__ == "__main__":
    main()

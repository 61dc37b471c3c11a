"""Live room scenarios for the Swift room client, run INSIDE a network namespace
made by scripts/netns-run: our server (`trackbag serve`), Swift peers (`trackbag-testpeer room-peer`)
and LiveKit's official SDK (livekit==1.2.1, in this process). Prints one JSON result line.

usage: room_client_driver.py TRACKBAG SCENARIO [--dual-pc]
"""
import asyncio
import base64
import json
import os
import random
import signal
import sys
import time

from livekit import api, rtc

from live_room import pipe, proc_stats, push_latency_stream, testpeer

ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
PORT = 7880
URL = f"ws://{ADDR}:{PORT}"
PROBE = b"tb-probe"
SIZES = [1, 2, 100, 1000, 15975, 15976, 15977, 16000, 40000, 65536, 100000]


def token(identity, room="live", publish_data=True):
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                             can_publish_data=publish_data)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grants).to_jwt()


def frames(seed, sizes=SIZES):
    """Deterministic frames: every size with and without a user timestamp."""
    rng = random.Random(seed)
    out = []
    for index, size in enumerate(sizes):
        for with_ts in (True, False):
            payload = bytes(rng.getrandbits(8) for _ in range(size))
            out.append((payload, (1_700_000_000_000 + index * 7 + (1 << 40)) if with_ts else None))
    return out


class Server:
    def __init__(self, trackbag):
        self.trackbag = trackbag
        self.proc = None
        # What the server printed (`serve: …` lines: leave counts, signal loss), for failures.
        self.log = []

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            self.trackbag, "serve", "--host", ADDR, "--port", str(PORT), "--node-ip", ADDR, "--dev",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        # stderr is merged: --dev's warning may come before the listening line.
        for _ in range(5):
            line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
            if b"listening" in line or not line:
                break
            self.log.append(line.decode(errors="replace").rstrip())
        assert b"listening" in line, line
        asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self):
        proc = self.proc
        while proc and (line := await proc.stdout.readline()):
            if line.startswith(b"serve: ") and len(self.log) < 200:
                self.log.append(line.decode(errors="replace").strip())

    async def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.proc = None


class SwiftPeer:
    """trackbag-testpeer room-peer: commands on stdin, JSON lines on stdout."""

    def __init__(self, trackbag, identity, dual_pc=False, e2ee_key=None, room="live", publish_data=True):
        self.args = [testpeer(trackbag), "room-peer", "--url", URL, "--token", token(identity, room, publish_data)]
        if dual_pc:
            self.args.append("--dual-pc")
        if e2ee_key:
            self.args += ["--e2ee-key", e2ee_key]
        self.lines = asyncio.Queue()
        self.log = []

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(*self.args, stdin=asyncio.subprocess.PIPE,
                                                         stdout=asyncio.subprocess.PIPE,
                                                         stderr=asyncio.subprocess.DEVNULL, limit=1 << 24)
        asyncio.get_running_loop().create_task(self._read())
        joined = await self.wait(lambda m: m.get("event") in ("joined", "connect_failed"), 30)
        return joined

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                await self.lines.put({"event": "_eof"})
                return
            message = json.loads(line)
            self.log.append(message)
            await self.lines.put(message)

    def send(self, command):
        self.proc.stdin.write((json.dumps(command) + "\n").encode())

    async def wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"waiting on swift peer; last: {self.log[-3:]}")
            try:
                message = await asyncio.wait_for(self.lines.get(), remaining)
            except asyncio.TimeoutError:
                raise TimeoutError(f"waiting on swift peer; last: {self.log[-5:]}") from None
            if message.get("event") == "_eof":
                raise RuntimeError(f"swift peer exited; last: {self.log[-5:]}")
            if predicate(message):
                return message

    async def request(self, command, timeout=30):
        self.send(command)
        return await self.wait(lambda m: m.get("reply") == command["cmd"], timeout)

    async def push_all(self, track, items):
        for payload, ts in items:
            reply = await self.request({"cmd": "push", "track": track,
                                        "payload_b64": base64.b64encode(payload).decode(), "user_timestamp": ts})
            assert reply["ok"], reply
            # Room for big frames: the server drops what waits more than ~100 ms for a subscriber.
            await asyncio.sleep(0.02 + len(payload) / 1_000_000)

    def frames(self, sub=None):
        got = [(base64.b64decode(m["payload_b64"]), m["user_timestamp"]) for m in self.log
               if m.get("event") == "frame" and (sub is None or m["sub"] == sub)]
        return [f for f in got if f[0] != PROBE]

    def probes(self, sub):
        return sum(1 for m in self.log if m.get("event") == "frame" and m["sub"] == sub
                   and m["payload_b64"] == base64.b64encode(PROBE).decode())

    async def prime_from(self, push, subs=(0,), timeout=15):
        """Pushes probe frames (with `push`) until every subscription got one: the server has
        the subscription in place, so no real frame is pushed into a void."""
        deadline = time.monotonic() + timeout
        already = {sub: self.probes(sub) for sub in subs}
        while time.monotonic() < deadline:
            if all(self.probes(sub) > already[sub] for sub in subs):
                await asyncio.sleep(0.2)
                return True
            await push()
            await asyncio.sleep(0.05)
        return False

    async def stop(self):
        if self.proc.returncode is None:
            try:
                self.send({"cmd": "quit"})
                await asyncio.wait_for(self.proc.wait(), 10)
            except Exception:
                self.proc.kill()
                await self.proc.wait()


E2EE_KEY = "spike-shared-key"


async def sdk_connect(identity, dual_pc=False, e2ee=False):
    room = rtc.Room()
    tracks = {}
    # The SDK does not list remote data tracks on participants: only the event tells.
    room.on("data_track_published", lambda track: tracks.__setitem__((track.publisher_identity, track.info.name), track))
    room.tb_tracks = tracks
    options = rtc.RoomOptions(single_peer_connection=False) if dual_pc else rtc.RoomOptions()
    if e2ee:
        # The capture's setup: the raw bytes of the ASCII key, key index 0.
        options.encryption = rtc.E2EEOptions(key_provider_options=rtc.KeyProviderOptions(shared_key=E2EE_KEY.encode()))
    await room.connect(URL, token(identity), options)
    return room


async def sdk_wait_track(room, identity, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        track = room.tb_tracks.get((identity, name))
        if track is not None:
            return track
        await asyncio.sleep(0.05)
    raise TimeoutError(f"SDK never saw {identity}/{name}")


async def collect(stream, count, timeout, primed):
    got = []

    async def run():
        async for frame in stream:
            if bytes(frame.payload) == PROBE:
                primed.set()
                continue
            got.append((bytes(frame.payload), frame.user_timestamp))
            if len(got) >= count:
                return

    try:
        await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        pass
    return got


def compare(sent, got):
    missing = [i for i, f in enumerate(sent) if f not in got]
    return {"sent": len(sent), "received": len(got), "missing": missing,
            "exact": got == sent, "sizes_ok": sorted(len(p) for p, _ in got) == sorted(len(p) for p, _ in sent)}


async def sdk_to_swift(trackbag, dual_pc, e2ee=False):
    sdk = await sdk_connect("sdkpub", dual_pc, e2ee)
    swift = SwiftPeer(trackbag, "swiftsub", dual_pc, E2EE_KEY if e2ee else None)
    try:
        joined = await swift.start()
        track = await sdk.local_participant.publish_data_track(name="imu")
        reply = await swift.request({"cmd": "subscribe", "identity": "sdkpub", "track": "imu"})
        assert reply["ok"], reply
        reply2 = await swift.request({"cmd": "subscribe", "identity": "sdkpub", "track": "imu"})

        async def probe():
            try:
                track.try_push(rtc.DataTrackFrame(payload=PROBE))
            except Exception:
                pass

        primed = await swift.prime_from(probe, subs=(0, 1))
        sent = frames(1)
        for payload, ts in sent:
            for _ in range(200):
                try:
                    track.try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=ts))
                    break
                except Exception:
                    await asyncio.sleep(0.005)
            await asyncio.sleep(0.02 + len(payload) / 1_000_000)
        await asyncio.sleep(2.0)
        await track.unpublish()
        end = await swift.wait(lambda m: m.get("event") == "stream_end", 15)
        unpublished = await swift.wait(lambda m: m.get("event") == "track_unpublished", 15) if not any(
            m.get("event") == "track_unpublished" for m in swift.log) else True
        stats = await swift.request({"cmd": "stats"})
        return {"joined": joined, "primed": primed, "first": compare(sent, swift.frames(0)), "second": compare(sent, swift.frames(1)),
                "stats": stats,
                "published_event": next((m for m in swift.log if m.get("event") == "track_published"), None),
                "two_subscriptions": reply2.get("ok"), "stream_end": end, "unpublished_event": bool(unpublished)}
    finally:
        await swift.stop()
        await sdk.disconnect()


async def swift_to_sdk(trackbag, dual_pc, e2ee=False):
    swift = SwiftPeer(trackbag, "swiftpub", dual_pc, E2EE_KEY if e2ee else None)
    sdk = await sdk_connect("sdksub", dual_pc, e2ee)
    try:
        joined = await swift.start()
        reply = await swift.request({"cmd": "publish", "track": "imu"})
        assert reply["ok"], reply
        remote = await sdk_wait_track(sdk, "swiftpub", "imu")
        stream = remote.subscribe()
        sent = frames(2)
        primed = asyncio.Event()
        collector = asyncio.get_running_loop().create_task(collect(stream, len(sent), 40, primed))
        for _ in range(300):
            if primed.is_set():
                break
            await swift.request({"cmd": "push", "track": "imu", "payload_b64": base64.b64encode(PROBE).decode(),
                                 "user_timestamp": None})
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await swift.push_all("imu", sent)
        got = await collector
        duplicate = await swift.request({"cmd": "publish", "track": "imu"})
        stats = await swift.request({"cmd": "stats"})
        return {"joined": joined, "primed": primed.is_set(), "result": compare(sent, got), "duplicate": duplicate,
                "publisher_stats": stats, "uses_e2ee": remote.info.uses_e2ee}
    finally:
        await swift.stop()
        await sdk.disconnect()


async def swift_to_swift(trackbag, dual_pc, e2ee_key=None):
    pub = SwiftPeer(trackbag, "swiftpub", dual_pc, e2ee_key)
    sub = SwiftPeer(trackbag, "swiftsub", dual_pc, e2ee_key)
    try:
        await pub.start()
        assert (await pub.request({"cmd": "publish", "track": "imu"}))["ok"]
        # The subscriber joins after the track was published: it learns it from the join.
        await sub.start()
        assert (await sub.request({"cmd": "subscribe", "identity": "swiftpub", "track": "imu"}))["ok"]
        assert await sub.prime_from(lambda: pub.request({"cmd": "push", "track": "imu", "user_timestamp": None,
                                                         "payload_b64": base64.b64encode(PROBE).decode()}))
        sent = frames(3)
        await pub.push_all("imu", sent)
        await asyncio.sleep(2.0)
        stats = await sub.request({"cmd": "stats"})
        await pub.request({"cmd": "unpublish", "track": "imu"})
        end = await sub.wait(lambda m: m.get("event") == "stream_end", 15)
        return {"result": compare(sent, sub.frames(0)), "stats": stats, "stream_end": end,
                "single_pc": [m.get("single_pc") for m in pub.log if m.get("event") == "joined"]}
    finally:
        await pub.stop()
        await sub.stop()


async def restart(trackbag, server):
    pub = SwiftPeer(trackbag, "swiftpub")
    sub = SwiftPeer(trackbag, "swiftsub")
    try:
        await pub.start()
        await sub.start()
        assert (await pub.request({"cmd": "publish", "track": "imu"}))["ok"]
        assert (await sub.request({"cmd": "subscribe", "identity": "swiftpub", "track": "imu"}))["ok"]
        assert await sub.prime_from(lambda: pub.request({"cmd": "push", "track": "imu", "user_timestamp": None,
                                                         "payload_b64": base64.b64encode(PROBE).decode()}))
        before = frames(4, [10, 20000])
        await pub.push_all("imu", before)
        await asyncio.sleep(1.0)
        got_before = sub.frames(0)
        await server.stop()
        await pub.wait(lambda m: m.get("event") == "reconnecting", 30)
        await sub.wait(lambda m: m.get("event") == "reconnecting", 30)
        await asyncio.sleep(0.5)
        await server.start()
        await pub.wait(lambda m: m.get("event") == "reconnected", 40)
        await sub.wait(lambda m: m.get("event") == "reconnected", 40)
        assert await sub.prime_from(lambda: pub.request({"cmd": "push", "track": "imu", "user_timestamp": None,
                                                         "payload_b64": base64.b64encode(PROBE).decode()}), timeout=30)
        after = frames(5, [30, 50000])
        start = len(sub.frames(0))
        await pub.push_all("imu", after)
        await asyncio.sleep(2.0)
        got_after = sub.frames(0)[start:]
        return {"before": compare(before, got_before), "after": compare(after, got_after),
                "pub_events": [m["event"] for m in pub.log if "event" in m and m["event"] != "frame"],
                "sub_events": [m["event"] for m in sub.log if "event" in m and m["event"] != "frame"]}
    finally:
        await pub.stop()
        await sub.stop()


async def recorder_restart(trackbag, server):
    """`trackbag record` across a server restart (the room source's own reconnects):
    the recorder re-joins and re-subscribes by itself, frames from before and after are in the
    file, and the reconnects are recorded as events."""
    import tempfile
    workdir = tempfile.mkdtemp(prefix="tb-recorder-restart-")
    out = os.path.join(workdir, "restart.tbag")
    pub = SwiftPeer(trackbag, "swiftpub")
    recorder = None
    rec_err = []

    async def read_err(stream):
        while line := await stream.readline():
            rec_err.append(line.decode(errors="replace").rstrip())

    async def wait_err(needle, count, timeout):
        deadline = time.monotonic() + timeout
        while sum(needle in l for l in rec_err) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"recorder never said {needle!r} {count}×; last: {rec_err[-5:]}")
            await asyncio.sleep(0.05)

    try:
        await pub.start()
        assert (await pub.request({"cmd": "publish", "track": "imu"}))["ok"]
        recorder = await asyncio.create_subprocess_exec(
            trackbag, "record", "--url", URL, "--room", "live", "--out", out,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        err_task = asyncio.get_running_loop().create_task(read_err(recorder.stderr))
        await wait_err("recording swiftpub/imu", 1, 30)
        await asyncio.sleep(0.5)
        before = frames(6, [10, 1000, 20000])
        await pub.push_all("imu", before)
        await asyncio.sleep(0.5)
        await server.stop()
        await wait_err("reconnecting", 1, 30)
        await asyncio.sleep(0.5)
        await server.start()
        await wait_err("reconnected", 1, 40)
        await pub.wait(lambda m: m.get("event") == "reconnected", 40)
        # The subscription waits across the publisher's re-join; give the new handles a moment.
        await asyncio.sleep(1.5)
        after = frames(7, [10, 1000, 20000])
        await pub.push_all("imu", after)
        await asyncio.sleep(1.0)
        recorder.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(recorder.wait(), 30)
        stdout = (await recorder.stdout.read()).decode(errors="replace")
        await asyncio.wait_for(err_task, 10)
        exported = os.path.join(workdir, "restart.jsonl")
        proc = await asyncio.create_subprocess_exec(trackbag, "export", out, "--format", "jsonl", "--out", exported,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.wait_for(proc.wait(), 60)
        with open(exported) as f:
            rows = [json.loads(line) for line in f]
        got = [(base64.b64decode(r["payload_b64"]), r["user_timestamp"]) for r in rows]
        got = [g for g in got if g[0] != PROBE]
        proc = await asyncio.create_subprocess_exec(trackbag, "info", out, "--json", stdout=asyncio.subprocess.PIPE)
        info = json.loads((await asyncio.wait_for(proc.communicate(), 60))[0])
        return {"record_exit": status, "record_stdout": stdout.splitlines()[-6:], "before": compare(before, got),
                "after": compare(after, got), "recorded": len(got), "events": info.get("events"),
                "notices": [l for l in rec_err if "reconnect" in l]}
    finally:
        if recorder and recorder.returncode is None:
            recorder.kill()
            await recorder.wait()
        await pub.stop()
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)


async def start_v1_refusing_proxy(port, refuse_v1=True, open_writers=None):
    """A TCP proxy in front of the server that answers every `/rtc/v1…` request with HTTP 404,
    as a LiveKit server older than the single peer connection path does (or, without
    `refuse_v1`, passes everything and lets the test cut connections in `open_writers`)."""
    seen = []

    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b" ", 2)[1].decode()
        seen.append(target.split("?")[0])
        if refuse_v1 and target.startswith("/rtc/v1"):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(ADDR, PORT)
        up_writer.write(head)
        if open_writers is not None:
            open_writers.extend([writer, up_writer])

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, ADDR, port)
    return server, seen


async def fallback(trackbag):
    """/rtc/v1 refused with 404: the Swift client falls back to /rtc and frames flow."""
    proxy, seen = await start_v1_refusing_proxy(PORT + 1)
    pub = SwiftPeer(trackbag, "swiftpub")
    sub = SwiftPeer(trackbag, "swiftsub")
    for peer in (pub, sub):
        peer.args[peer.args.index("--url") + 1] = f"ws://{ADDR}:{PORT + 1}"
    try:
        joined = await pub.start()
        await sub.start()
        assert (await pub.request({"cmd": "publish", "track": "imu"}))["ok"]
        assert (await sub.request({"cmd": "subscribe", "identity": "swiftpub", "track": "imu"}))["ok"]
        assert await sub.prime_from(lambda: pub.request({"cmd": "push", "track": "imu", "user_timestamp": None,
                                                         "payload_b64": base64.b64encode(PROBE).decode()}))
        sent = frames(6, [1, 100000])
        await pub.push_all("imu", sent)
        await asyncio.sleep(1.5)
        return {"joined": joined, "paths": seen, "result": compare(sent, sub.frames(0))}
    finally:
        await pub.stop()
        await sub.stop()
        proxy.close()


async def signal_drop(trackbag):
    """The publisher's signal connection is cut while the server stays up: it re-joins (the
    server replaces its old session), re-publishes with the same handle, and the subscriber,
    which never lost anything, gets frames again."""
    writers = []
    proxy, seen = await start_v1_refusing_proxy(PORT + 1, refuse_v1=False, open_writers=writers)
    pub = SwiftPeer(trackbag, "swiftpub")
    pub.args[pub.args.index("--url") + 1] = f"ws://{ADDR}:{PORT + 1}"
    sub = SwiftPeer(trackbag, "swiftsub")
    try:
        await pub.start()
        await sub.start()
        first = await pub.request({"cmd": "publish", "track": "imu"})
        assert (await sub.request({"cmd": "subscribe", "identity": "swiftpub", "track": "imu"}))["ok"]
        assert await sub.prime_from(lambda: pub.request({"cmd": "push", "track": "imu", "user_timestamp": None,
                                                         "payload_b64": base64.b64encode(PROBE).decode()}))
        before = frames(7, [10, 30000])
        await pub.push_all("imu", before)
        await asyncio.sleep(1.0)
        got_before = sub.frames(0)
        for writer in writers:
            writer.transport.abort()
        writers.clear()
        await pub.wait(lambda m: m.get("event") == "reconnecting", 30)
        await pub.wait(lambda m: m.get("event") == "reconnected", 40)
        republished = await sub.wait(lambda m: m.get("event") == "track_published", 30)
        stream_survived = not any(m.get("event") == "stream_end" for m in sub.log)
        reader = 0
        if not stream_survived:
            # The server reported the publisher as gone for good: subscribe again.
            reader = (await sub.request({"cmd": "subscribe", "identity": "swiftpub", "track": "imu"}))["sub"]
        assert await sub.prime_from(lambda: pub.request({"cmd": "push", "track": "imu", "user_timestamp": None,
                                                         "payload_b64": base64.b64encode(PROBE).decode()}),
                                    subs=(reader,), timeout=30)
        after = frames(8, [20, 60000])
        start = len(sub.frames(reader))
        await pub.push_all("imu", after)
        await asyncio.sleep(1.5)
        return {"before": compare(before, got_before), "after": compare(after, sub.frames(reader)[start:]),
                "stream_survived": stream_survived,
                "handle_before": first["handle"], "republished": republished,
                "sub_events": [m["event"] for m in sub.log if "event" in m and m["event"] != "frame"]}
    finally:
        await pub.stop()
        await sub.stop()
        proxy.close()


def percentiles(values):
    if not values:
        return None
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return {"p50_ms": round(pick(0.50) / 1e6, 3), "p99_ms": round(pick(0.99) / 1e6, 3),
            "max_ms": round(values[-1] / 1e6, 3), "n": len(values)}


async def bench(trackbag, rate, size, seconds, e2ee=False):
    """Swift publisher → server → Swift subscriber and SDK subscriber side by side; latency
    from user timestamps (same host clock). With `e2ee` every peer holds the shared key, so the
    figures beside the plain run's are the end-to-end cost of E2EE. Printed, never asserted."""
    key = E2EE_KEY if e2ee else None
    pub = SwiftPeer(trackbag, "benchpub", e2ee_key=key)
    sub = SwiftPeer(trackbag, "benchsub", e2ee_key=key)
    sdk = await sdk_connect("sdkbench", e2ee=e2ee)
    try:
        await pub.start()
        await sub.start()
        assert (await pub.request({"cmd": "publish", "track": "bench"}))["ok"]
        assert (await sub.request({"cmd": "subscribe", "identity": "benchpub", "track": "bench",
                                   "timing_only": True, "buffer": 256}))["ok"]
        remote = await sdk_wait_track(sdk, "benchpub", "bench")
        stream = remote.subscribe(buffer_size=256)
        sdk_lat = []

        async def sdk_read():
            async for frame in stream:
                sdk_lat.append(time.time_ns() - frame.user_timestamp)

        reader = asyncio.get_running_loop().create_task(sdk_read())
        await asyncio.sleep(1.5)
        count = rate * seconds
        pushed = await pub.request({"cmd": "stream", "track": "bench", "rate": rate, "size": size, "count": count},
                                   timeout=seconds + 30)
        await asyncio.sleep(1.5)
        reader.cancel()
        swift_lat = [m["recv_ns"] - m["user_timestamp"] for m in sub.log if m.get("event") == "timing"]
        return {"rate_hz": rate, "size": size, "e2ee": e2ee, "pushed": pushed,
                "swift_subscriber": {"received": len(swift_lat), "lost": pushed["sent"] - len(swift_lat),
                                     **(percentiles(swift_lat) or {})},
                "sdk_subscriber": {"received": len(sdk_lat), "lost": pushed["sent"] - len(sdk_lat),
                                   **(percentiles(sdk_lat) or {})}}
    finally:
        await pub.stop()
        await sub.stop()
        await sdk.disconnect()


async def bench_fanout(trackbag, server, subscribers, rate, size, seconds):
    """The issue's benchmark with Swift subscriber processes: one SDK publisher → server → N
    Swift subscribers (room-peer) and one SDK subscriber beside them. Printed, never asserted."""
    sdk_pub = await sdk_connect("fanpub")
    sdk_sub = await sdk_connect("fansdk")
    peers = [SwiftPeer(trackbag, f"fan{i}") for i in range(subscribers)]
    try:
        local = await sdk_pub.local_participant.publish_data_track(name="bench")
        for peer in peers:
            await peer.start()
            assert (await peer.request({"cmd": "subscribe", "identity": "fanpub", "track": "bench",
                                        "timing_only": True, "buffer": 256}))["ok"]
        remote = await sdk_wait_track(sdk_sub, "fanpub", "bench")
        stream = remote.subscribe(buffer_size=256)
        sdk_lat = []

        async def sdk_read():
            async for frame in stream:
                if frame.user_timestamp:
                    sdk_lat.append(time.time_ns() - frame.user_timestamp)

        reader = asyncio.get_running_loop().create_task(sdk_read())
        await asyncio.sleep(2.0)
        for peer in peers:
            peer.log = [m for m in peer.log if m.get("event") != "timing"]
        sdk_lat.clear()
        cpu0, _ = proc_stats(server.proc.pid)
        wall0 = time.monotonic()
        total = rate * seconds
        failures, achieved = await push_latency_stream(local, rate, total, size)
        await asyncio.sleep(1.5)
        cpu1, rss = proc_stats(server.proc.pid)
        wall1 = time.monotonic()
        reader.cancel()
        sent = total - failures
        swift = []
        for peer in peers:
            lat = [m["recv_ns"] - m["user_timestamp"] for m in peer.log if m.get("event") == "timing"]
            swift.append({"received": len(lat), **(percentiles(lat) or {})})
        return {"subscribers": subscribers, "rate_hz": rate, "size": size, "pushed": total, "push_failures": failures,
                "achieved_rate_hz": round(achieved, 1),
                "swift_lost_total": sum(sent - s["received"] for s in swift),
                "swift_p50_ms_median": sorted(s.get("p50_ms", 0) for s in swift)[len(swift) // 2],
                "swift_p99_ms_worst": max(s.get("p99_ms", 0) for s in swift),
                "sdk_subscriber": {"received": len(sdk_lat), "lost": sent - len(sdk_lat), **(percentiles(sdk_lat) or {})},
                "server_cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1), "server_rss_kib": rss}
    finally:
        for peer in peers:
            await peer.stop()
        await sdk_pub.disconnect()
        await sdk_sub.disconnect()


async def rpc(trackbag, dual_pc):
    """LiveKit RPC both ways between the SDK and the Swift client, through our server: results,
    every error the callee or the caller's timers produce, and who saw which request (a Swift
    bystander registers the same methods: any request reaching it would be acknowledged and
    reported, so addressing by `destination_identities` is checked by what it did not see)."""
    sdk = await sdk_connect("sdk", dual_pc)
    leaver = await sdk_connect("leaver", dual_pc)
    swift = SwiftPeer(trackbag, "swift", dual_pc)
    carol = SwiftPeer(trackbag, "carol", dual_pc)
    sdk_seen = []

    @sdk.local_participant.register_rpc_method("echo")
    async def echo(data):
        sdk_seen.append([data.caller_identity, data.method, data.payload, data.response_timeout])
        return f"{data.caller_identity}:{data.payload[::-1]}"

    @sdk.local_participant.register_rpc_method("fail")
    async def fail(data):
        raise rtc.RpcError(2001, "refused on purpose", "detail")

    @sdk.local_participant.register_rpc_method("slow")
    async def slow(data):
        await asyncio.sleep(3)
        return "slept"

    @leaver.local_participant.register_rpc_method("slow")
    async def leaver_slow(data):
        await asyncio.sleep(5)
        return "slept"

    async def sdk_call(method, payload="hello", **kw):
        started = time.monotonic()
        try:
            value = await asyncio.wait_for(sdk.local_participant.perform_rpc(
                destination_identity="swift", method=method, payload=payload, **kw), 20)
            out = {"ok": True, "payload": value}
        except rtc.RpcError as error:
            out = {"ok": False, "error": [error.code, error.message, error.data]}
        out["ms"] = round((time.monotonic() - started) * 1000, 2)
        return out

    try:
        joined = await swift.start()
        await carol.start()
        for peer in (swift, carol):
            for method, mode in (("echo", "echo"), ("fail", "fail"), ("big", "big")):
                await peer.request({"cmd": "register", "method": method, "mode": mode})
        await asyncio.sleep(1.0)
        result = {"joined": joined, "sdk_to_swift": {}, "swift_to_sdk": {}}
        # SDK → Swift.
        for label, method, payload in (("echo", "echo", "hello"), ("fail", "fail", "x"), ("missing", "nope", "x"),
                                       ("big", "big", "x")):
            result["sdk_to_swift"][label] = await sdk_call(method, payload)
        result["sdk_to_swift"]["unicode"] = await sdk_call("echo", "grüße €")
        # Swift → SDK.
        calls = [("echo", {"method": "echo", "payload": "hello"}),
                 ("fail", {"method": "fail"}),
                 ("missing", {"method": "nope"}),
                 ("timeout", {"method": "slow", "timeout_ms": 1000}),
                 ("too_large", {"method": "echo", "payload_size": 15 * 1024 + 1}),
                 ("at_limit", {"method": "echo", "payload_size": 15 * 1024 - 10}),
                 ("nobody", {"method": "echo", "destination": "nobody", "max_round_trip_ms": 1000})]
        for tag, call in calls:
            command = {"cmd": "rpc", "destination": "sdk", "tag": tag, **call}
            swift.send(command)
            reply = await swift.wait(lambda m, tag=tag: m.get("reply") == "rpc" and m.get("tag") == tag, 20)
            if tag == "at_limit" and reply.get("ok"):
                reply["payload"] = f"{len(reply['payload'])} chars"
            result["swift_to_sdk"][tag] = reply
        # The callee leaves while its handler runs.
        swift.send({"cmd": "rpc", "destination": "leaver", "method": "slow", "tag": "left", "timeout_ms": 10000})
        await asyncio.sleep(1.0)
        await leaver.disconnect()
        result["swift_to_sdk"]["left"] = await swift.wait(lambda m: m.get("reply") == "rpc" and m.get("tag") == "left", 20)
        # Round-trip latency, 20 calls each way.
        sdk_ms = [(await sdk_call("echo", "t"))["ms"] for _ in range(20)]
        swift_ms = []
        for i in range(20):
            swift.send({"cmd": "rpc", "destination": "sdk", "method": "echo", "payload": "t", "tag": f"lat{i}"})
            reply = await swift.wait(lambda m, i=i: m.get("reply") == "rpc" and m.get("tag") == f"lat{i}", 20)
            swift_ms.append(reply["ms"])
        result["latency_ms"] = {"sdk_to_swift": {"p50": sorted(sdk_ms)[10], "max": max(sdk_ms)},
                                "swift_to_sdk": {"p50": sorted(swift_ms)[10], "max": max(swift_ms)}}
        result["swift_invoked"] = [[m["caller"], m["method"], m["payload"], m["response_timeout_ms"]]
                                   for m in swift.log if m.get("event") == "invoked"]
        result["carol_invoked"] = [m for m in carol.log if m.get("event") == "invoked"]
        result["sdk_seen"] = sdk_seen
        result["swift_stats"] = await swift.request({"cmd": "stats"})
        result["carol_stats"] = await carol.request({"cmd": "stats"})
        return result
    finally:
        await swift.stop()
        await carol.stop()
        await sdk.disconnect()
        try:
            await leaver.disconnect()
        except Exception:
            pass


async def rejections(trackbag):
    nodata = SwiftPeer(trackbag, "nodata", publish_data=False)
    bad = SwiftPeer(trackbag, "bad")
    bad.args[bad.args.index("--token") + 1] = token("bad")[:-4] + "AAAA"
    try:
        await nodata.start()
        denied = await nodata.request({"cmd": "publish", "track": "imu"})
        refused = await bad.start()
        return {"no_publish_data": denied, "bad_token": refused}
    finally:
        await nodata.stop()
        await bad.stop()


async def main():
    trackbag, scenario = sys.argv[1], sys.argv[2]
    dual_pc = "--dual-pc" in sys.argv
    server = Server(trackbag)
    await server.start()
    try:
        if scenario == "sdk_to_swift":
            result = await sdk_to_swift(trackbag, dual_pc)
        elif scenario == "swift_to_sdk":
            result = await swift_to_sdk(trackbag, dual_pc)
        elif scenario == "sdk_to_swift_e2ee":
            result = await sdk_to_swift(trackbag, dual_pc, e2ee=True)
        elif scenario == "swift_to_sdk_e2ee":
            result = await swift_to_sdk(trackbag, dual_pc, e2ee=True)
        elif scenario == "swift_to_swift":
            result = await swift_to_swift(trackbag, dual_pc)
        elif scenario == "swift_to_swift_e2ee":
            result = await swift_to_swift(trackbag, dual_pc, e2ee_key="spike-shared-key")
        elif scenario == "restart":
            result = await restart(trackbag, server)
        elif scenario == "recorder_restart":
            result = await recorder_restart(trackbag, server)
        elif scenario == "fallback":
            result = await fallback(trackbag)
        elif scenario == "signal_drop":
            result = await signal_drop(trackbag)
            result["server_log"] = [l for l in server.log if "signal closed" in l or "resume attempt" in l]
        elif scenario == "bench":
            result = [await bench(trackbag, rate, size, 5, e2ee)
                      for rate, size in ((1000, 256), (200, 16000)) for e2ee in (False, True)]
        elif scenario == "bench_fanout":
            count = int(sys.argv[3])
            result = [await bench_fanout(trackbag, server, count, 1000, 256, 5),
                      await bench_fanout(trackbag, server, count, 200, 16000, 5)]
        elif scenario == "rpc":
            result = await rpc(trackbag, dual_pc)
        elif scenario == "rejections":
            result = await rejections(trackbag)
        else:
            raise SystemExit(f"unknown scenario {scenario}")
    finally:
        await server.stop()
    leave_lines = [l for l in server.log if " left: " in l]
    if isinstance(result, dict) and "server_log" not in result:
        result["server_log"] = leave_lines[-8:]
    elif isinstance(result, list):
        # The server's own counts (packets each participant published, sent to each subscriber).
        result.append({"server_log": leave_lines[-60:]})
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    from live_room import run_then_exit
    run_then_exit(asyncio.wait_for(main(), 170))

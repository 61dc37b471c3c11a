"""Drives LiveKit's official Python SDK (livekit 1.2.1) against `trackbag serve`.

Run inside `scripts/netns-run` (libwebrtc gathers no loopback candidates):
    room_sdk_peer.py TRACKBAG SCENARIO [--dual]
Starts the server on $TB_ADDR_A with --port 0, runs one scenario with SDK participants in this
process, stops the server (by PID) and prints one JSON line with what was observed. The test
file makes the judgements; this only records.
"""
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from livekit import api, rtc

from live_room import SDKDropCounter, pipe, proc_stats, push_latency_stream, udp_counters, udp_socket_drops

SDK_DROPS = SDKDropCounter.install()
# Receive-buffer drops per socket (`live_room.udp_socket_drops`), "sdk|server address": count.
SOCKET_DROPS = {}

TRACKBAG = sys.argv[1]
SCENARIO = sys.argv[2]
DUAL = "--dual" in sys.argv
ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
KEY, SECRET = "devkey", "secret"
STEP = 20.0  # seconds: bound on every single wait

# Frame sizes 1 byte … 100,000 bytes across the 16,000-byte packet limit (docs/WIRE.md).
SIZES = [1, 2, 12, 255, 1000, 15_976, 15_977, 16_000, 16_001, 31_999, 40_000, 65_536, 99_999, 100_000]


def token(identity, room, **grants):
    grant = api.VideoGrants(room_join=True, room=room, **grants)
    return api.AccessToken(KEY, SECRET).with_identity(identity).with_grants(grant).to_jwt()


def payload(index, size):
    # Deterministic, distinct per frame, covers all byte values.
    seed = hashlib.sha256(f"{index}:{size}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def frames_to_push():
    frames = []
    for index, size in enumerate(SIZES):
        frames.append((payload(2 * index, size), None))
        frames.append((payload(2 * index + 1, size), 1_700_000_000_000_000 + index * 1_000_003))
    return frames


class Server:
    def __init__(self):
        self.proc = None
        self.url = None

    def start(self):
        self.proc = subprocess.Popen(
            [TRACKBAG, "serve", "--host", ADDR, "--port", "0", "--rtc-port", "0", "--node-ip", ADDR, "--dev"],
            stdout=subprocess.PIPE, stderr=open(os.environ.get("TB_SERVER_LOG", os.devnull), "w"), text=True)
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if "listening on" in line:
                self.url = line.strip().split("listening on ")[1]
                return self.url
        raise RuntimeError("server did not report its URL")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                return "killed"
        return self.proc.returncode if self.proc else None


def options():
    return rtc.RoomOptions(auto_subscribe=True, single_peer_connection=not DUAL)


class Participant:
    """One SDK room with its data-track events recorded."""

    def __init__(self, identity):
        self.identity = identity
        self.room = rtc.Room()
        self.published = asyncio.Queue()
        self.unpublished = asyncio.Queue()
        self.room.on("data_track_published", lambda track: self.published.put_nowait(track))
        self.room.on("data_track_unpublished", lambda sid: self.unpublished.put_nowait(sid))

    async def connect(self, url, room_name, **grants):
        await asyncio.wait_for(self.room.connect(url, token(self.identity, room_name, **grants), options()), STEP)
        return self

    async def track_named(self, name):
        while True:
            track = await asyncio.wait_for(self.published.get(), STEP)
            if track.info.name == name:
                return track

    async def close(self):
        # The sockets' drop counts go with them: note them first (the sum over this process's
        # sockets and the server's, the largest seen, since participants close one by one).
        for who, pid in (("sdk", os.getpid()), ("server", SERVER_PID[0])):
            for address, drops in udp_socket_drops(pid).items():
                key = f"{who} {address}"
                SOCKET_DROPS[key] = max(SOCKET_DROPS.get(key, 0), drops)
        try:
            await asyncio.wait_for(self.room.disconnect(), STEP)
        except Exception:
            pass


async def collect(stream, into, stop_after=None):
    async for frame in stream:
        into.append((bytes(frame.payload), frame.user_timestamp))
        if stop_after is not None and len(into) >= stop_after:
            return "count"
    return "ended"


async def prime(local, received, tag=b"probe"):
    """Pushes probe frames until the subscriber got one: the subscription is then in place.
    Returns how many probes the SDK accepted (each is one packet), 0 if none arrived."""
    pushed = 0
    for _ in range(200):
        try:
            local.try_push(rtc.DataTrackFrame(payload=tag))
            pushed += 1
        except Exception:
            pass
        await asyncio.sleep(0.05)
        if any(p == tag for p, _ in received):
            return pushed
    return 0


async def push_all(local, frames):
    failures = 0
    for data, ts in frames:
        for attempt in range(50):
            try:
                local.try_push(rtc.DataTrackFrame(payload=data, user_timestamp=ts))
                break
            except Exception:
                failures += 1
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.03)
    return failures


def packets_of(size, has_timestamp):
    """Data-track packets a frame travels in: at most 16,000 bytes each, header 12 bytes, 24
    with a user timestamp (docs/WIRE.md)."""
    return max(1, -(-size // (16_000 - (24 if has_timestamp else 12))))


def compare(sent, received):
    got = [(p, t) for p, t in received if p != b"probe"]
    mismatches = []
    for i, (want, have) in enumerate(zip(sent, got)):
        if want != have:
            mismatches.append({"index": i, "want_len": len(want[0]), "have_len": len(have[0]),
                               "want_ts": want[1], "have_ts": have[1]})
    missing = [i for i, frame in enumerate(sent) if frame not in got]
    # What did arrive must be exactly what was pushed, in push order.
    order = [sent.index(frame) if frame in sent else -1 for frame in got]
    return {"sent": len(sent), "sent_packets": sum(packets_of(len(p), t is not None) for p, t in sent),
            "received": len(got), "equal": got == sent, "mismatches": mismatches[:5],
            "missing": [{"index": i, "len": len(sent[i][0]), "ts": sent[i][1]} for i in missing],
            "received_in_order_and_exact": order == sorted(order) and -1 not in order}


async def wait_count(received, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len([1 for p, _ in received if p != b"probe"]) < count:
        await asyncio.sleep(0.05)


async def scenario_roundtrip(url):
    """SDK publisher → server → SDK subscriber; then unpublish ends the stream."""
    sub = await Participant("sub1").connect(url, "room-a")
    pub = await Participant("pub1").connect(url, "room-a")
    try:
        local = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="imu"), STEP)
        remote = await sub.track_named("imu")
        received = []
        reader = asyncio.ensure_future(collect(remote.subscribe(buffer_size=64), received))
        primed = await prime(local, received)
        sent = frames_to_push()
        push_failures = await push_all(local, sent)
        await wait_count(received, len(sent), STEP)
        result = {"primed": primed, "push_failures": push_failures, **compare(sent, received),
                  "publisher_identity": remote.publisher_identity, "track_sid": remote.info.sid,
                  "local_sid": local.info.sid}
        await local.unpublish()
        try:
            result["unpublished_sid"] = await asyncio.wait_for(sub.unpublished.get(), STEP)
        except asyncio.TimeoutError:
            result["unpublished_sid"] = None
        try:
            result["stream_end"] = await asyncio.wait_for(reader, STEP)
        except asyncio.TimeoutError:
            reader.cancel()
            result["stream_end"] = "timeout"
        result["local_is_published"] = local.is_published()
        return result
    finally:
        await pub.close()
        await sub.close()


async def scenario_late(url):
    """The subscriber joins after the track was published and frames flowed."""
    pub = await Participant("pub1").connect(url, "room-late")
    try:
        local = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="late"), STEP)
        for i in range(20):
            local.try_push(rtc.DataTrackFrame(payload=b"before-%d" % i))
            await asyncio.sleep(0.01)
        sub = await Participant("sub-late").connect(url, "room-late")
        try:
            remote = await sub.track_named("late")
            received = []
            reader = asyncio.ensure_future(collect(remote.subscribe(), received))
            primed = await prime(local, received)
            sent = frames_to_push()[:10]
            await push_all(local, sent)
            await wait_count(received, len(sent), STEP)
            reader.cancel()
            return {"primed": primed, "sid": remote.info.sid, "local_sid": local.info.sid, **compare(sent, received)}
        finally:
            await sub.close()
    finally:
        await pub.close()


async def scenario_two_subscribers(url):
    pub = await Participant("pub1").connect(url, "room-two")
    subs = [await Participant(f"sub{i}").connect(url, "room-two") for i in (1, 2)]
    try:
        local = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="shared"), STEP)
        results = []
        readers = []
        for sub in subs:
            remote = await sub.track_named("shared")
            received = []
            results.append(received)
            readers.append(asyncio.ensure_future(collect(remote.subscribe(buffer_size=64), received)))
        primed = [await prime(local, r) for r in results]
        sent = frames_to_push()
        await push_all(local, sent)
        for r in results:
            await wait_count(r, len(sent), STEP)
        for reader in readers:
            reader.cancel()
        return {"primed": primed, "subscribers": [compare(sent, r) for r in results]}
    finally:
        for p in [pub, *subs]:
            await p.close()


async def scenario_rejections(url):
    pub = await Participant("pub1").connect(url, "room-rej")
    nodata = await Participant("nodata").connect(url, "room-rej", can_publish_data=False)
    try:
        result = {}
        # Keep the first track referenced: a collected LocalDataTrack unpublishes itself.
        first = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="dup"), STEP)
        result["first_sid"] = first.info.sid
        try:
            await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="dup"), STEP)
            result["duplicate"] = "accepted"
        except Exception as error:
            result["duplicate"] = f"{type(error).__name__}: {getattr(error, 'message', error)}"
        try:
            await asyncio.wait_for(nodata.room.local_participant.publish_data_track(name="x"), STEP)
            result["no_grant"] = "accepted"
        except Exception as error:
            result["no_grant"] = f"{type(error).__name__}: {getattr(error, 'message', error)}"
        result["first_still_published"] = first.is_published()
        return result
    finally:
        await nodata.close()
        await pub.close()


async def scenario_bad_token(url):
    room = rtc.Room()
    bad = api.AccessToken(KEY, "wrong-secret").with_identity("x").with_grants(
        api.VideoGrants(room_join=True, room="r")).to_jwt()
    try:
        await asyncio.wait_for(room.connect(url, bad, options()), STEP)
        return {"connected": True}
    except Exception as error:
        return {"connected": False, "error": f"{type(error).__name__}: {error}"}


async def scenario_isolation(url):
    """Two rooms with the same track name: neither sees the other's track or frames."""
    a_pub = await Participant("pub").connect(url, "iso-a")
    b_pub = await Participant("pub").connect(url, "iso-b")
    a_sub = await Participant("sub").connect(url, "iso-a")
    b_sub = await Participant("sub").connect(url, "iso-b")
    try:
        a_local = await asyncio.wait_for(a_pub.room.local_participant.publish_data_track(name="t"), STEP)
        b_local = await asyncio.wait_for(b_pub.room.local_participant.publish_data_track(name="t"), STEP)
        a_remote = await a_sub.track_named("t")
        b_remote = await b_sub.track_named("t")
        a_got, b_got = [], []
        readers = [asyncio.ensure_future(collect(a_remote.subscribe(), a_got)),
                   asyncio.ensure_future(collect(b_remote.subscribe(), b_got))]
        primed = [await prime(a_local, a_got, b"probe"), await prime(b_local, b_got, b"probe")]
        for i in range(20):
            a_local.try_push(rtc.DataTrackFrame(payload=b"room-a-%d" % i))
            b_local.try_push(rtc.DataTrackFrame(payload=b"room-b-%d" % i))
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        for reader in readers:
            reader.cancel()
        extra = []
        await asyncio.sleep(0.2)
        while not a_sub.published.empty():
            extra.append(a_sub.published.get_nowait().info.sid)
        while not b_sub.published.empty():
            extra.append(b_sub.published.get_nowait().info.sid)
        return {"primed": primed,
                "a_sids": [a_remote.info.sid, a_local.info.sid], "b_sids": [b_remote.info.sid, b_local.info.sid],
                "a_frames": sorted({p.decode() for p, _ in a_got if p != b"probe"}),
                "b_frames": sorted({p.decode() for p, _ in b_got if p != b"probe"}),
                "extra_published": extra,
                "a_remotes": sorted(a_sub.room.remote_participants.keys()),
                "b_remotes": sorted(b_sub.room.remote_participants.keys())}
    finally:
        for p in (a_pub, b_pub, a_sub, b_sub):
            await p.close()


async def scenario_data_packets(url):
    """DataPackets on _reliable/_lossy: broadcast, destination_identities, canPublishData."""
    names = ["alice", "bob", "carol"]
    people = {n: await Participant(n).connect(url, "room-data") for n in names}
    mute = await Participant("mute").connect(url, "room-data", can_publish_data=False)
    got = {n: [] for n in names + ["mute"]}
    for n, p in list(people.items()) + [("mute", mute)]:
        p.room.on("data_received", lambda packet, n=n: got[n].append(
            (packet.participant.identity if packet.participant else None, bytes(packet.data), packet.topic)))
    try:
        await asyncio.sleep(1.0)
        await people["alice"].room.local_participant.publish_data(b"to-all", reliable=True, topic="t1")
        await people["alice"].room.local_participant.publish_data(b"lossy-to-all", reliable=False)
        await people["alice"].room.local_participant.publish_data(b"only-bob", destination_identities=["bob"])
        try:
            await mute.room.local_participant.publish_data(b"from-mute")
            mute_send = "sent"
        except Exception as error:
            mute_send = f"refused: {error}"
        await asyncio.sleep(2.0)
        return {"got": {n: sorted([list(map(lambda x: x if not isinstance(x, bytes) else x.decode(), g)) for g in v])
                        for n, v in got.items()}, "mute_send": mute_send}
    finally:
        for p in list(people.values()) + [mute]:
            await p.close()


async def scenario_signal_edges(url):
    """Raw signaling edges: HTTP 401 reasons, a resume attempt answered with
    Leave{RECONNECT}, and the same identity joining again replacing the old session."""
    import aiohttp
    from livekit.protocol import rtc as signal
    http = url.replace("ws://", "http://")
    result = {}
    async with aiohttp.ClientSession() as client:
        for label, tok in [("bad_signature", api.AccessToken(KEY, "nope").with_identity("x").with_grants(
                               api.VideoGrants(room_join=True, room="r")).to_jwt()),
                           ("unknown_key", api.AccessToken("other", "secret").with_identity("x").with_grants(
                               api.VideoGrants(room_join=True, room="r")).to_jwt()),
                           ("good", token("x", "r"))]:
            async with client.get(f"{http}/rtc/validate", headers={"Authorization": f"Bearer {tok}"}) as response:
                result[label] = [response.status, (await response.text()).strip()]
        async with client.get(f"{http}/rtc/validate?access_token={token('x', 'r')}") as response:
            result["query_token"] = [response.status, (await response.text()).strip()]
        async with client.get(f"{http}/rtc/validate") as response:
            result["no_token"] = [response.status, (await response.text()).strip()]
        # A resume attempt on /rtc: the server cannot resume and says RECONNECT.
        async with client.ws_connect(f"{url}/rtc?reconnect=1&sid=PA_gone&protocol=16",
                                     headers={"Authorization": f"Bearer {token('ghost', 'edges')}"}) as ws:
            message = await asyncio.wait_for(ws.receive(), STEP)
            response = signal.SignalResponse()
            response.ParseFromString(message.data)
            result["resume"] = [response.WhichOneof("message"), int(response.leave.action)]
    # The same identity joins twice: the first room is told to leave (DUPLICATE_IDENTITY).
    first = await Participant("twin").connect(url, "edges")
    reasons = []
    first.room.on("disconnected", lambda reason: reasons.append(int(reason)))
    second = await Participant("twin").connect(url, "edges")
    try:
        for _ in range(100):
            if reasons:
                break
            await asyncio.sleep(0.1)
        result["replaced_reason"] = reasons
        result["second_connected"] = second.room.isconnected()
    finally:
        await second.close()
        await first.close()
    return result


async def start_signal_relay(target_url):
    """A TCP relay in front of the server for one participant's signal connection (WebRTC goes
    straight to the server): returns (relay URL, open writers, request paths seen). Aborting
    the writers drops that participant's signal WebSocket without a `leave`."""
    host, port = target_url.replace("ws://", "").rsplit(":", 1)
    writers, seen = [], []

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except Exception:
            writer.close()
            return
        target = head.split(b" ", 2)[1].decode()
        seen.append(target.split("?")[0] + (" reconnect=1" if "reconnect=1" in target else ""))
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        up_writer.write(head)
        writers.extend([writer, up_writer])

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    relay = await asyncio.start_server(handle, ADDR, 0)
    return f"ws://{ADDR}:{relay.sockets[0].getsockname()[1]}", writers, seen, relay


async def scenario_signal_loss(url):
    """The SDK publisher's signal WebSocket is cut (no leave) while its peer connection stays:
    what the SDK does (resume attempt, then full re-join?) and whether the SDK subscriber gets
    frames again. Records; the test judges."""
    relay_url, writers, seen, relay = await start_signal_relay(url)
    sub = await Participant("sub").connect(url, "loss")
    pub = Participant("pub")
    pub_events, sub_events = [], []
    for name in ("reconnecting", "reconnected", "disconnected"):
        pub.room.on(name, lambda *args, n=name: pub_events.append(n))
    sub.room.on("participant_disconnected", lambda p: sub_events.append("participant_disconnected"))
    sub.room.on("participant_connected", lambda p: sub_events.append("participant_connected"))
    sub.room.on("data_track_unpublished", lambda sid: sub_events.append("data_track_unpublished"))
    await pub.connect(relay_url, "loss")
    try:
        local = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="imu"), STEP)
        remote = await sub.track_named("imu")
        received = []
        reader = asyncio.ensure_future(collect(remote.subscribe(buffer_size=64), received))
        primed = await prime(local, received)
        before = frames_to_push()[:8]
        await push_all(local, before)
        await wait_count(received, len(before), STEP)
        result = {"primed": primed, "before": compare(before, received), "track_sid_before": remote.info.sid}

        cut_at = time.monotonic()
        for writer in writers:
            writer.transport.abort()
        writers.clear()
        # Whatever path the SDK takes, the publisher's track must be back for the subscriber.
        deadline = time.monotonic() + 3 * STEP
        again = None
        while time.monotonic() < deadline:
            try:
                track = await asyncio.wait_for(sub.published.get(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if track.info.name == "imu" and track.info.sid != remote.info.sid:
                again = track
                break
        result["republished"] = again is not None
        result["seconds_to_republished"] = round(time.monotonic() - cut_at, 3)
        result["old_stream_end"] = "ended" if reader.done() else "open"
        if again is None:
            result.update(pub_events=pub_events, sub_events=sub_events, signal_paths=seen)
            return result
        local_now = local if local.is_published() else None
        result["local_still_published"] = local_now is not None
        received_after = []
        reader_after = asyncio.ensure_future(collect(again.subscribe(buffer_size=64), received_after))
        result["primed_after"] = await prime(local, received_after, tag=b"probe")
        after = frames_to_push()[8:16]
        await push_all(local, after)
        await wait_count(received_after, len(after), STEP)
        result["after"] = compare(after, received_after)
        reader_after.cancel()
        reader.cancel()
        result.update(pub_events=pub_events, sub_events=sub_events, signal_paths=seen)
        return result
    finally:
        await pub.close()
        await sub.close()
        relay.close()


SCENARIOS = {
    "signal-loss": scenario_signal_loss,
    "signal-edges": scenario_signal_edges,
    "data-packets": scenario_data_packets,
    "roundtrip": scenario_roundtrip,
    "late": scenario_late,
    "two-subscribers": scenario_two_subscribers,
    "rejections": scenario_rejections,
    "bad-token": scenario_bad_token,
    "isolation": scenario_isolation,
}


# MARK: - Benchmark (printed, never asserted): publisher at RATE Hz × SIZE bytes → N subscribers.

async def bench_subscriber(url, room_name, identity, duration):
    sub = await Participant(identity).connect(url, room_name)
    try:
        remote = await sub.track_named("bench")
        latencies, seqs = [], set()
        print("subscribed", flush=True)

        async def read():
            async for frame in remote.subscribe(buffer_size=256):
                now = time.time_ns()
                if frame.user_timestamp is None or len(frame.payload) < 8:
                    continue
                seq = int.from_bytes(frame.payload[:8], "big")
                if seq == 0xFFFFFFFFFFFFFFFF:
                    continue  # probe
                seqs.add(seq)
                latencies.append((now - frame.user_timestamp) / 1e6)
        reader = asyncio.ensure_future(read())
        await asyncio.sleep(duration)
        reader.cancel()
        print(json.dumps({"latencies_ms": latencies, "seqs": sorted(seqs)}), flush=True)
    finally:
        await sub.close()


async def scenario_bench(url):
    count = int(os.environ.get("TB_BENCH_SUBSCRIBERS", "1"))
    rate = int(os.environ.get("TB_BENCH_RATE", "1000"))
    size = int(os.environ.get("TB_BENCH_SIZE", "256"))
    seconds = float(os.environ.get("TB_BENCH_SECONDS", "5"))
    room_name = "bench"
    pub = await Participant("bench-pub").connect(url, room_name)
    local = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="bench"), STEP)
    listen = seconds + 12
    subs = []
    for i in range(count):
        subs.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, TRACKBAG, "bench-sub", url, room_name, f"bench-sub{i}", str(listen),
            *(["--dual"] if DUAL else []), stdout=asyncio.subprocess.PIPE))
    for proc in subs:
        line = await asyncio.wait_for(proc.stdout.readline(), STEP * 2)
        assert b"subscribed" in line, line
    # Probe frames until the subscriptions are in place on the server.
    for _ in range(40):
        local.try_push(rtc.DataTrackFrame(payload=(0xFFFFFFFFFFFFFFFF).to_bytes(8, "big") + bytes(size - 8),
                                          user_timestamp=time.time_ns()))
        await asyncio.sleep(0.05)
    cpu0, _ = proc_stats(SERVER_PID[0])
    wall0 = time.monotonic()
    total = int(rate * seconds)
    push_failures, achieved = await push_latency_stream(local, rate, total, size)
    await asyncio.sleep(1.0)
    cpu1, rss = proc_stats(SERVER_PID[0])
    wall1 = time.monotonic()
    per_sub = []
    for proc in subs:
        out, _ = await asyncio.wait_for(proc.communicate(), listen + STEP)
        data = json.loads(out.decode().strip().splitlines()[-1])
        lat = sorted(data["latencies_ms"])
        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None
        per_sub.append({"received": len(data["seqs"]), "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": lat[-1] if lat else None})
    await pub.close()
    received = [s["received"] for s in per_sub]
    return {"subscribers": count, "rate_hz": rate, "size": size, "pushed": total, "push_failures": push_failures,
            "achieved_rate_hz": round(achieved, 1),
            "lost_total": sum(total - push_failures - r for r in received),
            "p50_ms_median": sorted(s["p50_ms"] for s in per_sub)[len(per_sub) // 2],
            "p99_ms_worst": max(s["p99_ms"] for s in per_sub),
            "server_cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1), "server_rss_kib": rss,
            "per_subscriber": per_sub}


SCENARIOS["bench"] = scenario_bench
SERVER_PID = [0]


async def main():
    if SCENARIO == "bench-sub":
        await bench_subscriber(sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]))
        return
    server = Server()
    url = server.start()
    SERVER_PID[0] = server.proc.pid
    try:
        errors_before = udp_counters()["RcvbufErrors"]
        result = await asyncio.wait_for(SCENARIOS[SCENARIO](url), 120)
        result["udp_rcvbuf_errors"] = udp_counters()["RcvbufErrors"] - errors_before
        result["socket_drops"] = {key: count for key, count in SOCKET_DROPS.items() if count}
        result["sdk_logged_drops"] = {key: count for key, count in SDK_DROPS.counts.items() if count}
    finally:
        exit_status = server.stop()
    result["server_exit"] = exit_status
    log = os.environ.get("TB_SERVER_LOG")
    if log and os.path.exists(log):
        result["server_log"] = [line.strip() for line in open(log)
                                if any(k in line for k in (" left: ", "signal closed", "resume attempt", "re-join", "removed"))]
    print(json.dumps(result))


if __name__ == "__main__":
    from live_room import run_then_exit
    run_then_exit(main())

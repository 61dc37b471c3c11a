"""What a participant may make `trackbag serve` do, judged by LiveKit's official Python SDK
(livekit 1.2.1) and by raw signal clients: signal load, hidden participants, metadata grants,
data-packet addressing and RPC.

Run inside `scripts/netns-run` (libwebrtc gathers no loopback candidates):
    room_rules_peer.py TRACKBAG WORKDIR SCENARIO
Starts the server on $TB_ADDR_A (its stderr in WORKDIR/server.log), runs one scenario, stops the
server by PID and prints one JSON line with what was observed. The test file judges.
"""
import asyncio
import base64
import json
import os
import socket
import sys
import time
import urllib.parse

import aiohttp
from livekit import api, rtc
from livekit.protocol import models as lkmodels
from livekit.protocol import rtc as lksignal

from live_room import proc_stats, read_lines, start_server, stop

TRACKBAG = sys.argv[1]
WORKDIR = sys.argv[2]
SCENARIO = sys.argv[3]
ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
KEY, SECRET = "devkey", "secret"
STEP = 20.0  # seconds: bound on every single wait
SERVER_PID = [0]
MIB = 1024


def token(identity, room, metadata=None, attributes=None, kind=None, name=None, **grants):
    builder = api.AccessToken(KEY, SECRET).with_identity(identity).with_grants(
        api.VideoGrants(room_join=True, room=room, **grants))
    if metadata is not None:
        builder = builder.with_metadata(metadata)
    if attributes is not None:
        builder = builder.with_attributes(attributes)
    if kind is not None:
        builder = builder.with_kind(kind)
    if name is not None:
        builder = builder.with_name(name)
    return builder.to_jwt()


class Participant:
    """One SDK room with the events the scenarios look at recorded."""

    def __init__(self, identity):
        self.identity = identity
        self.room = rtc.Room()
        self.connected = []      # identities seen joining
        self.disconnected = []
        self.data = []           # (sender identity or None, payload, topic)
        self.tracks = {}         # remote data tracks seen: sid → (publisher identity, name)
        self.track_events = 0
        self.room.on("participant_connected", lambda p: self.connected.append(p.identity))
        self.room.on("participant_disconnected", lambda p: self.disconnected.append(p.identity))
        self.room.on("data_received", lambda packet: self.data.append(
            (packet.participant.identity if packet.participant else None, bytes(packet.data).decode(errors="replace"),
             packet.topic)))

        def published(track):
            self.track_events += 1
            self.tracks[track.info.sid] = (track.publisher_identity, track.info.name)

        def unpublished(sid):
            self.track_events += 1
            self.tracks.pop(sid, None)
        self.room.on("data_track_published", published)
        self.room.on("data_track_unpublished", unpublished)

    async def connect(self, url, room_name, **token_args):
        await asyncio.wait_for(self.room.connect(url, token(self.identity, room_name, **token_args),
                                                 rtc.RoomOptions(auto_subscribe=True)), STEP)
        return self

    def remotes(self):
        return sorted(p.identity for p in self.room.remote_participants.values())

    async def close(self):
        try:
            await asyncio.wait_for(self.room.disconnect(), STEP)
        except Exception:
            pass


class RawSignal:
    """A signal-only participant on `/rtc` (no peer connection), reading every response."""

    def __init__(self, identity):
        self.identity = identity
        self.responses = []
        self.reader = None

    async def connect(self, url, room_name, **grants):
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(
            f"{url}/rtc?protocol=16&auto_subscribe=0",
            headers={"Authorization": f"Bearer {token(self.identity, room_name, **grants)}"}, max_msg_size=0)
        first = await asyncio.wait_for(self.ws.receive(), STEP)
        join = lksignal.SignalResponse()
        join.ParseFromString(first.data)
        assert join.WhichOneof("message") == "join", join
        self.join = join.join
        self.reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            response = lksignal.SignalResponse()
            response.ParseFromString(message.data)
            self.responses.append(response)

    async def send(self, request):
        await self.ws.send_bytes(request.SerializeToString())

    def count(self, *kinds):
        return sum(1 for r in self.responses if r.WhichOneof("message") in kinds)

    async def wait_count(self, total, *kinds, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.count(*kinds) < total:
            await asyncio.sleep(0.05)
        return self.count(*kinds)

    async def close(self):
        try:
            await self.ws.close()
        except Exception:
            pass
        if self.reader:
            self.reader.cancel()
        await self.http.close()


def ws_upgrade(url, path_and_query, rcvbuf=None):
    """A plain TCP socket that did the WebSocket upgrade and reads nothing more (a client that
    stopped reading). `rcvbuf` shrinks its receive buffer so the server's writes back up early."""
    parsed = urllib.parse.urlparse(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(STEP)
    sock.connect((parsed.hostname, parsed.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path_and_query} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        byte = sock.recv(1)  # byte by byte: nothing after the 101 head is consumed
        if not byte:
            raise RuntimeError("upgrade refused")
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def read_ws_messages(sock, until, timeout):
    """Reads server frames (unmasked, RFC 6455 §5.2) from `sock` and returns their payloads as
    SignalResponses, until `until(responses)` is true, the connection ends or `timeout` passes."""
    sock.settimeout(1)
    buffer = b""
    responses = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(responses):
        try:
            chunk = sock.recv(1 << 16)
        except (socket.timeout, TimeoutError):
            continue
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= 2:
            length = buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                break
            opcode, payload = buffer[0] & 0x0F, buffer[offset:offset + length]
            buffer = buffer[offset + length:]
            if opcode == 0x2:
                response = lksignal.SignalResponse()
                response.ParseFromString(payload)
                responses.append(response)
    return responses


def latest_tracks(responses, identity):
    """Track names of `identity` in the last ParticipantUpdate about it, and how many there were."""
    names, count = None, 0
    for response in responses:
        if response.WhichOneof("message") == "update":
            for info in response.update.participants:
                if info.identity == identity:
                    names, count = sorted(t.name for t in info.data_tracks), count + 1
    return names, count


def ws_frame(payload):
    """One masked binary WebSocket frame (RFC 6455 §5.2: clients mask)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x82, 0x80 | length])
    elif length < 65536:
        head = bytes([0x82, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([0x82, 0x80 | 127]) + length.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def publish_request(handle, name):
    return lksignal.SignalRequest(publish_data_track_request=lksignal.PublishDataTrackRequest(pub_handle=handle, name=name))


def unpublish_request(handle):
    return lksignal.SignalRequest(unpublish_data_track_request=lksignal.UnpublishDataTrackRequest(pub_handle=handle))


def rss_kib():
    return proc_stats(SERVER_PID[0])[1]


# MARK: - Signal load

async def scenario_signal_flood(url):
    """One raw publisher sends 2,000 data-track publishes (then unpublishes them), then 2,000
    publish/unpublish cycles, then three final tracks, while an SDK watcher reads and a raw
    watcher has stopped reading; then a raw flooder sends requests whose responses it never
    reads. Server RSS is sampled throughout (VmRSS of the real process)."""
    room_name = "flood"
    watcher = await Participant("watcher").connect(url, room_name)
    reader = await RawSignal("reader").connect(url, room_name)
    stalled = ws_upgrade(url, f"/rtc?protocol=16&auto_subscribe=0&access_token={token('stalled', room_name)}", rcvbuf=4096)
    pub = await RawSignal("pub").connect(url, room_name)
    await asyncio.sleep(1.0)
    rss0 = rss_kib()
    peak = [rss0]
    over = asyncio.Event()
    limit_kib = rss0 + 256 * MIB  # on a server without limits the run stops here, bounded

    async def sample():
        while True:
            peak[0] = max(peak[0], rss_kib())
            if peak[0] > limit_kib:
                over.set()
            await asyncio.sleep(0.05)
    sampler = asyncio.ensure_future(sample())
    result = {"rss_start_kib": rss0}
    kinds = ("publish_data_track_response", "unpublish_data_track_response", "request_response")
    try:
        async def send_all(requests, phase):
            sent = 0
            expected = pub.count(*kinds) + len(requests)
            for request in requests:
                if over.is_set():
                    break
                await pub.send(request)
                sent += 1
                if sent % 200 == 0:
                    await asyncio.sleep(0)
            got = await pub.wait_count(expected if not over.is_set() else 0, *kinds, timeout=90)
            result[f"{phase}_sent"] = sent
            result[f"{phase}_rss_kib"] = rss_kib()
            return got

        # 256-byte names (LiveKit's longest): each update about the publisher grows by ~300 B a
        # track, more than the kernel's socket buffers hold for a watcher that stopped reading.
        names = [f"a{i:05d}".ljust(256, "x") for i in range(1, 2001)]
        await send_all([publish_request(i, names[i - 1]) for i in range(1, 2001)], "publish")
        accepted = [r.publish_data_track_response.info.name for r in pub.responses
                    if r.WhichOneof("message") == "publish_data_track_response"]
        refusals = [(r.request_response.reason, r.request_response.message) for r in pub.responses
                    if r.WhichOneof("message") == "request_response"]
        result["accepted"] = len(accepted)
        result["refusal_reasons"] = sorted(set(int(reason) for reason, _ in refusals))
        result["refusal_messages"] = sorted(set(message for _, message in refusals))[:3]
        await send_all([unpublish_request(i) for i in range(1, 2001)], "unpublish")
        cycles = []
        for i in range(2000):
            # 207-byte names, each its own (an SDK takes a track republished under the same
            # handle and name for the same track with a new sid).
            cycles += [publish_request(1, f"c{i:04d}".ljust(207, "c")), unpublish_request(1)]
        await send_all(cycles, "cycles")
        finals = {f"final-{i}" for i in range(1, 4)}
        await send_all([publish_request(i, name) for i, name in zip(range(1, 4), sorted(finals))], "final")
        # The SDK watcher's view of the publisher ends with exactly the final tracks.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not over.is_set():
            if {name for identity, name in watcher.tracks.values() if identity == "pub"} == finals:
                break
            await asyncio.sleep(0.1)
        final = sorted(name for identity, name in watcher.tracks.values() if identity == "pub")
        result["watcher_final"] = final if len(final) <= 10 else final[:5] + [f"... {len(final)} tracks"]
        result["watcher_events"] = watcher.track_events
        result["watcher_connected"] = watcher.room.isconnected()
        result["aborted_at_rss_limit"] = over.is_set()
        # A watcher that read everything, and the one that read nothing until now, end with the
        # publisher's final state (the stalled one after a handful of updates, not thousands).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and latest_tracks(reader.responses, "pub")[0] != sorted(finals):
            await asyncio.sleep(0.1)
        result["reader_final"], result["reader_updates"] = latest_tracks(reader.responses, "pub")
        if not over.is_set():
            drained = await asyncio.get_running_loop().run_in_executor(
                None, read_ws_messages, stalled, lambda rs: latest_tracks(rs, "pub")[0] == sorted(finals), 20)
            result["stalled_final"], result["stalled_updates"] = latest_tracks(drained, "pub")

        # A participant that sends requests and never reads their responses. The server reads
        # its requests only while their answers get written; once the writes stall for the
        # server's limit it closes the connection: sending then fails with a reset or broken pipe
        # (a send that merely blocks keeps waiting).
        flooder = ws_upgrade(url, f"/rtc?protocol=16&auto_subscribe=0&access_token={token('flooder', room_name)}",
                             rcvbuf=4096)
        bad = ws_frame(publish_request(7, "n" * 16_000).SerializeToString())  # INVALID_NAME, echoed back
        flooder.settimeout(None)
        stopping = [False]

        def flood():
            sent = 0
            try:
                while not stopping[0]:
                    flooder.sendall(bad)
                    sent += 1
            except OSError as error:
                return sent, repr(error)
            return sent, None

        flood_started = time.monotonic()
        sending = asyncio.get_running_loop().run_in_executor(None, flood)
        try:
            flood_sent, flood_error = await asyncio.wait_for(asyncio.shield(sending), 60)
            closed_by_server = flood_error is not None
        except asyncio.TimeoutError:
            # Not closed by the server in time: unblock our sender and report it.
            stopping[0] = True
            flooder.shutdown(socket.SHUT_RDWR)
            flood_sent, flood_error = await sending
            closed_by_server = False
        result["flood_error"] = flood_error
        result["flood_seconds"] = round(time.monotonic() - flood_started, 1)
        flooder.close()
        result["flood_sent"] = flood_sent
        result["flooder_closed_by_server"] = closed_by_server
        await asyncio.sleep(0.5)
        result["rss_end_kib"] = rss_kib()
        result["rss_peak_kib"] = peak[0]
        result["watcher_still_connected"] = watcher.room.isconnected()
    finally:
        sampler.cancel()
        stalled.close()
        await pub.close()
        await reader.close()
        await watcher.close()
    return result


# MARK: - Hidden participants

async def scenario_hidden(url):
    """A hidden SDK participant among visible ones: who sees whom, and what its data carries."""
    room_name = "hidden-room"
    v1 = await Participant("visible-1").connect(url, room_name)
    ghost = await Participant("ghost").connect(url, room_name, hidden=True)
    await asyncio.sleep(1.0)
    v2 = await Participant("visible-2").connect(url, room_name)
    await asyncio.sleep(1.0)
    try:
        local = await asyncio.wait_for(ghost.room.local_participant.publish_data_track(name="ghost-track"), STEP)
        await ghost.room.local_participant.publish_data(b"from-ghost", reliable=True, topic="g")
        await v1.room.local_participant.publish_data(b"to-ghost", destination_identities=["ghost"], topic="v")
        await asyncio.sleep(2.0)
        result = {
            "v1_remotes": v1.remotes(), "v2_remotes": v2.remotes(), "ghost_remotes": ghost.remotes(),
            "v1_connected_events": v1.connected, "v2_connected_events": v2.connected,
            "v1_tracks": sorted(v1.tracks.values()), "v2_tracks": sorted(v2.tracks.values()),
            "v1_data": v1.data, "v2_data": v2.data, "ghost_data": ghost.data,
        }
        await local.unpublish()
        await ghost.close()
        await asyncio.sleep(1.5)
        result["v1_disconnected_events"] = v1.disconnected
        result["v2_disconnected_events"] = v2.disconnected
        return result
    finally:
        await v1.close()
        await v2.close()
        await ghost.close()


async def scenario_record_hidden(url):
    """`trackbag record --hidden`: the recorder records a publisher that never sees it."""
    room_name = "rec-hidden"
    out = os.path.join(WORKDIR, "hidden.tbag")
    pub = await Participant("robot").connect(url, room_name)
    recorder = await asyncio.create_subprocess_exec(
        TRACKBAG, "record", "--url", url, "--room", room_name, "--hidden", "--duration", "6s", "--out", out,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    rec_out, rec_err = [], []
    joined = asyncio.Event()
    readers = [asyncio.ensure_future(read_lines(recorder.stdout, rec_out)),
               asyncio.ensure_future(read_lines(recorder.stderr, rec_err, joined, "joined room", 1))]
    try:
        try:
            await asyncio.wait_for(joined.wait(), STEP)
        except asyncio.TimeoutError:
            pass
        local = await asyncio.wait_for(pub.room.local_participant.publish_data_track(name="imu"), STEP)
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline and not any("recording robot/imu" in l for l in rec_err) \
                and recorder.returncode is None:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        pushed = 0
        for i in range(100):
            try:
                local.try_push(rtc.DataTrackFrame(payload=i.to_bytes(4, "big") * 8))
                pushed += 1
            except Exception:
                pass
            await asyncio.sleep(0.02)
        try:
            status = await asyncio.wait_for(recorder.wait(), 30)
        except asyncio.TimeoutError:
            recorder.kill()
            status = "killed"
        await asyncio.gather(*readers, return_exceptions=True)
        return {"record_exit": status, "record_stdout": rec_out, "record_stderr": rec_err[-20:],
                "pushed": pushed, "robot_remotes_seen": pub.connected, "robot_remotes": pub.remotes()}
    finally:
        if recorder.returncode is None:
            recorder.kill()
            await recorder.wait()
        await pub.close()


# MARK: - Metadata and attributes

def join_request_query(metadata, attributes):
    request = lkmodels.ClientInfo(sdk=lkmodels.ClientInfo.PYTHON, protocol=16)
    join = lksignal.JoinRequest(client_info=request, metadata=metadata)
    for k, v in attributes.items():
        join.participant_attributes[k] = v
    wrapped = lksignal.WrappedJoinRequest(compression=lksignal.WrappedJoinRequest.NONE,
                                          join_request=join.SerializeToString())
    return base64.urlsafe_b64encode(wrapped.SerializeToString()).decode()


async def scenario_metadata(url):
    room_name = "meta"
    http = url.replace("ws://", "http://")
    result = {}
    signed_attrs = {"role": "robot", "keep": "yes"}
    asked_attrs = {"role": "admin", "keep": "", "extra": "1"}
    async with aiohttp.ClientSession() as client:
        for label, grant in (("no_grant", None), ("grant", True)):
            tok = token(f"joiner-{label}", room_name, metadata="signed", attributes=signed_attrs,
                        **({"can_update_own_metadata": True} if grant else {}))
            query = join_request_query("forged", asked_attrs)
            headers = {"Authorization": f"Bearer {tok}"}
            async with client.get(f"{http}/rtc/v1/validate?join_request={query}", headers=headers) as response:
                validate = [response.status, (await response.text()).strip()]
            joined = None
            try:
                ws = await client.ws_connect(f"{url}/rtc/v1?join_request={query}", headers=headers)
                message = await asyncio.wait_for(ws.receive(), STEP)
                first = lksignal.SignalResponse()
                first.ParseFromString(message.data)
                info = first.join.participant
                joined = {"metadata": info.metadata, "attributes": dict(info.attributes)}
                await ws.close()
            except aiohttp.WSServerHandshakeError as error:
                joined = {"refused": error.status}
            result[label] = {"validate": validate, "joined": joined}

    player = await Participant("player").connect(url, room_name, can_update_own_metadata=True,
                                                 attributes={"fixed": "1"})
    plain = await Participant("plain").connect(url, room_name)
    watcher = await Participant("watcher").connect(url, room_name)
    changes = []
    # When the watcher saw each change (monotonic s, one per entry of `changes`): the server's
    # answer reached the room then, whatever became of the caller's own RequestResponse.
    seen_at = []

    def on_change(kind, identity, value):
        changes.append([kind, identity, value])
        seen_at.append(time.monotonic())

    watcher.room.on("participant_attributes_changed",
                    lambda changed, p: on_change("attributes", p.identity, dict(changed)))
    watcher.room.on("participant_metadata_changed", lambda p, old, new: on_change("metadata", p.identity, new))
    watcher.room.on("participant_name_changed", lambda p, old, new: on_change("name", p.identity, new))
    try:
        await asyncio.sleep(1.0)
        timings = {}
        # Seconds from each call to the watcher seeing its change (None: not seen).
        seen_after = {}
        for label, call in (("attributes", lambda: player.room.local_participant.set_attributes(
                                {"playback": "playing", "t": "12.5"})),
                            ("metadata", lambda: player.room.local_participant.set_metadata("m1")),
                            ("name", lambda: player.room.local_participant.set_name("Player One")),
                            ("delete", lambda: player.room.local_participant.set_attributes({"t": ""}))):
            started = time.monotonic()
            try:
                await asyncio.wait_for(call(), STEP)
                timings[label] = round(time.monotonic() - started, 2)
            except Exception as error:
                timings[label] = f"error: {error}"
            kind = "attributes" if label == "delete" else label
            seen_after[label] = next((round(t - started, 2) for (k, who, _), t in zip(changes, seen_at)
                                      if k == kind and who == "player" and t >= started), None)
        try:
            await asyncio.wait_for(plain.room.local_participant.set_attributes({"x": "1"}), STEP)
            plain_call = "returned"
        except Exception as error:
            plain_call = f"error: {error}"
        await asyncio.sleep(1.5)
        seen = next((p for p in watcher.room.remote_participants.values() if p.identity == "player"), None)
        plain_seen = next((p for p in watcher.room.remote_participants.values() if p.identity == "plain"), None)
        result.update({
            "timings": timings, "seen_after": seen_after, "changes": changes, "plain_call": plain_call,
            "watcher_view": {"attributes": dict(seen.attributes), "metadata": seen.metadata, "name": seen.name}
            if seen else None,
            "player_local": {"attributes": dict(player.room.local_participant.attributes),
                             "metadata": player.room.local_participant.metadata,
                             "name": player.room.local_participant.name},
            "plain_seen_attributes": dict(plain_seen.attributes) if plain_seen else None,
            "plain_local_attributes": dict(plain.room.local_participant.attributes),
        })
        return result
    finally:
        for p in (player, plain, watcher):
            await p.close()


# MARK: - Data packets and RPC

async def scenario_addressing(url):
    room_name = "addr"
    alice = await Participant("alice").connect(url, room_name)
    bob = await Participant("bob").connect(url, room_name)
    carol = await Participant("carol").connect(url, room_name)
    agent = await Participant("agent-1").connect(url, room_name, kind="agent")
    transcriptions = []
    bob.room.on("transcription_received",
                lambda segments, participant, publication: transcriptions.append(
                    [participant.identity if participant else None, [s.text for s in segments]]))

    @bob.room.local_participant.register_rpc_method("echo")
    async def echo(data):
        return f"{data.caller_identity}:{data.payload[::-1]}"

    @bob.room.local_participant.register_rpc_method("fail")
    async def fail(data):
        raise rtc.RpcError(2001, "refused on purpose", "detail")

    try:
        await asyncio.sleep(1.0)
        lp = alice.room.local_participant
        await lp.publish_data(b"only-bob", destination_identities=["bob"], topic="d")
        await lp.publish_data(b"bob-and-carol", destination_identities=["bob", "carol"], topic="d", reliable=False)
        await lp.publish_data(b"everyone", topic="d")
        segment = rtc.TranscriptionSegment(id="s1", text="from-alice", start_time=0, end_time=1, final=True, language="en")
        await lp.publish_transcription(rtc.Transcription(participant_identity="alice", track_sid="TR_alice", segments=[segment]))
        segment2 = rtc.TranscriptionSegment(id="s2", text="from-agent", start_time=0, end_time=1, final=True, language="en")
        await agent.room.local_participant.publish_transcription(
            rtc.Transcription(participant_identity="agent-1", track_sid="TR_agent", segments=[segment2]))
        rpc = {}
        try:
            rpc["echo"] = await asyncio.wait_for(lp.perform_rpc(destination_identity="bob", method="echo", payload="hello"), STEP)
        except Exception as error:
            rpc["echo"] = f"error: {type(error).__name__}: {error}"
        for method in ("fail", "missing"):
            try:
                value = await asyncio.wait_for(lp.perform_rpc(destination_identity="bob", method=method, payload="x"), STEP)
                rpc[method] = f"returned {value}"
            except rtc.RpcError as error:
                rpc[method] = [error.code, error.message, error.data]
            except Exception as error:
                rpc[method] = f"error: {type(error).__name__}: {error}"
        await asyncio.sleep(1.5)
        return {"got": {p.identity: sorted([list(m) for m in p.data], key=str) for p in (alice, bob, carol, agent)},
                "transcriptions": transcriptions, "rpc": rpc}
    finally:
        for p in (alice, bob, carol, agent):
            await p.close()


SCENARIOS = {
    "signal-flood": scenario_signal_flood,
    "hidden": scenario_hidden,
    "record-hidden": scenario_record_hidden,
    "metadata": scenario_metadata,
    "addressing": scenario_addressing,
}


async def main():
    # TB_SERVE_DEV=0 runs against a server without --dev (one older than the option).
    server, url = start_server(TRACKBAG, WORKDIR, ADDR, dev=os.environ.get("TB_SERVE_DEV", "1") == "1")
    SERVER_PID[0] = server.pid
    try:
        result = await asyncio.wait_for(SCENARIOS[SCENARIO](url), 240)
    finally:
        result_exit = stop(server)
    result["server_exit"] = result_exit
    with open(os.path.join(WORKDIR, "server.log")) as f:
        result["server_log"] = [line.rstrip() for line in f][-60:]
    print(json.dumps(result))


if __name__ == "__main__":
    from live_room import run_then_exit
    run_then_exit(main())

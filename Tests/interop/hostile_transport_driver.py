"""Hostile peers against `trackbag serve`'s WebRTC transport, run INSIDE a network namespace
made by scripts/netns-run. Prints one JSON result line; the test file judges it.

usage: hostile_transport_driver.py TRACKBAG flood [--bytes N] [--seconds S]
       hostile_transport_driver.py TRACKBAG spoof
       hostile_transport_driver.py attacker URL TOKEN BYTES SECONDS (the flood's attacker process)

flood: an aiortc client with only `roomJoin` (no publish grants) joins over `/rtc`, opens a
channel the server ignores (`lossy`) on its publisher connection, one (`evil`) on its subscriber
connection, and writes into the server's own `_reliable` channel there, as fast as SCTP lets it,
until it has sent its bytes or its time is up (the attacker is pure Python: on a busy machine its
own CPU, not the server, sets how much it gets through in that time).
Meanwhile a Swift publisher streams 100 frames/s with send timestamps and a Swift subscriber
reports each frame's latency. The server's RSS (/proc/PID/status) is sampled throughout.

spoof: a Swift publisher (the victim) streams to a Swift subscriber; an attacker that joined the
room (so it knows its own session's ICE ufrag and password from the server's answer) sends STUN
Binding requests for its own session, correctly authenticated, from the victim's source address
(a raw socket inside the namespace) for three seconds. The subscriber's frame rate before,
during and after says whether the victim's inbound route survived.
"""
import asyncio
import collections
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

from livekit import api

from live_room import SwiftPeer, percentile

ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
ADDR_B = os.environ.get("TB_ADDR_B", "10.99.0.2")
STEP = 30.0


def token(identity, room="hostile", **grants):
    grant = api.VideoGrants(room_join=True, room=room, **grants)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)



class Server:
    def __init__(self, trackbag):
        self.trackbag = trackbag
        self.proc = None
        self.url = None
        self.log = collections.deque(maxlen=400)  # the newest lines: the leave summaries come last
        self.reader = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            # --dev: the development key on the namespace's (non-loopback) address.
            self.trackbag, "serve", "--host", ADDR, "--port", "0", "--rtc-port", "0", "--node-ip", ADDR, "--dev",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), STEP)).decode()
            if line.startswith("trackbag serve: listening on "):
                self.url = line.strip().split("listening on ")[1].split()[0]
                break
        assert self.url, "server did not report its URL"
        self.reader = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self):
        proc = self.proc
        while proc and (line := await proc.stdout.readline()):
            self.log.append(line.decode(errors="replace").strip())

    async def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self.reader:
            # The last lines (the leave summaries written on shutdown) are read to EOF.
            await asyncio.wait_for(self.reader, STEP)
        return self.proc.returncode


async def publisher_and_subscriber(trackbag, url, address):
    """A Swift publisher with track `lat` and a Swift subscriber reading it (timing only)."""
    grants = {"can_publish": True, "can_subscribe": True, "can_publish_data": True}
    pub = SwiftPeer(trackbag, url, token("pub", **grants), address)
    sub = SwiftPeer(trackbag, url, token("sub", **grants), address)
    for peer in (pub, sub):
        joined = await peer.start()
        assert joined["event"] == "joined", joined
    pub.send({"cmd": "publish", "track": "lat"})
    reply = await pub.wait(lambda m: m.get("reply") == "publish")
    assert reply["ok"], reply
    sub.send({"cmd": "subscribe", "identity": "pub", "track": "lat", "buffer": 256, "timing_only": True})
    reply = await sub.wait(lambda m: m.get("reply") == "subscribe")
    assert reply["ok"], reply
    return pub, sub


# MARK: - The raw LiveKit client an attacker would write (aiortc + hand-made signalling)

class RawClient:
    """Joins over `/rtc` (two peer connections) with aiortc, speaking the signal protocol by
    hand: what any participant can do with a token that grants `roomJoin` and nothing more."""

    def __init__(self, url, tok):
        self.url = url
        self.token = tok
        self.publisher = None
        self.subscriber = None
        self.server_channels = {}
        self.publisher_answer = None
        self.subscriber_answered = None
        self.answer_without_candidates = False

    async def connect(self, http, publisher_channels=()):
        from aiortc import RTCPeerConnection
        from livekit.protocol import rtc as lk
        self.lk = lk
        self.ws = await http.ws_connect(f"{self.url}/rtc?protocol=16&auto_subscribe=1&sdk=python",
                                        headers={"Authorization": f"Bearer {self.token}"}, max_msg_size=0)
        join = await self.next_response("join")
        self.publisher = RTCPeerConnection()
        self.own = {label: self.publisher.createDataChannel(label) for label in publisher_channels}
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        request = lk.SignalRequest()
        request.offer.type = "offer"
        request.offer.sdp = self.publisher.localDescription.sdp
        request.offer.id = 1
        await self.ws.send_bytes(request.SerializeToString())
        self.reader = asyncio.get_running_loop().create_task(self.read_signal())
        return join

    async def next_response(self, kind):
        while True:
            message = await asyncio.wait_for(self.ws.receive(), STEP)
            response = self.lk.SignalResponse()
            response.ParseFromString(message.data)
            if response.WhichOneof("message") == kind:
                return response

    async def read_signal(self):
        from aiortc import RTCPeerConnection, RTCSessionDescription
        lk = self.lk
        async for message in self.ws:
            if message.type != 2:  # aiohttp WSMsgType.BINARY
                continue
            response = lk.SignalResponse()
            response.ParseFromString(message.data)
            kind = response.WhichOneof("message")
            if kind == "answer":
                self.publisher_answer = response.answer.sdp
                await self.publisher.setRemoteDescription(RTCSessionDescription(response.answer.sdp, "answer"))
            elif kind == "offer":
                self.subscriber = RTCPeerConnection()

                @self.subscriber.on("datachannel")
                def on_channel(channel):
                    self.server_channels[channel.label] = channel

                await self.subscriber.setRemoteDescription(RTCSessionDescription(response.offer.sdp, "offer"))
                await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
                sdp = self.subscriber.localDescription.sdp
                if self.answer_without_candidates:
                    sdp = "\r\n".join(line for line in sdp.split("\r\n")
                                       if not line.startswith(("a=candidate:", "a=end-of-candidates")))
                    await self.subscriber.close()
                    self.subscriber = None
                request = lk.SignalRequest()
                request.answer.type = "answer"
                request.answer.sdp = sdp
                request.answer.id = response.offer.id
                await self.ws.send_bytes(request.SerializeToString())
                self.subscriber_answered = sdp

    async def ping(self):
        request = self.lk.SignalRequest()
        request.ping_req.timestamp = int(time.time() * 1000)
        await self.ws.send_bytes(request.SerializeToString())

    def server_ice_credentials(self):
        ufrag = pwd = None
        for line in (self.publisher_answer or "").splitlines():
            if line.startswith("a=ice-ufrag:"):
                ufrag = line.split(":", 1)[1].strip()
            elif line.startswith("a=ice-pwd:"):
                pwd = line.split(":", 1)[1].strip()
        return ufrag, pwd

    async def close(self):
        for pc in (self.publisher, self.subscriber):
            if pc:
                await pc.close()
        await self.ws.close()


async def wait_open(channel, timeout=STEP):
    deadline = time.monotonic() + timeout
    while channel.readyState != "open":
        if time.monotonic() > deadline:
            raise TimeoutError(f"channel {channel.label} did not open")
        await asyncio.sleep(0.05)


FLOOD_MESSAGE_BYTES = 60_000


async def stream_into(channel, total, deadline, size=FLOOD_MESSAGE_BYTES):
    """Writes `total` bytes, or until `deadline` (monotonic), as fast as the channel's own send
    buffer drains (aiortc queues without limit otherwise). Returns bytes handed to SCTP."""
    low = asyncio.Event()
    channel.bufferedAmountLowThreshold = 1 << 20
    channel.on("bufferedamountlow", low.set)
    chunk = bytes(size)
    sent = 0
    while sent < total and channel.readyState == "open" and time.monotonic() < deadline:
        if channel.bufferedAmount > 4 << 20:
            low.clear()
            try:
                await asyncio.wait_for(low.wait(), 5)
            except asyncio.TimeoutError:
                pass
            continue
        channel.send(chunk)
        sent += size
        if sent % (size * 16) == 0:
            await asyncio.sleep(0)
    return sent


async def attacker(url, tok, total, seconds):
    """The flood's attacker, in its own process (niced: its own CPU is not the server's doing).
    Prints `connected`, then `done` with the bytes it got into each channel within `seconds`,
    and whether SCTP then got rid of all it still held (the server acknowledged every byte)."""
    import aiohttp
    import aioice.ice
    os.nice(10)
    # A hostile peer need not honour consent freshness (RFC 7675 protects the sender, not the
    # receiver). aioice sends each consent check once and waits 0.5 s for the answer; the niced
    # attacker's event loop, starved on a busy machine, reads it later than that and would shut
    # its own connections after 6 such checks, ending the flood for a reason of its own.
    aioice.ice.CONSENT_FAILURES = 1 << 30
    async with aiohttp.ClientSession() as http:
        client = RawClient(url, tok)
        await client.connect(http, publisher_channels=("lossy",))
        await wait_open(client.own["lossy"])
        deadline = time.monotonic() + STEP
        while "_reliable" not in client.server_channels and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        server_reliable = client.server_channels["_reliable"]
        await wait_open(server_reliable)
        evil = client.subscriber.createDataChannel("evil")
        await wait_open(evil)
        print(json.dumps({"event": "connected"}), flush=True)
        pinger = asyncio.get_running_loop().create_task(keep_pinging(client))
        start = time.monotonic()
        deadline = start + seconds
        channels = (client.own["lossy"], evil, server_reliable)
        # The ignored publisher channel takes the bulk; the two subscriber-side ones a share each.
        sent = await asyncio.gather(stream_into(channels[0], total, deadline),
                                    stream_into(channels[1], total // 4, deadline),
                                    stream_into(channels[2], total // 4, deadline))
        flooded = time.monotonic() - start
        # Let what SCTP still holds leave: a server that stopped reading would leave it there.
        drain_deadline = time.monotonic() + STEP
        while any(c.bufferedAmount > 0 for c in channels) and time.monotonic() < drain_deadline:
            await asyncio.sleep(0.05)
        held = {c.label: c.bufferedAmount for c in channels if c.bufferedAmount > 0}
        still_open = all(c.readyState == "open" for c in channels)
        elapsed = time.monotonic() - start
        await asyncio.sleep(1)
        pinger.cancel()
        print(json.dumps({"event": "done", "publisher_ignored": sent[0], "subscriber_own": sent[1],
                          "server_reliable": sent[2], "message_bytes": FLOOD_MESSAGE_BYTES,
                          "all_sent": sent[0] >= total,
                          "flood_seconds": round(flooded, 2), "seconds": round(elapsed, 2),
                          "mb_per_s": round(sum(sent) / flooded / 1e6, 2) if flooded > 0 else None,
                          "held_after_drain": held, "open": still_open}), flush=True)
        await client.close()


async def keep_pinging(client):
    while True:
        await asyncio.sleep(2)
        try:
            await client.ping()
        except Exception:
            return


# MARK: - Scenarios

async def scenario_flood(trackbag, total, seconds):
    server = Server(trackbag)
    await server.start()
    result = {}
    pub = sub = attack = None
    try:
        pub, sub = await publisher_and_subscriber(trackbag, server.url, ADDR_B)
        pub.send({"cmd": "stream", "track": "lat", "rate": 100, "size": 256, "count": 100 * 300})
        await asyncio.sleep(4)  # warm up, then the baseline window
        baseline_start = time.monotonic()
        rss_samples = []
        for _ in range(30):
            rss_samples.append(rss_kib(server.proc.pid))
            await asyncio.sleep(0.1)
        baseline_end = time.monotonic()
        rss_baseline = max(rss_samples)

        attack = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "attacker", server.url, token("attacker"), str(total), str(seconds),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        attack_lines = []
        connected = json.loads(await asyncio.wait_for(attack.stdout.readline(), 60) or b'{"event":"eof"}')
        attack_lines.append(connected)
        assert connected["event"] == "connected", (connected, (await attack.stderr.read()).decode()[-3000:])
        attack_start = time.monotonic()
        done_line = asyncio.get_running_loop().create_task(attack.stdout.readline())
        peak = rss_baseline
        while not done_line.done():
            peak = max(peak, rss_kib(server.proc.pid))
            await asyncio.sleep(0.1)
            if time.monotonic() - attack_start > 240:
                break
        attack_end = time.monotonic()
        done = json.loads(done_line.result() or b'{"event":"eof"}') if done_line.done() else {"event": "timeout"}
        if not done_line.done():
            done_line.cancel()
        attack_lines.append(done)
        after = []
        for _ in range(20):
            after.append(rss_kib(server.proc.pid))
            await asyncio.sleep(0.1)
        peak = max([peak] + after)
        await asyncio.wait_for(attack.wait(), STEP)
        attack_err = (await attack.stderr.read()).decode(errors="replace")

        def latencies(start, end):
            return [latency for at, latency, *_ in sub.timings if start <= at < end]

        base = latencies(baseline_start, baseline_end)
        during = latencies(attack_start, attack_end)
        result = {
            "rss_baseline_kib": rss_baseline, "rss_peak_kib": peak, "rss_after_kib": after[-1],
            "attack": attack_lines, "attack_stderr": attack_err[-2000:],
            "attack_seconds": round(attack_end - attack_start, 2),
            "latency_baseline_ms": {"count": len(base), "p50": percentile(base, 0.50), "p99": percentile(base, 0.99)},
            "latency_attack_ms": {"count": len(during), "p50": percentile(during, 0.50), "p99": percentile(during, 0.99),
                                  "expected": int((attack_end - attack_start) * 100)},
        }
    finally:
        if attack and attack.returncode is None:
            attack.kill()
            await attack.wait()
        for peer in (pub, sub):
            if peer:
                await peer.quit()
        result["server_exit"] = await server.stop()
        result["server_log"] = [line for line in server.log if "attacker" in line or "ignoring" in line][-20:]
    return result


def udp_ports_of(pid, address):
    """Local UDP ports bound on `address` by process `pid` (its sockets' inodes in /proc/net/udp)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    want = socket.inet_aton(address)[::-1].hex().upper()  # /proc/net/udp: little-endian hex
    ports = []
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, inode = fields[1], fields[9]
            ip_hex, port_hex = local.split(":")
            if inode in inodes and ip_hex == want:
                ports.append(int(port_hex, 16))
    return ports


def spoofed_udp(src, dst, payload):
    """An IPv4/UDP datagram with any source (IP_HDRINCL; the kernel fills length, id and IP
    checksum; the UDP checksum is left 0, which IPv4 allows)."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    return ip + udp


def binding_request(server_ufrag, server_pwd, own_ufrag):
    """A Binding request as the attacker's own ICE agent would send it to its own session:
    correct USERNAME, MESSAGE-INTEGRITY and FINGERPRINT (RFC 8445 §7.2.2), nominating."""
    from aioice import stun
    message = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    message.attributes["USERNAME"] = f"{server_ufrag}:{own_ufrag}"
    message.attributes["PRIORITY"] = 1853824767
    message.attributes["ICE-CONTROLLING"] = 0x1234567890
    message.attributes["USE-CANDIDATE"] = None
    message.add_message_integrity(server_pwd.encode())
    message.add_fingerprint()
    return bytes(message)


async def scenario_spoof(trackbag):
    import aiohttp
    server = Server(trackbag)
    await server.start()
    result = {}
    pub = sub = None
    try:
        pub, sub = await publisher_and_subscriber(trackbag, server.url, ADDR_B)
        victim_ports = udp_ports_of(pub.proc.pid, ADDR_B)
        assert len(victim_ports) == 1, victim_ports  # single peer connection, one address
        rtc_port = None
        async with aiohttp.ClientSession() as http:
            client = RawClient(server.url, token("attacker"))
            await client.connect(http, publisher_channels=("_reliable",))
            deadline = time.monotonic() + STEP
            while client.publisher_answer is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            ufrag, pwd = client.server_ice_credentials()
            for line in (client.publisher_answer or "").splitlines():
                if line.startswith("a=candidate:") and f" {ADDR} " in line:
                    rtc_port = int(line.split()[5])
            assert ufrag and pwd and rtc_port, (client.publisher_answer, list(server.log)[-10:])

            rate, seconds = 1000, 9
            pub.send({"cmd": "stream", "track": "lat", "rate": rate, "size": 1000, "count": rate * seconds})
            start = time.monotonic()
            raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            spoofed = 0
            try:
                await asyncio.sleep(3)
                spoof_start = time.monotonic()
                while time.monotonic() - spoof_start < 3:
                    packet = spoofed_udp((ADDR_B, victim_ports[0]), (ADDR, rtc_port),
                                         binding_request(ufrag, pwd, "evil"))
                    raw.sendto(packet, (ADDR, 0))
                    spoofed += 1
                    await asyncio.sleep(0.01)
                spoof_end = time.monotonic()
            finally:
                raw.close()
            await pub.wait(lambda m: m.get("reply") == "stream", timeout=STEP)
            await asyncio.sleep(1)
            await client.close()

        def rate_in(a, b):
            count = sum(1 for at, *_ in sub.timings if a <= at < b)
            return round(count / (b - a), 1)

        result = {
            "victim_port": victim_ports[0], "spoofed_requests": spoofed, "rate_sent": rate,
            "frames_per_s_before": rate_in(start + 0.5, spoof_start),
            "frames_per_s_during": rate_in(spoof_start + 0.2, spoof_end),
            "frames_per_s_after": rate_in(spoof_end + 0.2, start + seconds),
            "frames_received": len(sub.timings),
        }
    finally:
        for peer in (pub, sub):
            if peer:
                await peer.quit()
        result["server_exit"] = await server.stop()
        result["server_log"] = list(server.log)[-20:]
    return result


async def scenario_trickle(trackbag):
    """§ remote candidates: a participant answers the server's subscriber offer with no
    candidates of its own, then trickles some. Listening sockets in the namespace count the
    server's connectivity checks: a reachable unicast candidate must get them (the control),
    127.0.0.1 must not (the server runs on 10.99.0.1, not on loopback), and neither must a
    candidate past the per-connection limit, however high its priority."""
    import aiohttp
    from aiortc import RTCSessionDescription
    server = Server(trackbag)
    await server.start()
    listeners = {}
    result = {}
    try:
        for name, address in (("control", ADDR_B), ("loopback", "127.0.0.1"), ("over_limit", ADDR_B)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((address, 0))
            sock.setblocking(False)
            listeners[name] = sock
        async with aiohttp.ClientSession() as http:
            client = RawClient(server.url, token("trickler"))
            # Answer the subscriber offer by hand: aiortc's answer without its candidates, and
            # aiortc closed at once, so only the trickled candidates exist for the server.
            client.answer_without_candidates = True
            await client.connect(http, publisher_channels=("_reliable",))
            deadline = time.monotonic() + STEP
            while client.subscriber_answered is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert client.subscriber_answered, "no subscriber offer"
            lk = client.lk

            async def trickle(priority, address, port):
                request = lk.SignalRequest()
                request.trickle.target = lk.SUBSCRIBER
                request.trickle.candidateInit = json.dumps({
                    "candidate": f"candidate:{priority} 1 udp {priority} {address} {port} typ host",
                    "sdpMid": "0", "sdpMLineIndex": 0})
                await client.ws.send_bytes(request.SerializeToString())

            await trickle(1_999_998_000, ADDR_B, listeners["control"].getsockname()[1])
            await trickle(1_999_999_000, "127.0.0.1", listeners["loopback"].getsockname()[1])
            for unicast_never in (("0.0.0.0", 9), ("224.0.0.251", 5353), ("255.255.255.255", 9)):
                await trickle(1_999_999_500, *unicast_never)
            # 70 more: under the 100 pairs an agent keeps, over the 64 candidates it accepts.
            for index in range(70):
                await trickle(1_000_000 + index, ADDR_B, 20_000 + index)
            await trickle(2_000_000_000, ADDR_B, listeners["over_limit"].getsockname()[1])
            await asyncio.sleep(3)
            counts = {}
            for name, sock in listeners.items():
                count = 0
                while True:
                    try:
                        data = sock.recv(2048)
                    except BlockingIOError:
                        break
                    if len(data) >= 20 and data[0] < 4:
                        count += 1
                counts[name] = count
            result["stun_checks_received"] = counts
            await client.close()
    finally:
        for sock in listeners.values():
            sock.close()
        result["server_exit"] = await server.stop()
        result["server_log"] = [line for line in server.log if "trickler" in line][-10:]
    return result


def main():
    if sys.argv[1] == "attacker":
        asyncio.run(attacker(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])))
        return
    trackbag, scenario = sys.argv[1], sys.argv[2]
    if scenario == "flood":
        total = int(sys.argv[sys.argv.index("--bytes") + 1]) if "--bytes" in sys.argv else 200_000_000
        seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 150
        result = asyncio.run(scenario_flood(trackbag, total, seconds))
    elif scenario == "spoof":
        result = asyncio.run(scenario_spoof(trackbag))
    elif scenario == "trickle":
        result = asyncio.run(scenario_trickle(trackbag))
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

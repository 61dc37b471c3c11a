"""aiortc 1.16.0 against `trackbag-testpeer webrtc-peer`: runs inside `scripts/netns-run` (aioice never
gathers 127.0.0.1, so both peers use the namespace's veth addresses), prints one JSON summary.

Usage: webrtc_aiortc_peer.py TRACKBAG interop|bench --swift-role offer|answer [--swift-setup active|passive] [--lite]
"""
import argparse
import asyncio
import json
import os
import sys
import time

from aiortc import RTCPeerConnection, RTCSessionDescription
from live_room import testpeer

SIZES = [1, 2, 100, 1000, 1200, 16000, 65535, 65536]


def pattern(size: int, seed: int) -> bytes:
    return bytes(((i * 7 + seed + size) & 0xFF) for i in range(size))


class SwiftPeer:
    """The Swift process: JSON lines both ways, every line it prints kept in `events`."""

    def __init__(self, proc):
        self.proc = proc
        self.events = []
        self.waiters = []

    async def pump(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            self.events.append(event)
            for predicate, future in list(self.waiters):
                if not future.done() and predicate(event):
                    future.set_result(event)

    async def wait_for(self, predicate, timeout=30):
        for event in self.events:
            if predicate(event):
                return event
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        return await asyncio.wait_for(future, timeout)

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())


async def start_swift(args, mode):
    command = [testpeer(args.trackbag), "webrtc-peer", "--mode", mode, "--role", args.swift_role,
               "--address", os.environ["TB_ADDR_A"], "--setup", args.swift_setup,
               "--sizes", ",".join(map(str, SIZES))]
    if args.lite:
        command.append("--lite")
    if mode == "bench":
        command += ["--bench-bytes", str(args.bench_bytes), "--round-trips", str(args.round_trips)]
    proc = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE)
    swift = SwiftPeer(proc)
    pump = asyncio.ensure_future(swift.pump())
    return swift, pump


async def signal(args, swift, pc, before_offer):
    """Offer/answer between aiortc and Swift; returns (offer sdp, answer sdp)."""
    if args.swift_role == "offer":
        offer = await swift.wait_for(lambda e: e["type"] == "offer")
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        enlarge_socket_buffers(pc)
        swift.send({"type": "answer", "sdp": pc.localDescription.sdp})
        return offer["sdp"], pc.localDescription.sdp
    before_offer()
    await pc.setLocalDescription(await pc.createOffer())
    enlarge_socket_buffers(pc)
    swift.send({"type": "offer", "sdp": pc.localDescription.sdp})
    answer = await swift.wait_for(lambda e: e["type"] == "answer")
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc.localDescription.sdp, answer["sdp"]


def enlarge_socket_buffers(pc):
    """docs/WIRE.md, "Sockets": a default-sized UDP receive buffer drops bursts (a 64 KiB message
    is ~55 datagrams) and an unordered maxRetransmits 0 channel then loses whole messages. Give
    aiortc's sockets the 4 MiB our own sockets have, so the test judges the stacks, not the kernel."""
    import socket
    for transceiver_transport in {t for t in [pc.sctp and pc.sctp.transport] if t}:
        gatherer = transceiver_transport.transport.iceGatherer
        for protocol in getattr(gatherer._connection, "_protocols", []):
            sock = protocol.transport.get_extra_info("socket")
            for option, force in ((socket.SO_RCVBUF, 33), (socket.SO_SNDBUF, 32)):  # SO_*BUFFORCE
                try:
                    sock.setsockopt(socket.SOL_SOCKET, force, 4 << 20)
                except OSError:
                    sock.setsockopt(socket.SOL_SOCKET, option, 4 << 20)


def setup_of(sdp):
    for line in sdp.splitlines():
        if line.startswith("a=setup:"):
            return line.split(":", 1)[1].strip()
    return None


async def interop(args):
    swift, pump = await start_swift(args, "interop")
    pc = RTCPeerConnection()
    result = {"swift_role": args.swift_role, "aiortc_channels": {}, "aiortc_verified": {},
              "aiortc_saw_close": [], "remote_channels": {}}
    echoed_closed = asyncio.get_running_loop().create_future()

    @pc.on("datachannel")
    def on_datachannel(channel):
        result["remote_channels"][channel.label] = {
            "ordered": channel.ordered, "maxRetransmits": channel.maxRetransmits, "id": channel.id,
            "maxPacketLifeTime": channel.maxPacketLifeTime, "protocol": channel.protocol}

        @channel.on("message")
        def on_message(message):
            channel.send(message)

        @channel.on("close")
        def on_close():
            result["aiortc_saw_close"].append(channel.label)
            if channel.label == "swift-reliable" and not echoed_closed.done():
                echoed_closed.set_result(True)

    own = {}

    def create_own():
        own["py-reliable"] = pc.createDataChannel("py-reliable")
        own["py-lossy"] = pc.createDataChannel("py-lossy", ordered=False, maxRetransmits=0)

    offer_sdp, answer_sdp = await signal(args, swift, pc, create_own)
    result["offer_setup"], result["answer_setup"] = setup_of(offer_sdp), setup_of(answer_sdp)
    await swift.wait_for(lambda e: e["type"] == "state" and e["state"] == "connected")
    if not own:
        create_own()

    async def run_own(label, channel):
        expected = [pattern(size, len(label)) for size in SIZES] + [f"hello from aiortc: {label}"]
        received = []
        done = asyncio.get_running_loop().create_future()

        @channel.on("message")
        def on_message(message):
            received.append(message)
            if len(received) == len(expected) and not done.done():
                done.set_result(True)

        if channel.readyState != "open":
            opened = asyncio.get_running_loop().create_future()
            channel.on("open", lambda: opened.done() or opened.set_result(True))
            await asyncio.wait_for(opened, 20)
        for message in expected:
            channel.send(message)
        try:
            await asyncio.wait_for(done, 20)
        except asyncio.TimeoutError:
            pass
        if channel.ordered:
            ok = received == expected
        else:
            ok = sorted(map(str, received)) == sorted(map(str, expected))
        result["aiortc_verified"][label] = {"ok": ok, "count": len(received), "expected": len(expected)}

    await asyncio.gather(*(run_own(label, channel) for label, channel in own.items()))

    # aiortc closes its reliable channel: Swift must see the stream reset and report it closed.
    own["py-reliable"].close()
    await swift.wait_for(lambda e: e["type"] == "closed" and e["label"] == "py-reliable")
    # Swift closes its reliable channel itself after verifying; aiortc must see that close.
    await swift.wait_for(lambda e: e["type"] == "done", timeout=40)
    try:
        await asyncio.wait_for(echoed_closed, 10)
    except asyncio.TimeoutError:
        pass
    swift.send({"type": "close"})
    await swift.wait_for(lambda e: e["type"] == "bye", timeout=10)
    await pc.close()
    await asyncio.wait_for(swift.proc.wait(), 10)
    await pump
    result["swift_events"] = [e for e in swift.events if e["type"] not in ("offer", "answer")]
    result["swift_exit"] = swift.proc.returncode
    return result


async def bench_aiortc_pair(args):
    """aiortc ↔ aiortc in one process (the baseline), same runs as the Swift benchmark."""
    a, b = RTCPeerConnection(), RTCPeerConnection()
    channels = {"lossy": a.createDataChannel("lossy", ordered=False, maxRetransmits=0),
                "reliable": a.createDataChannel("reliable"), "rtt": a.createDataChannel("rtt")}
    remote = {}
    arrived = asyncio.Event()

    @b.on("datachannel")
    def on_dc(channel):
        remote[channel.label] = channel
        if len(remote) == 3:
            arrived.set()

    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    enlarge_socket_buffers(a)
    enlarge_socket_buffers(b)
    await asyncio.wait_for(arrived.wait(), 20)
    for channel in channels.values():
        while channel.readyState != "open":
            await asyncio.sleep(0.01)
    results = []
    for label in ("lossy", "reliable"):
        results.append(await throughput(channels[label], remote[label], args.bench_bytes, label))
    remote["rtt"].on("message", lambda m: remote["rtt"].send(m))
    results.append(await round_trips(channels["rtt"], args.round_trips))
    await a.close()
    await b.close()
    return {"pair": "aiortc-aiortc", "results": results}


def cpu_seconds():
    times = os.times()
    return times.user + times.system


async def throughput(sender, receiver, total_bytes, label, size=16000):
    count = max(1, total_bytes // size)
    state = {"received": 0, "last": time.perf_counter()}
    done = asyncio.Event()

    def on_message(message):
        state["received"] += 1
        state["last"] = time.perf_counter()
        if state["received"] == count:
            done.set()

    receiver.on("message", on_message)
    payload = b"\x5a" * size
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    sender.bufferedAmountLowThreshold = 1 << 20
    low = asyncio.Event()
    sender.on("bufferedamountlow", low.set)
    for _ in range(count):
        if sender.bufferedAmount > 4 << 20:
            low.clear()
            await low.wait()
        sender.send(payload)
    while not done.is_set():
        seen = state["received"]
        try:
            await asyncio.wait_for(done.wait(), 2)
        except asyncio.TimeoutError:
            if state["received"] == seen:
                break
    elapsed = state["last"] - start
    megabytes = state["received"] * size / 1e6
    return {"run": f"throughput-{label}", "sent": count, "received": state["received"], "seconds": elapsed,
            "MBps": megabytes / max(elapsed, 1e-9), "cpuSecondsPerMB": (cpu_seconds() - cpu0) / max(megabytes, 1e-9)}


async def round_trips(channel, count):
    samples = []
    queue = asyncio.Queue()
    channel.on("message", queue.put_nowait)
    payload = b"\x42" * 256
    for _ in range(count):
        start = time.perf_counter()
        channel.send(payload)
        await asyncio.wait_for(queue.get(), 5)
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    pick = lambda p: samples[min(len(samples) - 1, int(len(samples) * p))]
    return {"run": "rtt-256B", "count": len(samples), "p50ms": pick(0.5), "p99ms": pick(0.99)}


async def bench_swift_aiortc(args):
    """Swift offers and sends; aiortc sinks lossy/reliable (answering "count:<n>") and echoes rtt."""
    swift, pump = await start_swift(args, "bench")
    pc = RTCPeerConnection()

    @pc.on("datachannel")
    def on_dc(channel):
        if channel.label == "rtt":
            channel.on("message", lambda m: channel.send(m))
            return
        state = {"expected": None, "count": 0, "last": time.perf_counter()}

        def on_message(message):
            if isinstance(message, str) and message.startswith("start:"):
                state["expected"] = int(message[6:])
                asyncio.ensure_future(watch())
                return
            state["count"] += 1
            state["last"] = time.perf_counter()
            if state["count"] == state["expected"]:
                channel.send(f"count:{state['count']}")
                state["expected"] = -1

        async def watch():
            while state["expected"] not in (-1, None):
                await asyncio.sleep(0.25)
                if time.perf_counter() - state["last"] > 2:
                    channel.send(f"count:{state['count']}")
                    state["expected"] = -1

        channel.on("message", on_message)

    await signal(args, swift, pc, lambda: None)
    event = await swift.wait_for(lambda e: e["type"] == "bench", timeout=300)
    swift.send({"type": "close"})
    await pc.close()
    await asyncio.wait_for(swift.proc.wait(), 20)
    await pump
    return {"pair": "swift-aiortc", "results": event["results"]}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trackbag")
    parser.add_argument("mode", choices=["interop", "bench"])
    parser.add_argument("--swift-role", default="offer")
    parser.add_argument("--swift-setup", default="active")
    parser.add_argument("--lite", action="store_true")
    parser.add_argument("--bench-bytes", type=int, default=64_000_000)
    parser.add_argument("--round-trips", type=int, default=2000)
    args = parser.parse_args()
    if args.mode == "interop":
        result = await asyncio.wait_for(interop(args), 120)
    else:
        args.swift_role = "offer"
        result = {"swift-aiortc": await asyncio.wait_for(bench_swift_aiortc(args), 400),
                  "aiortc-aiortc": await asyncio.wait_for(bench_aiortc_pair(args), 400)}
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

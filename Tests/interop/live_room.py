"""What the live-room drivers share (run inside scripts/netns-run): tokens, starting and
stopping `trackbag serve`, collecting a subprocess's lines, and the in-order-subset check."""
import asyncio
import json
import logging
import math
import os
import signal
import subprocess
import time

from livekit import api

STEP = 30.0



def testpeer(trackbag):
    """`trackbag-testpeer` (room-peer, webrtc-peer, mcap-tool…), built beside `trackbag`."""
    return os.path.join(os.path.dirname(os.path.abspath(trackbag)), "trackbag-testpeer")

def token(identity, room):
    grant = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


class SwiftPeer:
    """trackbag-testpeer room-peer: commands on stdin, JSON lines on stdout. `address`: the
    local address for its ICE candidates (default: the interface addresses). Frames read with
    `timing_only` arrive as `timings`: (arrival on our clock, latency ms, the peer's receive
    time in Unix ns, user timestamp), kept apart so waiting never scans them."""

    def __init__(self, trackbag, url, token, address=None):
        self.args = [testpeer(trackbag), "room-peer", "--url", url, "--token", token]
        if address:
            self.args += ["--address", address]
        self.lines = asyncio.Queue()
        self.log = []
        self.timings = []

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(*self.args, stdin=asyncio.subprocess.PIPE,
                                                         stdout=asyncio.subprocess.PIPE,
                                                         stderr=asyncio.subprocess.DEVNULL, limit=1 << 24)
        asyncio.get_running_loop().create_task(self._read())
        return await self.wait(lambda m: m.get("event") in ("joined", "connect_failed"))

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                await self.lines.put({"event": "_eof"})
                return
            message = json.loads(line)
            if message.get("event") == "timing":
                self.timings.append((time.monotonic(), (message["recv_ns"] - message["user_timestamp"]) / 1e6,
                                     message["recv_ns"], message["user_timestamp"]))
                continue
            self.log.append(message)
            await self.lines.put(message)

    def send(self, command):
        self.proc.stdin.write((json.dumps(command) + "\n").encode())

    async def wait(self, predicate, timeout=STEP):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"waiting on swift peer; last: {self.log[-5:]}")
            try:
                message = await asyncio.wait_for(self.lines.get(), remaining)
            except asyncio.TimeoutError:
                raise TimeoutError(f"waiting on swift peer; last: {self.log[-5:]}") from None
            if message.get("event") == "_eof":
                raise RuntimeError(f"swift peer exited; last: {self.log[-5:]}")
            if predicate(message):
                return message

    async def quit(self):
        """Ends the peer by PID (a `stream` command may still be running, which holds its
        command loop): SIGTERM, then SIGKILL."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()


def start_server(trackbag, workdir, addr, *extra, dev=True):
    """`trackbag serve` on `addr` (ports chosen by the kernel), its stderr in WORKDIR/server.log;
    returns (process, ws URL). `dev`: the development key devkey/secret, which `serve` only uses
    on a non-loopback address (the test namespace's) when asked with --dev."""
    proc = subprocess.Popen([trackbag, "serve", "--host", addr, "--port", "0", "--rtc-port", "0", "--node-ip", addr,
                             *(["--dev"] if dev else []), *extra],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, "server.log"), "w"), text=True)
    return proc, server_url(proc)


def start_loopback_server(trackbag, *extra, stderr=subprocess.DEVNULL):
    """`trackbag serve` on 127.0.0.1 (ports chosen by the kernel) for tests with trackbag's own
    participants only (no root, no namespace); returns (process, ws URL). `stderr`: where its
    log goes (subprocess.PIPE to read it). A server that does not report its URL is ended."""
    proc = subprocess.Popen([trackbag, "serve", "--host", "127.0.0.1", "--port", "0", "--rtc-port", "0",
                             "--node-ip", "127.0.0.1", *extra], stdout=subprocess.PIPE, stderr=stderr, text=True)
    return proc, server_url(proc)


def server_url(proc):
    """The ws URL a starting `trackbag serve` prints on its stdout ("listening on URL"); a
    server that does not print it within STEP seconds is ended and the test fails."""
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            return line.strip().split("listening on ")[1]
    stop(proc, timeout=5)
    raise AssertionError("server did not report its URL")


def udp_counters():
    """The namespace's UDP counters (/proc/net/snmp is per network namespace): datagrams the
    kernel dropped because a socket's receive buffer was full show here (RcvbufErrors), before
    any process."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))


def udp_socket_drops(pid):
    """Datagrams the kernel dropped because a receive buffer was full, for each UDP socket that
    process `pid` holds: {"ip:port": drops}. Read from the `drops` column of /proc/PID/net/udp
    and udp6 (this namespace's sockets), matched by inode to the process's descriptors, so a
    loss is attributed to one receiver and not to the whole namespace. Take it while the
    sockets are open: the count goes with the socket."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        return {}
    drops = {}
    for table in ("udp", "udp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                rows = [line.split() for line in f][1:]
        except OSError:
            continue
        for row in rows:
            # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            if len(row) >= 13 and int(row[9]) in inodes:
                address, port = row[1].rsplit(":", 1)
                if len(address) == 8:  # IPv4, in host (little-endian) byte order
                    address = ".".join(str(b) for b in bytes.fromhex(address)[::-1])
                drops[f"{address}:{int(port, 16)}"] = int(row[12])
    return drops


class SDKDropCounter(logging.Handler):
    """Counts what the official SDK says it dropped after receiving it, from its own debug log
    (livekit-datatrack `remote/manager.rs`: a track's pipeline queue holds 16 packets and a
    packet that finds it full is dropped; the depacketizer reports frames it gave up; a
    subscription whose frame buffer overflowed lags). A frame a viewer lacks is then attributed
    to the SDK, the kernel (udp_socket_drops) or the server (its counters), never assumed.
    The SDK hands its debug records to Python only with LIVEKIT_RTC_DEBUG set."""
    NEEDLES = {"pipeline_full": "Cannot send packet to track pipeline", "frame_dropped": " dropped: ",
               "frames_lagged": "Cannot send frame to subscribers",
               # A packet for a handle the SDK already forgot (its track was unpublished).
               "unknown_handle": "Unknown subscriber handle",
               # A packet for a track it is not (yet, or no longer) subscribed to.
               "not_subscribed": " without subscription",
               # The publishing side: a track's packets found the transport queue full.
               "transport_full": "Cannot send packets to transport"}

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.counts = {key: 0 for key in self.NEEDLES}

    @classmethod
    def install(cls):
        os.environ["LIVEKIT_RTC_DEBUG"] = "1"
        counter = cls()
        logger = logging.getLogger("livekit")
        logger.addHandler(counter)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        return counter

    def emit(self, record):
        message = record.getMessage()
        for key, needle in self.NEEDLES.items():
            if needle in message:
                self.counts[key] += 1

    def snapshot(self):
        return dict(self.counts)

    def since(self, before):
        return {key: self.counts[key] - before.get(key, 0) for key in self.counts}


def read_lines_blocking(stream, into):
    """Collects a subprocess stream's lines from a thread (for tests without an event loop)."""
    for line in iter(stream.readline, ""):
        into.append(line.rstrip("\n"))


def wait_until(predicate, timeout, what, poll=0.02):
    """Polls `predicate` until it holds; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def imu_recording(trackbag, workdir, frames):
    """A .tbag of `robot/imu`, `frames` frames 10 ms apart, user timestamp = index, payload =
    the index as 4 big-endian bytes: written as JSON lines and turned into a file by
    `trackbag import`. Returns its path."""
    import base64
    import json
    jsonl = os.path.join(workdir, "in.jsonl")
    t0 = 1_790_000_000_000_000_000
    with open(jsonl, "w") as f:
        for i in range(frames):
            f.write(json.dumps({"identity": "robot", "track": "imu", "time_ns": t0 + i * 10_000_000, "user_timestamp": i,
                                "payload_b64": base64.b64encode(i.to_bytes(4, "big")).decode()}) + "\n")
    tbag = os.path.join(workdir, "in.tbag")
    subprocess.run([trackbag, "import", jsonl, "--out", tbag], check=True, capture_output=True, timeout=60)
    return tbag


def stop(proc, sig=signal.SIGTERM, timeout=20):
    """Ends a process we started: `sig`, then SIGKILL after `timeout`; its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            return "killed"
    return proc.returncode


async def leave_and_stop(rooms, *procs):
    """The end of a driver: every SDK room it joined leaves (one that fails to is passed over:
    its process is ending anyway), then each process it started, in order, is stopped."""
    for room in rooms:
        try:
            await room.disconnect()
        except Exception:
            pass
    for proc in procs:
        if proc is not None:
            stop(proc)


async def read_lines(stream, into, event=None, needle=None, count=0):
    """Collects lines of a subprocess stream; sets `event` once `count` lines contain `needle`."""
    seen = 0
    while True:
        line = await stream.readline()
        if not line:
            return
        text = line.decode(errors="replace").rstrip()
        into.append(text)
        if needle and needle in text:
            seen += 1
            if event is not None and seen >= count:
                event.set()


def percentile(values, q):
    """Nearest rank (the q-quantile is the ceil(q·n)-th smallest), as LatenessHistogram does;
    None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def in_order_subset(part, whole):
    """True when `part` is `whole` with some items left out, order kept."""
    it = iter(whole)
    return all(any(x == y for y in it) for x in part)


def run_then_exit(main):
    """Runs a driver's coroutine, then leaves with os._exit: LiveKit's native SDK runtime
    (livekit 1.2.1) can abort during interpreter shutdown after a finished run ("panic in a
    function that cannot unwind", exit 134), which would turn a good result into a failure.
    Every process a driver starts is ended in its own `finally` blocks before this returns."""
    import asyncio
    import sys
    import traceback
    status = 0
    try:
        asyncio.run(main)
    except SystemExit as e:
        if isinstance(e.code, int):
            status = e.code
        else:
            print(e.code, file=sys.stderr)
            status = 1
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def read_every_track(room, on_frame, buffer_size=1024):
    """Subscribes to every data track `room` sees published; `on_frame(track, frame)` gets each
    frame. Returns the list of reader tasks (cancel them when done)."""
    import asyncio
    readers = []

    def on_published(track):
        async def read():
            async for frame in track.subscribe(buffer_size=buffer_size):
                on_frame(track, frame)
        readers.append(asyncio.ensure_future(read()))

    room.on("data_track_published", on_published)
    return readers


async def pipe(src, dst):
    """Copies a stream to another until EOF (a TCP relay's one direction), then closes `dst`."""
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except Exception:
        pass
    finally:
        dst.close()


async def wait_finished(proc, readers, err_lines, what, timeout=120):
    """Waits for a process we started and its output readers; if it does not end in `timeout`
    seconds it is killed and the failure names it, with the end of its stderr."""
    import asyncio
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        await readers
        raise RuntimeError(f"{what} did not finish in {timeout} s; its stderr:\n" + "\n".join(err_lines[-40:]))
    await readers


def proc_stats(pid):
    """(CPU seconds user+system, RSS KiB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        rss = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    return cpu, rss


async def push_latency_stream(local, rate, total, size):
    """Pushes `total` frames of `size` bytes on absolute deadlines at `rate` Hz, each with its
    sequence number first and the send time (`time.time_ns()`) as user timestamp, so a
    subscriber on the same host reads latency. Returns (push failures, achieved rate)."""
    import asyncio
    from livekit import rtc
    failures = 0
    filler = bytes(size - 8)
    start = time.monotonic()
    for seq in range(total):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            local.try_push(rtc.DataTrackFrame(payload=seq.to_bytes(8, "big") + filler, user_timestamp=time.time_ns()))
        except Exception:
            failures += 1
    return failures, total / (time.monotonic() - start)

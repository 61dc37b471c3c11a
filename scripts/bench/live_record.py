"""Live-recording benchmark, run INSIDE scripts/netns-run by the pinned venv python.

usage: live_record.py TRACKBAG [--rates 1000,10000,50000] [--seconds 10] [--tracks 16]
                      [--size 256] [--publisher sdk,swift] [--publishers N] [--buffer-size N]
                      [--compression zstd|lz4] [--no-baseline] [--alone RATE|0] [--keep]
                      [--hog N] [--record-args "--nice -10 …"] [--label TEXT]

Per rate, a fresh `trackbag serve` on TB_ADDR_A; SDK publisher processes (livekit==1.2.1, this
file in `publisher` mode) publish the data tracks and push 256-byte frames with user timestamps
on absolute deadlines. The SDK's data-track sender holds ONE pending frame (drop-oldest) and
sends only while at most 8 KiB wait in its data channel (rust-sdks rtc_engine/dc_sender.rs), so
frames pushed in a burst evict each other although `try_push` succeeded: what reaches the server
stays near 2k frames/s here whatever the rate (spacing pushes 100 µs apart raised it from 45% to
77% at 5k/s). So the same rates are also run with `--publisher swift`: one `trackbag-testpeer room-peer`
(our RoomClient) pushing the same frames, which reaches 35-45k frames/s here.
Two recorders join the room as separate participants and record the
same stream at the same time:
  - `trackbag record` (identity trackbag-recorder), and
  - the baseline a user would otherwise write (this file in `baseline` mode, identity
    mcap-baseline): the SDK's `rtc.Room`, one subscription per data track, every frame written
    to MCAP with the `mcap` library (one channel per track, zstd chunks).
Loss is judged against the server's own account (`serve: ID left: … as subscriber Q queued,
S sent, D dropped, U unsent`): a 256-byte frame is one data-track packet, so S is the number of
frames the server handed to that recorder's transport; recorder-caused loss = S − frames in its
file. CPU is utime+stime from /proc/PID/stat over the window [publishers start, recorders told
to stop] as % of one core; RSS (VmRSS) is sampled every 0.5 s. Figures are printed, never
asserted (benchmarks; the smoke test in Tests/interop only checks that the run worked).

A busy machine: `--hog N` runs N busy-looping processes (nice 0) for each rate's whole run,
started before the publishers and ended by PID after it; `--record-args` adds options to
`trackbag record` (e.g. `--nice -10`, `--realtime 10`) to measure what they win back
(scripts/bench-recorder-priority.sh runs that matrix).

The last stdout line is JSON with every figure (for the smoke test and for scripts).
"""
import asyncio
import json
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import warnings

from livekit import api, rtc

# trackbag-testpeer is found the way the interop tests find it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "interop"))
from live_room import run_then_exit, testpeer, udp_counters  # noqa: E402

# The dev server's API secret is the well-known 6-byte "secret"; PyJWT warns on every token.
warnings.filterwarnings("ignore", message="The HMAC key")

ADDR = os.environ.get("TB_ADDR_A", "10.99.0.1")
STEP = 30.0  # bound on every single wait (connect, publish, subscribe, exit)
TICKS = os.sysconf("SC_CLK_TCK")


def arg(name, default, kind=str):
    return kind(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def token(identity, room, publish):
    grant = api.VideoGrants(room_join=True, room=room, can_publish=publish, can_subscribe=not publish,
                            can_publish_data=publish)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


def log(text):
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# publisher mode: live_record.py publisher URL ROOM IDENTITY NAMES(comma) RATE_PER_TRACK SIZE
# Prints {"ready": …} once every track is published, waits for `go T0 SECONDS` on stdin (T0 on
# CLOCK_MONOTONIC, shared by every process of the host), pushes, prints the result, waits `quit`.

async def publisher_main():
    url, room_name, identity, names, per_track, size = sys.argv[2:8]
    names = names.split(",")
    per_track, size = float(per_track), int(size)
    room = rtc.Room()
    await asyncio.wait_for(room.connect(url, token(identity, room_name, True)), STEP)
    tracks = []
    for name in names:
        tracks.append(await asyncio.wait_for(room.local_participant.publish_data_track(name=name), STEP))
    print(json.dumps({"ready": identity}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    command = (await reader.readline()).decode().split()
    t0, seconds = float(command[1]), float(command[2])
    rate = per_track * len(tracks)  # this process's aggregate frames/s
    total = int(round(rate * seconds))
    filler = bytes(range(256)) * (size // 256 + 1)
    filler = filler[: max(0, size - 16)]
    pushed = failed = 0
    i = 0
    count = len(tracks)
    track_ids = [int(n.rsplit("-", 1)[1]) for n in names]
    while time.monotonic() < t0:
        await asyncio.sleep(min(0.01, max(0.0, t0 - time.monotonic())))
    cpu0 = os.times()
    late_max = 0.0
    while i < total:
        now = time.monotonic()
        if now >= t0 + seconds + 0.05:
            break  # out of time: what was not pushed by the deadline counts as not pushed
        due = min(total, int((now - t0) * rate) + 1)
        if due > i:
            late_max = max(late_max, now - (t0 + i / rate))
        ts = time.time_ns() // 1000
        while i < due:
            k = i % count
            # seq (8 B) and track id (8 B) first, so a frame is identifiable in any file.
            payload = struct.pack(">QQ", i // count, track_ids[k]) + filler
            try:
                tracks[k].try_push(rtc.DataTrackFrame(payload=payload, user_timestamp=ts))
                pushed += 1
            except Exception:
                failed += 1
            i += 1
        # Next deadline: the next frame's absolute time (at least yield to the event loop).
        await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
    elapsed = time.monotonic() - t0
    cpu1 = os.times()
    print(json.dumps({"identity": identity, "target": total, "pushed": pushed, "failed": failed,
                      "not_pushed_in_time": total - i, "elapsed_s": round(elapsed, 3),
                      "late_max_ms": round(late_max * 1000, 2),
                      "cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 3)}), flush=True)
    await asyncio.wait_for(reader.readline(), 120)
    await room.disconnect()


# ---------------------------------------------------------------------------------------------
# baseline mode: live_record.py baseline URL ROOM IDENTITY OUT.mcap BUFFER_SIZE COMPRESSION
# What a user would write with the SDK and the mcap library. Stops on SIGINT/SIGTERM: drains
# until no frame came for 0.5 s (at most 10 s), closes the MCAP file, prints its counts.

async def baseline_main():
    from mcap.writer import CompressionType, Writer

    url, room_name, identity, out, buffer_size, compression = sys.argv[2:8]
    buffer_size = int(buffer_size)
    stream = open(out, "wb")
    writer = Writer(stream, compression=CompressionType.LZ4 if compression == "lz4" else CompressionType.ZSTD)
    writer.start(profile="", library="livekit-sdk-baseline")
    counts = {}
    last_frame = [time.monotonic()]
    readers = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    async def read(track, channel, key):
        sequence = 0
        try:
            async for frame in track.subscribe(buffer_size=buffer_size):
                now = time.time_ns()
                # The user timestamp is the publisher's opaque u64 (µs from the SDK publishers, ns
                # from room-peer); it goes into publish_time unchanged.
                writer.add_message(channel_id=channel, log_time=now, data=bytes(frame.payload),
                                   publish_time=frame.user_timestamp or now, sequence=sequence)
                sequence += 1
                counts[key] = sequence
                last_frame[0] = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a reader that dies would silently unsubscribe: say so
            log(f"baseline reader {key} failed: {e!r}")

    def on_published(track):
        key = f"{track.publisher_identity}/{track.info.name}"
        channel = writer.register_channel(topic=key, message_encoding="application/octet-stream", schema_id=0)
        counts[key] = 0
        readers.append(asyncio.ensure_future(read(track, channel, key)))
        print(json.dumps({"subscribed": key}), flush=True)

    room = rtc.Room()
    room.on("data_track_published", on_published)
    await asyncio.wait_for(room.connect(url, token(identity, room_name, False)), STEP)
    # Tracks already in the room when we joined arrive as `data_track_published` events too.
    await stop.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and time.monotonic() - last_frame[0] < 0.5:
        await asyncio.sleep(0.05)
    for r in readers:
        r.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    writer.finish()
    stream.close()
    await room.disconnect()
    print(json.dumps({"written": sum(counts.values()), "tracks": counts}), flush=True)


# ---------------------------------------------------------------------------------------------
# driver

def proc_cpu_s(pid):
    """utime + stime of a process (all threads), seconds; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return None


def proc_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


LEAVE = re.compile(r"serve: (\S+) left: published (\d+) packets \((\d+) B\); as subscriber (\d+) queued, "
                   r"(\d+) sent, (\d+) dropped, (\d+) unsent")


async def lines_of(stream, into, wake=None):
    while True:
        line = await stream.readline()
        if not line:
            return
        into.append(line.decode(errors="replace").rstrip())
        if wake is not None:
            wake.set()


async def wait_for_lines(lines, wake, predicate, count, what, proc):
    deadline = time.monotonic() + STEP
    while sum(1 for l in lines if predicate(l)) < count:
        if proc.returncode is not None:
            raise RuntimeError(f"{what}: process exited ({proc.returncode}): {lines[-5:]}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"{what}: timed out; last lines {lines[-5:]}")
        wake.clear()
        try:
            await asyncio.wait_for(wake.wait(), remaining)
        except asyncio.TimeoutError:
            pass


async def end(proc, sig=signal.SIGTERM, timeout=STEP):
    """Ends a process we started, by its PID: `sig`, then SIGKILL after `timeout`."""
    if proc.returncode is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            return "killed"
    return proc.returncode


class Sampler:
    """VmRSS of some processes every 0.5 s."""

    def __init__(self, pids):
        self.pids = pids
        self.samples = {name: [] for name in pids}
        self.task = asyncio.ensure_future(self.run())

    async def run(self):
        while True:
            for name, pid in self.pids.items():
                rss = proc_rss_kib(pid)
                if rss is not None:
                    self.samples[name].append(rss)
            await asyncio.sleep(0.5)

    def stop(self):
        self.task.cancel()


class SDKPublisher:
    """One SDK publisher process (this file in `publisher` mode) for some of the tracks."""

    def __init__(self, url, room_name, identity, names, per_track, size):
        self.args = (url, room_name, identity, ",".join(names), str(per_track), str(size))
        self.identity = identity
        self.lines, self.wake = [], asyncio.Event()

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "publisher", *self.args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        self.reader = asyncio.ensure_future(lines_of(self.proc.stdout, self.lines, self.wake))
        return self.proc

    async def ready(self):
        await wait_for_lines(self.lines, self.wake, lambda l: '"ready"' in l, 1, "SDK publisher", self.proc)

    async def go(self, t0, seconds):
        self.proc.stdin.write(f"go {t0} {seconds}\n".encode())
        await self.proc.stdin.drain()

    async def result(self):
        await wait_for_lines(self.lines, self.wake, lambda l: '"pushed"' in l, 1, "SDK publisher result", self.proc)
        return json.loads(next(l for l in self.lines if '"pushed"' in l))

    async def quit(self):
        if self.proc.returncode is None:
            self.proc.stdin.write(b"quit\n")
        try:
            await asyncio.wait_for(self.proc.wait(), STEP)  # it leaves the room on `quit`
        except asyncio.TimeoutError:
            await end(self.proc, signal.SIGKILL, 5)


class SwiftPublisher:
    """`trackbag-testpeer room-peer` (our RoomClient) publishing every track and pushing with its
    `stream` command: the same frames as the SDK publishers, from a publisher that is not capped
    by the SDK's sender, so the recorders can be driven at the target rates."""

    def __init__(self, trackbag, url, room_name, identity, names, rate, size):
        self.trackbag, self.url, self.room_name, self.identity = trackbag, url, room_name, identity
        self.names, self.rate, self.size = names, rate, size
        self.lines, self.wake = [], asyncio.Event()

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            testpeer(self.trackbag), "room-peer", "--url", self.url, "--token", token(self.identity, self.room_name, True),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            limit=1 << 20)
        self.reader = asyncio.ensure_future(lines_of(self.proc.stdout, self.lines, self.wake))
        return self.proc

    def replies(self, kind):
        out = []
        for line in self.lines:
            if line.startswith("{"):
                message = json.loads(line)
                if message.get("reply") == kind:
                    out.append(message)
        return out

    async def ready(self):
        for name in self.names:
            self.proc.stdin.write((json.dumps({"cmd": "publish", "track": name}) + "\n").encode())
        await self.proc.stdin.drain()
        await wait_for_lines(self.lines, self.wake, lambda l: '"reply":"publish"' in l, len(self.names),
                             "Swift publisher", self.proc)
        failed = [r for r in self.replies("publish") if not r.get("ok")]
        if failed:
            raise RuntimeError(f"Swift publisher could not publish: {failed}")

    async def go(self, t0, seconds):
        self.count = int(round(self.rate * seconds))
        while time.monotonic() < t0:
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        self.proc.stdin.write((json.dumps({"cmd": "stream", "tracks": self.names, "rate": self.rate,
                                           "size": self.size, "count": self.count}) + "\n").encode())
        await self.proc.stdin.drain()

    async def result(self):
        await wait_for_lines(self.lines, self.wake, lambda l: '"reply":"stream"' in l, 1, "Swift publisher result",
                             self.proc)
        r = self.replies("stream")[0]
        return {"identity": self.identity, "target": self.count, "pushed": r["sent"], "failed": r["dropped"],
                "not_pushed_in_time": 0, "elapsed_s": round(r["seconds"], 3), "late_max_ms": None}

    async def quit(self):
        if self.proc.returncode is None:
            self.proc.stdin.write(b'{"cmd":"quit"}\n')
        try:
            await asyncio.wait_for(self.proc.wait(), STEP)
        except asyncio.TimeoutError:
            await end(self.proc, signal.SIGKILL, 5)


async def one_rate(trackbag, kind, rate, seconds, ntracks, size, publishers, buffer_size, compression, workdir,
                   with_baseline=True, with_trackbag=True, hog=0, record_args=()):
    room_name = f"bench-{kind}-{rate}"
    folder = tempfile.mkdtemp(prefix=f"{kind}-{rate}-", dir=workdir)
    server_log = open(os.path.join(folder, "server.log"), "w")
    server = await asyncio.create_subprocess_exec(
        trackbag, "serve", "--host", ADDR, "--port", "0", "--rtc-port", "0", "--node-ip", ADDR, "--dev",
        stdout=asyncio.subprocess.PIPE, stderr=server_log)
    started = []  # every process we start, ended by PID in `finally`
    for _ in range(hog):
        started.append(await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass"))
    result = {"hog_processes": hog, "record_args": list(record_args), "publisher": kind, "rate": rate, "seconds": seconds, "tracks": ntracks, "size": size, "publisher_processes": publishers}
    try:
        line = await asyncio.wait_for(server.stdout.readline(), STEP)
        m = re.search(r"listening on (\S+)", line.decode())
        if not m:
            raise RuntimeError(f"server did not report its URL: {line!r}")
        url = m.group(1)
        server_out = asyncio.ensure_future(server.stdout.read())

        # Publishers: tracks t-00 … t-15, split round-robin over the SDK processes.
        names = [f"t-{k:02d}" for k in range(ntracks)]
        if kind == "sdk":
            pubs = [SDKPublisher(url, room_name, f"pub-{p}", names[p::publishers], rate / ntracks, size)
                    for p in range(publishers)]
        else:
            pubs = [SwiftPublisher(trackbag, url, room_name, "swift-pub", names, rate, size)]
        for pub in pubs:
            started.append(await pub.start())
        for pub in pubs:
            await pub.ready()

        # The two recorders, joined after every track is published.
        tbag = os.path.join(folder, "live.tbag")
        rec_out, rec_err, rec_wake, rec_readers, recorder = [], [], asyncio.Event(), [], None
        if with_trackbag:
            recorder = await asyncio.create_subprocess_exec(
                trackbag, "record", "--url", url, "--room", room_name, "--out", tbag, *record_args,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            started.append(recorder)
            rec_readers = [asyncio.ensure_future(lines_of(recorder.stdout, rec_out)),
                           asyncio.ensure_future(lines_of(recorder.stderr, rec_err, rec_wake))]
        mcap_path = os.path.join(folder, "baseline.mcap")
        base_out, base_err, base_wake, base_readers, baseline = [], [], asyncio.Event(), [], None
        if with_baseline:
            baseline = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "baseline", url, room_name, "mcap-baseline", mcap_path, str(buffer_size),
                compression, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            started.append(baseline)
            base_readers = [asyncio.ensure_future(lines_of(baseline.stdout, base_out, base_wake)),
                            asyncio.ensure_future(lines_of(baseline.stderr, base_err))]
        if recorder:
            await wait_for_lines(rec_err, rec_wake, lambda l: "record: recording " in l, ntracks, "trackbag record",
                                 recorder)
        if baseline:
            await wait_for_lines(base_out, base_wake, lambda l: '"subscribed"' in l, ntracks, "baseline", baseline)
        # Subscriptions are confirmed by the server within a round trip.
        await asyncio.sleep(1.0)

        pids = {"server": server.pid}
        if recorder:
            pids["trackbag"] = recorder.pid
        if baseline:
            pids["baseline"] = baseline.pid
        sampler = Sampler(pids)
        await asyncio.sleep(0.6)
        t0 = time.monotonic() + 0.3
        cpu0 = {name: proc_cpu_s(pid) for name, pid in pids.items()}
        pub_cpu0 = [proc_cpu_s(pub.proc.pid) for pub in pubs]
        rss_start = {name: proc_rss_kib(pid) for name, pid in pids.items()}
        udp0 = udp_counters()
        wall0 = time.monotonic()
        await asyncio.gather(*(pub.go(t0, seconds) for pub in pubs))
        pushed = [await pub.result() for pub in pubs]
        pub_cpu1 = [proc_cpu_s(pub.proc.pid) for pub in pubs]
        # Frames in flight reach both recorders.
        await asyncio.sleep(1.5)
        cpu1 = {name: proc_cpu_s(pid) for name, pid in pids.items()}
        wall1 = time.monotonic()
        rss_end = {name: proc_rss_kib(pid) for name, pid in pids.items()}
        udp1 = udp_counters()
        sampler.stop()
        window = wall1 - wall0

        rec_exit = await end(recorder, signal.SIGINT) if recorder else None
        base_exit = await end(baseline, signal.SIGINT) if baseline else None
        await asyncio.gather(*rec_readers, *base_readers, return_exceptions=True)
        for pub in pubs:
            await pub.quit()
        server_exit = await end(server, signal.SIGTERM)
        server_out.cancel()
        server_log.close()

        # The server's account per participant.
        sessions = {}
        with open(os.path.join(folder, "server.log")) as f:
            for line in f:
                m = LEAVE.search(line)
                if m:
                    sessions[m.group(1)] = {"published": int(m.group(2)), "queued": int(m.group(4)),
                                            "sent": int(m.group(5)), "dropped": int(m.group(6)),
                                            "unsent": int(m.group(7))}
        # What each file holds.
        recorded = None
        if recorder:
            info = subprocess.run([trackbag, "info", tbag, "--json"], capture_output=True, text=True, timeout=120)
            recorded = json.loads(info.stdout)["frames"] if info.returncode == 0 else None
        written = None
        try:
            if not baseline:
                raise FileNotFoundError("no baseline in this run")
            from mcap.reader import make_reader
            with open(mcap_path, "rb") as f:
                summary = make_reader(f).get_summary()
                written = summary.statistics.message_count if summary and summary.statistics else None
        except Exception as e:  # an unreadable file is a figure too
            if baseline:
                log(f"baseline MCAP unreadable: {e}")
        base_result = next((json.loads(l) for l in base_out if l.startswith('{"written"')), {})
        published = sum(s["published"] for k, s in sessions.items() if k in {p.identity for p in pubs})

        def side(name, identity, frames, exit_status, path):
            s = sessions.get(identity, {})
            samples = sampler.samples.get(name, [])
            c0, c1 = cpu0.get(name), cpu1.get(name)
            return {
                "server_sent": s.get("sent"), "server_queued": s.get("queued"), "server_dropped": s.get("dropped"),
                "server_unsent": s.get("unsent"), "frames_in_file": frames,
                "loss": (s["sent"] - frames) if s and frames is not None else None,
                "cpu_percent": round(100 * (c1 - c0) / window, 1) if c0 is not None and c1 is not None else None,
                # CPU per frame it wrote: fair when one recorder is sent fewer frames than the other.
                "cpu_us_per_frame": (round(1e6 * (c1 - c0) / frames, 1)
                                     if c0 is not None and c1 is not None and frames else None),
                "rss_kib_start": rss_start.get(name), "rss_kib_max": max(samples) if samples else None,
                "rss_kib_end": rss_end.get(name), "exit": exit_status,
                "file_bytes": os.path.getsize(path) if os.path.exists(path) else None,
            }

        result.update({
            "url": url, "window_s": round(window, 3),
            "pushed": sum(p["pushed"] for p in pushed), "target": sum(p["target"] for p in pushed),
            "push_failed": sum(p["failed"] for p in pushed),
            "not_pushed_in_time": sum(p["not_pushed_in_time"] for p in pushed),
            "push_elapsed_s": max(p["elapsed_s"] for p in pushed),
            "publisher_late_max_ms": max((p["late_max_ms"] for p in pushed if p["late_max_ms"] is not None), default=None),
            "publishers_cpu_percent": round(100 * sum((b or 0) - (a or 0) for a, b in zip(pub_cpu0, pub_cpu1))
                                            / max(p["elapsed_s"] for p in pushed), 1),
            "server_published": published,
            "udp_rcvbuf_errors": udp1["RcvbufErrors"] - udp0["RcvbufErrors"],
            "udp_in_datagrams": udp1["InDatagrams"] - udp0["InDatagrams"],
            "server_cpu_percent": round(100 * (cpu1["server"] - cpu0["server"]) / window, 1),
            "server_rss_kib_max": max(sampler.samples["server"]) if sampler.samples["server"] else None,
            "server_exit": server_exit,
            "trackbag": side("trackbag", "trackbag-recorder", recorded, rec_exit, tbag),
            "baseline": side("baseline", "mcap-baseline", written, base_exit, mcap_path),
            "trackbag_summary": [l for l in rec_out if l.startswith("received ") or l.startswith("file ")],
            "baseline_summary": base_result.get("written"),
        })
        tb, bl = result["trackbag"], result["baseline"]
        result["cpu_ratio_baseline_over_trackbag"] = (round(bl["cpu_percent"] / tb["cpu_percent"], 2)
                                                      if tb["cpu_percent"] and bl["cpu_percent"] is not None else None)
        if recorder and rec_exit != 0:
            result["trackbag_stderr"] = rec_err[-5:]
        if (baseline and base_exit != 0) or any("failed" in l for l in base_err):
            result["baseline_stderr"] = [l for l in base_err if "failed" in l][-5:] or base_err[-5:]
        return result
    finally:
        for proc in started:
            await end(proc, signal.SIGKILL, 5)
        await end(server, signal.SIGTERM, 10)
        if not server_log.closed:
            server_log.close()


def mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def pct(part, whole):
    return f"{100 * part / whole:.2f}%" if whole else "-"


def table(r, binary_kind):
    tb, bl = r["trackbag"], r["baseline"]
    rows = [
        ("server sent to it (frames)", tb["server_sent"], bl["server_sent"], ""),
        ("  server queue dropped / unsent", f'{tb["server_dropped"]} / {tb["server_unsent"]}',
         f'{bl["server_dropped"]} / {bl["server_unsent"]}', ""),
        ("frames in its file", tb["frames_in_file"], bl["frames_in_file"], ""),
        ("recorder-caused loss (sent-file)",
         f'{tb["loss"]} ({pct(tb["loss"] or 0, tb["server_sent"])})',
         f'{bl["loss"]} ({pct(bl["loss"] or 0, bl["server_sent"])})', "0 at 50k/s"),
        ("CPU, % of one core", tb["cpu_percent"], bl["cpu_percent"], "trackbag <= 1/4 baseline"),
        ("CPU us per frame in its file", tb["cpu_us_per_frame"], bl["cpu_us_per_frame"], ""),
        ("RSS MiB start / max / end", f'{mib(tb["rss_kib_start"])} / {mib(tb["rss_kib_max"])} / {mib(tb["rss_kib_end"])}',
         f'{mib(bl["rss_kib_start"])} / {mib(bl["rss_kib_max"])} / {mib(bl["rss_kib_end"])}', "flat, < 100 MiB"),
        ("file bytes", tb["file_bytes"], bl["file_bytes"], ""),
        ("exit status", tb["exit"], bl["exit"], ""),
    ]
    who = (f'{r["publisher_processes"]} livekit SDK publisher process(es)' if r["publisher"] == "sdk"
           else "1 Swift publisher (trackbag-testpeer room-peer, our RoomClient)")
    if r.get("alone"):
        who += "; ONE RECORDER AT A TIME (two runs, same load)"
    out = [f'rate {r["rate"]} frames/s target: {r["tracks"]} tracks x {r["size"]} B, {r["seconds"]:g} s, {who}',
           f'  publishers pushed {r["pushed"]} of {r["target"]} ({r["pushed"] / r["push_elapsed_s"]:.0f} frames/s over '
           f'{r["push_elapsed_s"]:.2f} s; {r["push_failed"]} try_push failures, {r["not_pushed_in_time"]} not pushed in time'
           + (f', latest frame {r["publisher_late_max_ms"]} ms late)' if r["publisher_late_max_ms"] is not None else ")"),
           f'  server received {r["server_published"]} packets from them ({r["pushed"] - r["server_published"]} lost '
           f'between SDK and server); netns UDP: {r["udp_in_datagrams"]} datagrams in, '
           f'{r["udp_rcvbuf_errors"]} dropped for a full socket receive buffer',
           *([f'  baseline run: publishers pushed {r["baseline_run"]["pushed"]} of {r["baseline_run"]["target"]} over '
              f'{r["baseline_run"]["push_elapsed_s"]:.2f} s; server received {r["baseline_run"]["server_published"]}, '
              f'server {r["baseline_run"]["server_cpu_percent"]}%, publisher {r["baseline_run"]["publishers_cpu_percent"]}%']
             if r.get("alone") else []),
           f'  CPU window {r["window_s"]:.2f} s; publishers {r["publishers_cpu_percent"]}% of one core, '
           f'server {r["server_cpu_percent"]}% (RSS max {mib(r["server_rss_kib_max"])} MiB); 2 cores shared by all',
           f'  {"":34} {"trackbag record (" + binary_kind + ")":>26} {"python SDK + mcap":>22}   target']
    for label, a, b, target in rows:
        out.append(f"  {label:34} {str(a):>26} {str(b):>22}   {target}")
    ratio = r["cpu_ratio_baseline_over_trackbag"]
    per_frame = (round(bl["cpu_us_per_frame"] / tb["cpu_us_per_frame"], 2)
                 if tb.get("cpu_us_per_frame") and bl.get("cpu_us_per_frame") else None)
    r["cpu_per_frame_ratio_baseline_over_trackbag"] = per_frame
    out.append(f'  CPU ratio baseline / trackbag: {ratio if ratio is not None else "-"}x   (target >= 4x); '
               f'per frame written: {per_frame if per_frame is not None else "-"}x')
    for line in r["trackbag_summary"]:
        out.append(f"  trackbag: {line}")
    for key in ("trackbag_stderr", "baseline_stderr"):
        if key in r:
            out.append(f"  {key}: {r[key]}")
    return "\n".join(out)


async def driver_main():
    trackbag = os.path.abspath(sys.argv[1])
    rates = [int(x) for x in arg("--rates", "1000,10000,50000").split(",")]
    seconds = arg("--seconds", 10.0, float)
    ntracks = arg("--tracks", 16, int)
    size = arg("--size", 256, int)
    buffer_size = arg("--buffer-size", 1024, int)
    compression = arg("--compression", "zstd")
    fixed_publishers = arg("--publishers", 0, int)
    kinds = arg("--publisher", "sdk,swift").split(",")
    with_baseline = "--no-baseline" not in sys.argv
    alone_rate = arg("--alone", 50000, int)
    hog = arg("--hog", 0, int)
    record_args = tuple(arg("--record-args", "").split())
    if not set(kinds) <= {"sdk", "swift"}:
        raise SystemExit("--publisher takes sdk, swift or sdk,swift")
    binary_kind = "release" if "/release/" in os.path.realpath(trackbag) else (
        "debug" if "/debug/" in os.path.realpath(trackbag) else os.path.basename(trackbag))
    print(f"live recording benchmark: trackbag {os.path.realpath(trackbag)} ({binary_kind} build); "
          f"baseline: livekit {getattr(rtc, '__version__', '?')} SDK + mcap writer ({compression} chunks), "
          f"subscription buffer_size {buffer_size} on both; {os.cpu_count()} cores", flush=True)
    workdir = tempfile.mkdtemp(prefix="tb-live-bench-")
    results = []
    try:
        for kind in kinds:
            for rate in rates:
                # One Python SDK process pushes ~12.5k frames/s at most here; more run in parallel.
                publishers = fixed_publishers or max(1, min(ntracks, math.ceil(rate / 12_500)))
                if kind == "swift":
                    publishers = 1
                r = await one_rate(trackbag, kind, rate, seconds, ntracks, size, publishers, buffer_size, compression,
                                   workdir, with_baseline, hog=hog, record_args=record_args)
                results.append(r)
                print(table(r, binary_kind), flush=True)
        # The same load one recorder at a time: what each does with both cores to share with the
        # server and the publisher only (the concurrent runs above saturate 2 cores at 50k/s).
        if alone_rate and "swift" in kinds:
            ra = await one_rate(trackbag, "swift", alone_rate, seconds, ntracks, size, 1, buffer_size, compression,
                                workdir, with_baseline=False)
            rb = await one_rate(trackbag, "swift", alone_rate, seconds, ntracks, size, 1, buffer_size, compression,
                                workdir, with_trackbag=False)
            r = dict(ra, baseline=rb["baseline"], alone=True, baseline_run={
                k: rb[k] for k in ("pushed", "target", "push_elapsed_s", "server_published", "server_cpu_percent",
                                   "publishers_cpu_percent", "udp_rcvbuf_errors")})
            tb, bl = r["trackbag"], r["baseline"]
            r["cpu_ratio_baseline_over_trackbag"] = (round(bl["cpu_percent"] / tb["cpu_percent"], 2)
                                                     if tb["cpu_percent"] and bl["cpu_percent"] is not None else None)
            results.append(r)
            print(table(r, binary_kind), flush=True)
    finally:
        if "--keep" in sys.argv:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps({"binary": os.path.realpath(trackbag), "build": binary_kind, "results": results}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    # Each mode ends with os._exit once its output is printed: the SDK's runtime can abort in
    # the interpreter's teardown (run_then_exit says when), seen here beside busy loops.
    if mode == "publisher":
        run_then_exit(publisher_main())
    elif mode == "baseline":
        run_then_exit(baseline_main())
    elif mode and not mode.startswith("-"):
        run_then_exit(driver_main())
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

"""What the live-room drivers share (run inside scripts/netns-run): tokens, starting and
stopping `trackbag serve`, collecting a subprocess's lines, and the in-order-subset check."""
import os
import signal
import subprocess
import time

from livekit import api

STEP = 30.0


def token(identity, room):
    grant = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True, can_publish_data=True)
    return api.AccessToken("devkey", "secret").with_identity(identity).with_grants(grant).to_jwt()


def start_server(trackbag, workdir, addr, *extra):
    """`trackbag serve` on `addr` (ports chosen by the kernel), its stderr in WORKDIR/server.log;
    returns (process, ws URL)."""
    proc = subprocess.Popen([trackbag, "serve", "--host", addr, "--port", "0", "--rtc-port", "0", "--node-ip", addr, *extra],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, "server.log"), "w"), text=True)
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            return proc, line.strip().split("listening on ")[1]
    proc.kill()
    raise RuntimeError("server did not report its URL")


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

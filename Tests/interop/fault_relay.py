"""A UDP and TCP impairment relay for live tests (this kernel has no netem and no dummy links).

Put it between WebRTC peers and `trackbag serve` inside a test namespace (scripts/netns-run):
the server binds one address and advertises the relay's (`serve --advertise-address`), so
every peer's ICE checks, DTLS records and SCTP packets cross the relay. For each client source
address the relay opens its own upstream socket, as a NAT does, so the server's replies find
their way back to the right client.

Per direction ("up": client → server, "down": server → client), `Impairment` says what
happens to each datagram, in this order:
1. a blackout window drops everything (`blackout`);
2. random loss (`loss`), or bursty loss from a two-state Gilbert–Elliott chain (`burst`):
   Good → Bad with probability p per datagram, Bad → Good with r, loss 1-h in Bad and 1-k in
   Good (Gilbert 1960, Elliott 1963; the usual parameters of RFC 3611 §4.7.2's burst metrics);
3. a bandwidth cap: datagrams wait to be serialised at `rate_bps` in a queue of at most
   `queue_bytes`; one that does not fit is dropped (`queue`);
4. delay plus uniform jitter; with `reorder` each datagram keeps its own delay (later ones can
   overtake), without it departures stay in arrival order;
5. duplication: a copy leaves with its own delay.

`Link` is the decision part alone (seeded RNG, time passed in), so its statistics are tested
without sockets; `UDPRelay` runs links on sockets in one thread with a timer heap; `TCPRelay`
forwards a TCP port (the signal WebSocket) and can stall it or cut every connection and refuse
new ones for some seconds.

As a process: `python fault_relay.py --udp LISTEN=TARGET [--tcp LISTEN=TARGET] [--up JSON]
[--down JSON] [--seed N]`; it prints one JSON line `{"ready": …}`, then reads JSON commands on
stdin, one a line, and answers each with one JSON line:
  {"cmd": "stats"}                            counters per direction and per TCP relay
  {"cmd": "set", "up": {...}, "down": {...}}  new impairments (fields as `Impairment`)
  {"cmd": "blackout", "seconds": S, "after": A, "direction": "both"|"up"|"down"}
  {"cmd": "tcp_cut", "seconds": S}            close the signal connections, refuse for S s
  {"cmd": "tcp_stall", "seconds": S}          hold the signal bytes for S s
  {"cmd": "quit"}
"""
import dataclasses
import heapq
import json
import random
import selectors
import socket
import sys
import threading
import time


@dataclasses.dataclass
class Impairment:
    """What one direction does to datagrams. Zero everywhere = a transparent relay."""
    loss: float = 0.0                 # independent loss probability per datagram
    burst: tuple | None = None        # Gilbert–Elliott (p, r, h, k); replaces `loss`
    delay_ms: float = 0.0
    jitter_ms: float = 0.0            # uniform in [-jitter, +jitter], delay never below 0
    reorder: bool = False             # let a later datagram leave before an earlier one
    duplicate: float = 0.0            # probability of sending a second copy
    rate_bps: float = 0.0             # 0 = no cap
    queue_bytes: int = 64_000         # the cap's queue; past it a datagram is dropped

    @classmethod
    def from_dict(cls, fields):
        fields = dict(fields or {})
        if fields.get("burst") is not None:
            fields["burst"] = tuple(fields["burst"])
        unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown impairment field(s): {', '.join(sorted(unknown))}")
        return cls(**fields)

    @staticmethod
    def bursty(mean_loss, mean_burst):
        """Gilbert–Elliott parameters for a mean loss rate with bursts of `mean_burst`
        datagrams on average (every datagram lost in Bad, none in Good): r = 1/burst and
        p = loss·r/(1-loss), since the chain spends p/(p+r) of its time in Bad."""
        r = 1.0 / mean_burst
        return (mean_loss * r / (1.0 - mean_loss), r, 0.0, 1.0)


class Counters:
    def __init__(self):
        self.received = 0
        self.forwarded = 0
        self.duplicated = 0
        # Datagrams that left after one that arrived later.
        self.reordered = 0
        self.bytes_forwarded = 0
        self.dropped = {"loss": 0, "burst": 0, "queue": 0, "blackout": 0, "send_error": 0}
        self.queue_peak_bytes = 0

    def as_dict(self):
        return {"received": self.received, "forwarded": self.forwarded, "duplicated": self.duplicated,
                "reordered": self.reordered, "bytes_forwarded": self.bytes_forwarded,
                "dropped": dict(self.dropped), "dropped_total": sum(self.dropped.values()),
                "queue_peak_bytes": self.queue_peak_bytes}


class Link:
    """One direction's decisions. `admit(now, size)` returns the departure times of the
    datagram's copies (empty = dropped, counted by reason). Departures are absolute times on
    the same clock as `now`; the caller sends each copy when it is due and reports it with
    `departed(seq)` so reordering is counted."""

    def __init__(self, impairment=None, seed=0):
        self.impairment = impairment or Impairment()
        self.random = random.Random(seed)
        self.counters = Counters()
        self.blackouts = []  # [start, end) on the caller's clock
        self.bad = False     # Gilbert–Elliott state
        self.link_free_at = 0.0
        self.queued = []     # heap of serialisation end times with sizes: what the cap still holds
        self.queued_bytes = 0
        self.last_departure = 0.0
        self.next_seq = 0
        self.highest_departed = -1

    def configure(self, impairment):
        self.impairment = impairment
        self.bad = False

    def add_blackout(self, start, seconds):
        self.blackouts.append((start, start + seconds))

    def in_blackout(self, now):
        self.blackouts = [(s, e) for s, e in self.blackouts if e > now]
        return any(s <= now < e for s, e in self.blackouts)

    def _lost(self):
        imp = self.impairment
        if imp.burst is not None:
            p, r, h, k = imp.burst
            # Transition first, then lose by the state the datagram finds.
            if self.bad:
                if self.random.random() < r:
                    self.bad = False
            elif self.random.random() < p:
                self.bad = True
            keep = h if self.bad else k
            return "burst" if self.random.random() >= keep else None
        if imp.loss > 0 and self.random.random() < imp.loss:
            return "loss"
        return None

    def _delay(self):
        imp = self.impairment
        jitter = self.random.uniform(-imp.jitter_ms, imp.jitter_ms) if imp.jitter_ms > 0 else 0.0
        return max(0.0, imp.delay_ms + jitter) / 1000.0

    def admit(self, now, size):
        """Decides for one datagram of `size` bytes arriving at `now`: [(departure, seq)…]."""
        c = self.counters
        c.received += 1
        if self.in_blackout(now):
            c.dropped["blackout"] += 1
            return []
        reason = self._lost()
        if reason:
            c.dropped[reason] += 1
            return []
        imp = self.impairment
        ready = now
        if imp.rate_bps > 0:
            while self.queued and self.queued[0][0] <= now:
                _, gone = heapq.heappop(self.queued)
                self.queued_bytes -= gone
            if self.queued_bytes + size > imp.queue_bytes:
                c.dropped["queue"] += 1
                return []
            start = max(now, self.link_free_at)
            ready = start + size * 8 / imp.rate_bps
            self.link_free_at = ready
            heapq.heappush(self.queued, (ready, size))
            self.queued_bytes += size
            c.queue_peak_bytes = max(c.queue_peak_bytes, self.queued_bytes)
        copies = 2 if imp.duplicate > 0 and self.random.random() < imp.duplicate else 1
        out = []
        for _ in range(copies):
            departure = ready + self._delay()
            if not imp.reorder:
                departure = max(departure, self.last_departure)
            self.last_departure = max(self.last_departure, departure)
            out.append((departure, self.next_seq))
        self.next_seq += 1
        if copies == 2:
            c.duplicated += 1
        return out

    def departed(self, seq, size, ok=True):
        c = self.counters
        if not ok:
            c.dropped["send_error"] += 1
            return
        c.forwarded += 1
        c.bytes_forwarded += size
        if seq < self.highest_departed:
            c.reordered += 1
        self.highest_departed = max(self.highest_departed, seq)


def parse_address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


class UDPRelay:
    """Forwards datagrams between clients reaching `listen` and the server at `target`, each
    client through its own upstream socket bound on `upstream_host`, with `Link`s per
    direction (shared by all clients: one link, as a Wi-Fi hop would be). Runs in a thread."""

    MAX_CLIENTS = 256

    def __init__(self, listen, target, up=None, down=None, seed=0, upstream_host=None):
        self.target = target
        self.up = Link(up, seed)
        self.down = Link(down, seed + 1)
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._buffers(self.sock)
        self.sock.bind(listen)
        self.sock.setblocking(False)
        self.listen = self.sock.getsockname()
        self.upstream_host = upstream_host or listen[0]
        self.clients = {}   # client address → upstream socket
        self.owners = {}    # upstream socket fileno → client address
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, None)
        self.heap = []      # (due, tiebreak, link, seq, socket, bytes, address)
        self.tiebreak = 0
        self.running = False
        self.thread = None
        self.kernel_send_errors = 0

    @staticmethod
    def _buffers(sock):
        # Several MiB as our own peers use (docs/WIRE.md): the relay must not be where a
        # datagram is lost unless an impairment says so.
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, 8 << 20)
            except OSError:
                pass

    def _upstream_for(self, client):
        sock = self.clients.get(client)
        if sock is None:
            if len(self.clients) >= self.MAX_CLIENTS:
                return None
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._buffers(sock)
            sock.bind((self.upstream_host, 0))
            sock.setblocking(False)
            self.clients[client] = sock
            self.owners[sock.fileno()] = client
            self.selector.register(sock, selectors.EVENT_READ, client)
        return sock

    def configure(self, up=None, down=None):
        with self.lock:
            if up is not None:
                self.up.configure(up)
            if down is not None:
                self.down.configure(down)

    def blackout(self, seconds, after=0.0, direction="both"):
        with self.lock:
            start = time.monotonic() + after
            if direction in ("both", "up"):
                self.up.add_blackout(start, seconds)
            if direction in ("both", "down"):
                self.down.add_blackout(start, seconds)

    def stats(self):
        with self.lock:
            return {"listen": f"{self.listen[0]}:{self.listen[1]}", "clients": len(self.clients),
                    "up": self.up.counters.as_dict(), "down": self.down.counters.as_dict(),
                    "in_flight": len(self.heap)}

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._run, name="udp-relay", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(5)
        self.selector.close()
        for sock in [self.sock, *self.clients.values()]:
            sock.close()

    def _schedule(self, link, data, out_sock, address, now):
        for due, seq in link.admit(now, len(data)):
            self.tiebreak += 1
            heapq.heappush(self.heap, (due, self.tiebreak, link, seq, out_sock, data, address))

    def _drain(self, sock, client):
        # Read what is there now; bounded so one busy socket cannot starve the timer.
        for _ in range(256):
            try:
                data, source = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                if client is None:  # from a client, towards the server
                    upstream = self._upstream_for(source)
                    if upstream is not None:
                        self._schedule(self.up, data, upstream, self.target, now)
                else:               # from the server, back to that client
                    self._schedule(self.down, data, self.sock, client, now)

    def _run(self):
        while self.running:
            now = time.monotonic()
            with self.lock:
                while self.heap and self.heap[0][0] <= now:
                    _, _, link, seq, sock, data, address = heapq.heappop(self.heap)
                    try:
                        sock.sendto(data, address)
                        link.departed(seq, len(data))
                    except OSError:
                        link.departed(seq, len(data), ok=False)
                timeout = min(0.05, max(0.0, self.heap[0][0] - now)) if self.heap else 0.05
            for key, _ in self.selector.select(timeout):
                self._drain(key.fileobj, key.data)


class TCPRelay:
    """Forwards a TCP port (the signal WebSocket) to `target`. `cut(seconds)` closes every
    connection now and refuses new ones (accepted and closed at once) for that long;
    `stall(seconds)` holds every byte in both directions for that long, connections open."""

    def __init__(self, listen, target):
        self.target = target
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(listen)
        self.server.listen(64)
        self.listen = self.server.getsockname()
        self.lock = threading.Lock()
        self.pairs = []
        self.refuse_until = 0.0
        self.stall_until = 0.0
        self.counters = {"accepted": 0, "refused": 0, "cut": 0, "bytes_up": 0, "bytes_down": 0, "stalls": 0}
        self.running = True
        threading.Thread(target=self._accept, name="tcp-relay-accept", daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if time.monotonic() < self.refuse_until:
                with self.lock:
                    self.counters["refused"] += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.counters["accepted"] += 1
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream, "bytes_up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, "bytes_down"), daemon=True).start()

    def _pipe(self, src, dst, counter):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while time.monotonic() < self.stall_until:
                    time.sleep(0.01)
                dst.sendall(data)
                with self.lock:
                    self.counters[counter] += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self, seconds):
        with self.lock:
            self.refuse_until = time.monotonic() + seconds
            pairs, self.pairs = self.pairs, []
            self.counters["cut"] += len(pairs)
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stall(self, seconds):
        with self.lock:
            self.stall_until = time.monotonic() + seconds
            self.counters["stalls"] += 1

    def stats(self):
        with self.lock:
            return {"listen": f"{self.listen[0]}:{self.listen[1]}", "open": len(self.pairs), **self.counters}

    def stop(self):
        self.running = False
        self.server.close()
        self.cut(0)


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description="UDP/TCP impairment relay (see the module docstring)")
    parser.add_argument("--udp", required=True, help="LISTEN_IP:PORT=TARGET_IP:PORT")
    parser.add_argument("--tcp", help="LISTEN_IP:PORT=TARGET_IP:PORT (the signal WebSocket)")
    parser.add_argument("--up", default="{}", help="client → server impairment, JSON")
    parser.add_argument("--down", default="{}", help="server → client impairment, JSON")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    listen, target = args.udp.split("=")
    udp = UDPRelay(parse_address(listen), parse_address(target), Impairment.from_dict(json.loads(args.up)),
                   Impairment.from_dict(json.loads(args.down)), seed=args.seed).start()
    tcp = None
    if args.tcp:
        listen, target = args.tcp.split("=")
        tcp = TCPRelay(parse_address(listen), parse_address(target))
    ready = {"ready": True, "udp": udp.stats()["listen"], "tcp": tcp.stats()["listen"] if tcp else None}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            cmd = command.get("cmd")
            if cmd == "stats":
                reply = {"udp": udp.stats(), "tcp": tcp.stats() if tcp else None}
            elif cmd == "set":
                udp.configure(Impairment.from_dict(command["up"]) if "up" in command else None,
                              Impairment.from_dict(command["down"]) if "down" in command else None)
                reply = {"ok": True}
            elif cmd == "blackout":
                udp.blackout(float(command["seconds"]), float(command.get("after", 0)), command.get("direction", "both"))
                reply = {"ok": True}
            elif cmd in ("tcp_cut", "tcp_stall"):
                if tcp is None:
                    raise ValueError("no --tcp relay")
                (tcp.cut if cmd == "tcp_cut" else tcp.stall)(float(command["seconds"]))
                reply = {"ok": True}
            elif cmd == "quit":
                print(json.dumps({"ok": True}), flush=True)
                break
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except (ValueError, KeyError, TypeError) as e:
            reply = {"error": str(e)}
        print(json.dumps(reply), flush=True)
    udp.stop()
    if tcp:
        tcp.stop()


class RelayProcess:
    """The relay as a child process, driven over its stdin (keeps its thread off the GIL of a
    process that runs an SDK peer). `python` is the interpreter to run it with."""

    def __init__(self, python, udp, tcp=None, up=None, down=None, seed=1):
        import os
        import subprocess
        args = [python, os.path.abspath(__file__), "--udp", udp, "--seed", str(seed),
                "--up", json.dumps(dataclasses.asdict(up or Impairment())),
                "--down", json.dumps(dataclasses.asdict(down or Impairment()))]
        if tcp:
            args += ["--tcp", tcp]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fault relay did not start")
        self.ready = json.loads(line)
        self.lock = threading.Lock()

    def command(self, **command):
        with self.lock:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"fault relay: {reply['error']}")
        return reply

    def stats(self):
        return self.command(cmd="stats")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.command(cmd="quit")
            except (OSError, ValueError, RuntimeError):
                pass
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)


if __name__ == "__main__":
    main(sys.argv[1:])

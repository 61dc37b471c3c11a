"""The fault relay itself (Tests/interop/fault_relay.py): its decisions with a fixed seed, then
its sockets on loopback. Seconds, no root: the live fault-lab scenarios rely on these figures."""
import math
import socket
import threading
import time

import pytest

from fault_relay import Impairment, Link, TCPRelay, UDPRelay

N = 20_000


def admit_many(link, n=N, size=100, spacing=0.001):
    """Offers n datagrams `spacing` seconds apart; returns each one's departures."""
    return [link.admit(i * spacing, size) for i in range(n)]


def test_random_loss_rate_within_tolerance_and_independent():
    link = Link(Impairment(loss=0.05), seed=7)
    out = admit_many(link)
    lost = [not d for d in out]
    rate = sum(lost) / N
    # Binomial: σ = sqrt(p(1-p)/n) ≈ 0.0015; 4σ.
    assert abs(rate - 0.05) < 0.006, rate
    assert link.counters.dropped["loss"] == sum(lost)
    # Independent: after a loss, the next is lost about as often as any (no bursts).
    after_loss = [lost[i + 1] for i in range(N - 1) if lost[i]]
    assert sum(after_loss) / len(after_loss) < 0.12, sum(after_loss) / len(after_loss)


def runs(flags):
    lengths, current = [], 0
    for f in flags:
        if f:
            current += 1
        elif current:
            lengths.append(current)
            current = 0
    if current:
        lengths.append(current)
    return lengths


def test_gilbert_elliott_mean_loss_and_burst_length():
    link = Link(Impairment(burst=Impairment.bursty(0.02, 4)), seed=11)
    out = admit_many(link, n=100_000)
    lost = [not d for d in out]
    rate = sum(lost) / len(lost)
    bursts = runs(lost)
    mean_burst = sum(bursts) / len(bursts)
    print(f"bursty: loss {rate:.4f}, {len(bursts)} bursts, mean length {mean_burst:.2f}, longest {max(bursts)}")
    # Bursts are geometric with mean 1/r = 4; the loss rate's spread is wider than binomial.
    assert 0.015 < rate < 0.025, rate
    assert 3.4 < mean_burst < 4.6, mean_burst
    assert max(bursts) >= 10
    assert link.counters.dropped["burst"] == sum(lost)
    # The same mean loss at random would make bursts of ~1.02.
    random_bursts = runs([not d for d in admit_many(Link(Impairment(loss=0.02), seed=11), n=100_000)])
    assert sum(random_bursts) / len(random_bursts) < 1.1


def test_duplication_sends_a_second_copy():
    link = Link(Impairment(duplicate=0.01), seed=3)
    out = admit_many(link)
    doubled = sum(1 for d in out if len(d) == 2)
    assert abs(doubled / N - 0.01) < 0.003, doubled
    assert link.counters.duplicated == doubled
    assert all(len(d) in (1, 2) for d in out)


def test_jitter_reorders_only_when_asked_and_stays_in_bounds():
    for reorder in (True, False):
        link = Link(Impairment(delay_ms=30, jitter_ms=20, reorder=reorder), seed=5)
        out = admit_many(link, n=5000)
        departures = [d[0][0] for d in out]
        delays = [departures[i] - i * 0.001 for i in range(len(departures))]
        overtaken = sum(1 for a, b in zip(departures, departures[1:]) if b < a)
        assert min(delays) >= 0.010 - 1e-9
        if reorder:
            assert max(delays) <= 0.050 + 1e-9
            # Two delays 1 ms apart in arrival swap when the later one is >1 ms shorter: often.
            assert overtaken > 1000, overtaken
            assert abs(sum(delays) / len(delays) - 0.030) < 0.002
        else:
            assert overtaken == 0
    # `departed` counts what left after a later arrival.
    link = Link()
    for seq in (0, 2, 1, 3):
        link.departed(seq, 10)
    assert link.counters.reordered == 1 and link.counters.forwarded == 4


def test_bandwidth_cap_paces_and_drops_past_its_queue():
    # 1 Mbit/s cap, 12.5 kB queue (100 ms), offered 2 Mbit/s for 2 s: half gets through.
    link = Link(Impairment(rate_bps=1_000_000, queue_bytes=12_500), seed=1)
    size, offered = 1250, 2_000_000
    spacing = size * 8 / offered
    out = admit_many(link, n=400, size=size, spacing=spacing)
    passed = [d[0][0] for d in out if d]
    assert abs(len(passed) - 200) <= 12, len(passed)
    assert link.counters.dropped["queue"] == 400 - len(passed)
    assert link.counters.queue_peak_bytes <= 12_500
    # Departures are spaced by the serialisation time: 10 ms per 1250 B at 1 Mbit/s.
    gaps = [b - a for a, b in zip(passed, passed[1:])]
    assert min(gaps) >= 0.010 - 1e-9
    # Below the cap nothing waits.
    calm = Link(Impairment(rate_bps=1_000_000, queue_bytes=12_500))
    calm_out = admit_many(calm, n=100, size=size, spacing=0.02)
    assert all(math.isclose(d[0][0], i * 0.02 + 0.01) for i, d in enumerate(calm_out))


def test_blackout_drops_everything_in_its_window_only():
    link = Link()
    link.add_blackout(1.0, 0.5)
    out = admit_many(link, n=3000)  # 0 … 3 s, 1 ms apart
    dark = [i for i, d in enumerate(out) if not d]
    assert dark == list(range(1000, 1500))
    assert link.counters.dropped["blackout"] == 500


def test_same_seed_same_decisions():
    make = lambda: [bool(d) for d in admit_many(Link(Impairment(loss=0.1, duplicate=0.05), seed=42), n=2000)]
    assert make() == make()


def udp_pair():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_relay_keeps_up_with_a_robot_stream_and_counts_per_direction():
    """600 datagrams/s of 48 B plus 5/s of 20 KB for 2 s through a transparent relay, echoed
    back by the "server": every one arrives, both ways, and the counters agree."""
    server = udp_pair()
    relay = UDPRelay(("127.0.0.1", 0), server.getsockname()).start()
    client = udp_pair()
    client.settimeout(0.2)
    stop = threading.Event()

    def echo():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                data, source = server.recvfrom(65536)
            except socket.timeout:
                continue
            server.sendto(data, source)
    echoer = threading.Thread(target=echo, daemon=True)
    echoer.start()
    sent = 0
    big = 0
    got = []
    start = time.monotonic()
    seconds = 2.0
    try:
        while (now := time.monotonic()) - start < seconds:
            client.sendto(sent.to_bytes(4, "big") + bytes(44), relay.listen)
            sent += 1
            if sent % 120 == 0:
                client.sendto(b"\xff" * 20_000, relay.listen)
                sent += 1
                big += 1
            delay = start + sent / 605 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        client.setblocking(False)
        deadline = time.monotonic() + 2
        while len(got) < sent and time.monotonic() < deadline:
            try:
                got.append(client.recv(65536))
            except BlockingIOError:
                time.sleep(0.005)
        stats = relay.stats()
    finally:
        stop.set()
        relay.stop()
        echoer.join(2)
    print(stats)
    assert len(got) == sent, (len(got), sent, stats)
    assert stats["up"]["received"] == stats["up"]["forwarded"] == sent
    assert stats["down"]["forwarded"] == sent and stats["clients"] == 1
    assert sum(1 for g in got if len(g) == 20_000) == big > 0
    assert stats["up"]["dropped_total"] == 0 and stats["down"]["dropped_total"] == 0


def test_relay_applies_loss_per_direction_and_blackout_on_command():
    server = udp_pair()
    server.settimeout(0.5)
    relay = UDPRelay(("127.0.0.1", 0), server.getsockname(), up=Impairment(loss=0.5), seed=9).start()
    client = udp_pair()
    try:
        for i in range(400):
            client.sendto(i.to_bytes(2, "big"), relay.listen)
        arrived = []
        while True:
            try:
                arrived.append(server.recv(100))
            except socket.timeout:
                break
        stats = relay.stats()
        assert stats["up"]["dropped"]["loss"] + len(arrived) == 400
        assert 140 < len(arrived) < 260
        # Nothing lost on the way back; then a 0.3 s blackout of both directions.
        relay.configure(up=Impairment())
        relay.blackout(0.3)
        client.sendto(b"dark", relay.listen)
        with pytest.raises(socket.timeout):
            server.recv(100)
        time.sleep(0.35)
        client.sendto(b"light", relay.listen)
        assert server.recv(100) == b"light"
        assert relay.stats()["up"]["dropped"]["blackout"] == 1
    finally:
        relay.stop()


def test_tcp_relay_cut_closes_and_refuses_then_recovers():
    upstream = socket.socket()
    upstream.bind(("127.0.0.1", 0))
    upstream.listen(8)
    relay = TCPRelay(("127.0.0.1", 0), upstream.getsockname())
    try:
        a = socket.create_connection(relay.listen, timeout=2)
        b, _ = upstream.accept()
        a.sendall(b"ping")
        assert b.recv(10) == b"ping"
        relay.cut(0.5)
        a.settimeout(2)
        assert a.recv(10) == b""  # closed by the relay
        c = socket.create_connection(relay.listen, timeout=2)
        c.settimeout(2)
        assert c.recv(10) == b""  # refused while cut
        time.sleep(0.6)
        d = socket.create_connection(relay.listen, timeout=2)
        e, _ = upstream.accept()
        relay.stall(0.3)
        t0 = time.monotonic()
        d.sendall(b"late")
        e.settimeout(2)
        assert e.recv(10) == b"late"
        assert time.monotonic() - t0 >= 0.25
        stats = relay.stats()
        assert stats["cut"] == 1 and stats["refused"] == 1 and stats["accepted"] == 2
    finally:
        relay.stop()
        upstream.close()

"""What an operator sees while trackbag runs (docs/operations.md): Prometheus metrics scraped from
a running `record` and `serve` and read with prometheus_client's own text parser, the status
view through a pipe and through a pseudo terminal, and JSON log lines. Loopback only; every
process is ended by its PID."""
import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from live_room import imu_recording, read_lines_blocking, start_loopback_server, stop, wait_until

FRAMES = 300


def scrape(url):
    """{(metric sample name, frozenset of labels): value}, parsed by prometheus_client."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain"), response.headers
        text = response.read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return values


def value(samples, name, **labels):
    """The one sample of `name` whose labels include `labels` (0 if none yet)."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0


def metrics_url(lines):
    for line in lines:
        m = re.search(r"metrics on (http://\S+/metrics)", line)
        if m:
            return m.group(1)
    return None


def frames_in_file(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("SELECT COALESCE(SUM(frame_count), 0) FROM chunks").fetchone()[0]


def missing_in_file(trackbag, path):
    info = json.loads(subprocess.run([trackbag, "info", str(path), "--json"], check=True, capture_output=True,
                                     text=True, timeout=60).stdout)
    return sum(t["missing_frames"] for t in info["tracks"])


def test_record_and_serve_metrics_follow_the_frames_and_match_the_file(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)
    out = tmp_path / "rec.tbag"
    procs, server_err, rec_err, play_err = [], [], [], []
    try:
        server, url = start_loopback_server(trackbag, "--metrics-addr", "127.0.0.1:0", stderr=subprocess.PIPE)
        procs.append(server)
        threading.Thread(target=read_lines_blocking, args=(server.stderr, server_err), daemon=True).start()
        wait_until(lambda: metrics_url(server_err), 30, "the server's metrics endpoint")
        server_metrics = metrics_url(server_err)

        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", "lab", "--out", str(out),
                                     "--metrics-addr", "127.0.0.1:0", "--status-interval", "0.5"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(recorder)
        threading.Thread(target=read_lines_blocking, args=(recorder.stderr, rec_err), daemon=True).start()
        wait_until(lambda: metrics_url(rec_err) and any("joined room" in l for l in rec_err), 30, "the recorder to join")
        record_metrics = metrics_url(rec_err)
        before = scrape(record_metrics)
        assert value(before, "trackbag_stage_frames_out_total", stage="recording") == 0

        player = subprocess.Popen([trackbag, "play", str(tbag), "--url", url, "--room", "lab",
                                   "--wait-for-subscribers", "1", "--lead-in", "0.5",
                                   "--metrics-addr", "127.0.0.1:0", "--status-interval", "0.5"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(player)
        threading.Thread(target=read_lines_blocking, args=(player.stderr, play_err), daemon=True).start()
        # While frames flow (100 Hz for 3 s), two scrapes a second apart both see them and see them grow.
        wait_until(lambda: value(scrape(record_metrics), "trackbag_track_frames_total", stage="room", track="robot/imu") > 0,
                   30, "the first frames in the recorder's metrics", poll=0.1)
        first = scrape(record_metrics)
        first_server = scrape(server_metrics)
        first_play = scrape(metrics_url(play_err))
        time.sleep(1.0)
        second = scrape(record_metrics)
        second_server = scrape(server_metrics)
        second_play = scrape(metrics_url(play_err))
        received = lambda s: value(s, "trackbag_track_frames_total", stage="room", track="robot/imu")
        assert 0 < received(first) < received(second) <= FRAMES, (received(first), received(second))
        assert value(second, "trackbag_track_bytes_total", stage="room", track="robot/imu") == 4 * received(second)
        assert value(second, "trackbag_stage_file_bytes", stage="recording") > 0
        assert value(second, "trackbag_stage_queue_capacity_frames", stage="recording") > 0
        assert ("trackbag_stage_reconnects_total", frozenset({("stage", "room"), ("type", "room")})) in second
        # The server: one room with the player and the recorder in it, and the recorder's
        # subscriber queue forwarding the robot's packets.
        assert value(second_server, "trackbag_server_room_participants", room="lab") >= 2
        assert value(second_server, "trackbag_server_room_tracks", room="lab") == 1
        forwarded = lambda s: value(s, "trackbag_server_packets_forwarded_total", room="lab", participant="trackbag-recorder")
        assert 0 < forwarded(first_server) < forwarded(second_server), (forwarded(first_server), forwarded(second_server))
        assert value(second_server, "trackbag_server_packets_published_total", room="lab", participant="robot") >= forwarded(second_server)
        # The player: frames sent on the track, the replay's position moving through its 3 s.
        sent = lambda s: value(s, "trackbag_track_frames_total", stage="republish", track="robot/imu")
        position = lambda s: value(s, "trackbag_stage_replay_position_seconds", stage="recording")
        assert 0 < sent(first_play) < sent(second_play) <= FRAMES, (sent(first_play), sent(second_play))
        assert 0 < position(first_play) < position(second_play) <= 3.0, (position(first_play), position(second_play))
        assert abs(value(second_play, "trackbag_stage_replay_duration_seconds", stage="recording") - 2.99) < 0.01
        assert 0 <= value(second_play, "trackbag_stage_replay_lateness_max_seconds", stage="recording") < 1.0

        assert player.wait(timeout=60) == 0, play_err[-5:]
        # Once the replay ended, the counters settle; what they say then is what the file holds.
        def settled():
            a = scrape(record_metrics)
            time.sleep(0.3)
            b = scrape(record_metrics)
            written = lambda s: value(s, "trackbag_stage_frames_out_total", stage="recording")
            return received(a) == received(b) and written(a) == written(b) == received(b)
        wait_until(settled, 30, "the recorder's counters to settle", poll=0.2)
        final = scrape(record_metrics)
        stop(recorder, signal.SIGINT)
        assert recorder.returncode == 0, rec_err[-10:]
        written = value(final, "trackbag_stage_frames_out_total", stage="recording")
        dropped = sum(v for (n, _), v in final.items() if n == "trackbag_track_frames_dropped_total")
        missing = value(final, "trackbag_track_frames_missing_total", stage="room", track="robot/imu")
        assert written == frames_in_file(out), (written, frames_in_file(out))
        assert written + dropped + missing <= FRAMES, (written, dropped, missing)
        # The metric is the sum of the gap events written so far (more may come at the end).
        assert missing <= missing_in_file(trackbag, out), (missing, missing_in_file(trackbag, out))
        # Not a terminal: plain status lines every --status-interval, counting up.
        status = [l for l in rec_err if l.startswith("recording ")]
        assert len(status) >= 3, rec_err
        counts = [int(re.search(r"frames (\d+)", l).group(1)) for l in status]
        assert counts == sorted(counts) and counts[-1] > 0, status
        playing = [l for l in play_err if l.startswith("playing ")]
        assert len(playing) >= 2 and all(re.search(r"/00:02 \[[#.]{20}\]", l) for l in playing), playing
    except AssertionError as e:
        raise AssertionError(f"{e}\nrecord: {rec_err[-10:]}\nplay: {play_err[-5:]}\nserve: {server_err[-5:]}") from None
    finally:
        for proc in reversed(procs):
            stop(proc)


def replay_pipeline(tmp_path, tbag):
    config = tmp_path / "replay.yaml"
    config.write_text(f"""sources:
  file: {{type: recording, path: {tbag}, pace: original, rate: 2}}
sinks:
  out: {{type: jsonl, inputs: [file], path: {tmp_path / 'out.jsonl'}}}
""")
    return config


def test_status_block_on_a_terminal_redraws_in_place_with_a_progress_bar(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)
    master, slave = pty.openpty()
    proc = subprocess.Popen([trackbag, "run", str(replay_pipeline(tmp_path, tbag))],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
    finally:
        stop(proc)
        os.close(master)
    text = screen.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    # 300 frames at rate 2 take 1.5 s: at 4 redraws a second, several blocks, each erasing the
    # one before (cursor up, erase down), with the position over the total and a bar.
    assert text.count("running ") >= 3, text[-2000:]
    assert "\x1b[1F\x1b[J" in text, repr(text[-500:])
    bars = re.findall(r"(\d\d:\d\d)/(\d\d:\d\d) \[([#.]{20})\]", text)
    assert len(bars) >= 3 and bars[0][1] == "00:02", bars
    fills = [bar.count("#") for _, _, bar in bars]
    assert fills == sorted(fills) and fills[-1] > fills[0], fills
    # The block is gone at the end: the last one drawn is erased (by the closing erase, or by a
    # log line that then takes its place), and no block follows the last erase. The source's
    # pacing report is printed above a block or in place of the last one, as the timing falls.
    last_block = text.rindex("running ")
    assert "\x1b[1F\x1b[J" in text[last_block:], repr(text[-300:])
    assert "running " not in text[text.rindex("\x1b[1F\x1b[J"):], repr(text[-300:])
    assert "paced 300 frames" in text, repr(text[-300:])


def test_status_lines_through_a_pipe_and_none_with_quiet(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)
    config = replay_pipeline(tmp_path, tbag)
    done = subprocess.run([trackbag, "run", str(config), "--status-interval", "0.3"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [l for l in done.stderr.splitlines() if l.startswith("running ")]
    assert len(lines) >= 2 and "\x1b" not in done.stderr, done.stderr
    assert all(re.search(r"\[[#.]{20}\] +\d+%", l) for l in lines), lines
    assert "frames in" in done.stdout  # the closing table
    quiet = subprocess.run([trackbag, "run", str(config), "--status-interval", "0.3", "--quiet"],
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and not [l for l in quiet.stderr.splitlines() if l.startswith("running ")], quiet.stderr
    assert quiet.stdout == ""


def test_json_log_lines_carry_level_label_and_message(trackbag):
    # A secret shorter than 32 characters is a warning (as livekit-server's), logged before the
    # server starts: the first line of standard error.
    base = [trackbag, "serve", "--host", "127.0.0.1", "--port", "0", "--rtc-port", "0", "--node-ip", "127.0.0.1",
            "--keys", "ops:short"]
    proc = subprocess.Popen(base + ["--log-format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
    finally:
        stop(proc)
    entry = json.loads(first)
    assert entry["level"] == "warning" and entry["label"] == "serve", entry
    assert "shorter than" in entry["message"] and "time" in entry, entry
    proc = subprocess.Popen(base + ["--log-level", "error", "--metrics-addr", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in proc.stdout.readline()
        time.sleep(0.5)
    finally:
        stop(proc)
    rest = proc.stderr.read()
    assert "shorter than" not in rest and "metrics on" not in rest, rest

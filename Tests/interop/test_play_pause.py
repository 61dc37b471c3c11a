"""`trackbag play`'s keys when stdin is a terminal: space pauses and resumes; `.` steps, the
arrows seek, `+`/`-` change the rate.

Over loopback with only trackbag's own participants (no root): `trackbag serve`, a Swift viewer
(`trackbag-testpeer room-peer`) subscribed to the replayed track, and `trackbag play` with a pseudo
terminal on its stdin. A space after ~0.5 s of replay, another 1 s later: the viewer sees a
gap of about a second, then the rest of the frames at the recording's pacing, every frame
delivered once; the terminal's mode is as before when play exits.
"""
import json
import os
import pty
import signal
import subprocess
import termios
import threading
import time
from live_room import imu_recording, read_lines_blocking, start_loopback_server, stop, testpeer, wait_until

RATE = 100
FRAMES = 200




def start_server_and_viewer(trackbag, procs, viewer_lines):
    """`trackbag serve` on loopback and a Swift viewer (timing only) subscribed to robot/imu in
    room `replay`; both appended to `procs`, the viewer's lines read into `viewer_lines`.
    Returns the server's URL."""
    server, url = start_loopback_server(trackbag)
    procs.append(server)
    token = subprocess.run([trackbag, "token", "--identity", "viewer", "--room", "replay"], check=True,
                           capture_output=True, text=True, timeout=30).stdout.strip()
    viewer = subprocess.Popen([testpeer(trackbag), "room-peer", "--url", url, "--token", token], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(viewer)
    threading.Thread(target=read_lines_blocking, args=(viewer.stdout, viewer_lines), daemon=True).start()
    viewer.stdin.write(json.dumps({"cmd": "subscribe", "identity": "robot", "track": "imu", "buffer": 1024,
                                   "timeout": 60, "timing_only": True}) + "\n")
    viewer.stdin.flush()
    return url


def test_space_pauses_and_resumes_the_replay(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)

    procs = []
    play_err, play_out, viewer_lines = [], [], []
    master, slave = pty.openpty()
    try:
        url = start_server_and_viewer(trackbag, procs, viewer_lines)
        mode_before = termios.tcgetattr(slave)

        player = subprocess.Popen([trackbag, "play", str(tbag), "--url", url, "--room", "replay",
                                   "--wait-for-subscribers", "1", "--lead-in", "0.5"],
                                  stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(player)
        threading.Thread(target=read_lines_blocking, args=(player.stderr, play_err), daemon=True).start()
        threading.Thread(target=read_lines_blocking, args=(player.stdout, play_out), daemon=True).start()

        def frames():
            return [json.loads(l) for l in viewer_lines if '"timing"' in l]

        wait_until(lambda: any("space pauses and resumes" in l for l in play_err), 60, "play to take the terminal")
        wait_until(lambda: len(frames()) >= 50, 60, "50 replayed frames")
        os.write(master, b" ")
        wait_until(lambda: any("paused" in l for l in play_err), 10, "the pause notice")
        time.sleep(1.0)
        held = len(frames())
        os.write(master, b" ")
        player.wait(timeout=60)
        wait_until(lambda: len(frames()) >= FRAMES, 10, "every frame at the viewer")
        time.sleep(0.2)
        got = frames()
        mode_after = termios.tcgetattr(slave)
    except AssertionError as e:
        raise AssertionError(f"{e}\nplay stderr: {play_err[-12:]}\nviewer: {viewer_lines[-5:]}") from None
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
        os.close(master)
        os.close(slave)

    print("\n".join(play_err + play_out))
    assert player.returncode == 0, play_err
    assert any(l.endswith("resumed") for l in play_err), play_err
    # Every frame once, in order.
    assert [m["user_timestamp"] for m in got] == list(range(FRAMES))
    # Nothing arrived while paused (bar what was in flight), then a gap of about a second.
    assert held < FRAMES - 50, held
    times = [m["recv_ns"] for m in got]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) >= 800_000_000, max(gaps)
    # After the pause the recording's pacing again (10 ms apart), not a burst of due frames.
    big = gaps.index(max(gaps))
    after = times[big + 1:]
    assert after[-1] - after[0] >= (len(after) - 1) * 10_000_000 * 0.8, (len(after), after[-1] - after[0])
    # The terminal is as it was.
    assert mode_after[3] & (termios.ICANON | termios.ECHO) == mode_before[3] & (termios.ICANON | termios.ECHO)


def test_keys_step_seek_and_double_the_rate(trackbag, tmp_path):
    """While paused: `.` three times sends exactly the next three frames; `+` asks for rate 2
    (the status line says so); → seeks 5 s on and `.` then sends the frame 5 s later; ← comes back.
    Space resumes at rate 2 (frames 5 ms apart)."""
    frames_total = 1000
    tbag = imu_recording(trackbag, str(tmp_path), frames_total)
    procs = []
    play_err, viewer_lines = [], []
    master, slave = pty.openpty()
    try:
        url = start_server_and_viewer(trackbag, procs, viewer_lines)
        mode_before = termios.tcgetattr(slave)
        player = subprocess.Popen([trackbag, "play", str(tbag), "--url", url, "--room", "replay",
                                   "--wait-for-subscribers", "1", "--lead-in", "0.5", "--status-interval", "0.1"],
                                  stdin=slave, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(player)
        threading.Thread(target=read_lines_blocking, args=(player.stderr, play_err), daemon=True).start()

        def frames():
            return [json.loads(l)["user_timestamp"] for l in viewer_lines if '"timing"' in l]

        def key(text, notice):
            before = len(play_err)
            os.write(master, text)
            wait_until(lambda: any(notice in l for l in play_err[before:]), 10, f"'{notice}' after {text!r}")

        wait_until(lambda: any("keys:" in l for l in play_err), 60, "play to take the terminal")
        wait_until(lambda: len(frames()) >= 30, 60, "30 replayed frames")
        key(b" ", "paused")
        time.sleep(0.2)
        held = frames()
        for _ in range(3):
            key(b".", "step 1 frame")
        wait_until(lambda: len(frames()) >= len(held) + 3, 5, "3 stepped frames")
        time.sleep(0.2)
        stepped = frames()[len(held):]
        key(b"+", "rate 2 (from resume)")
        status_from = len(play_err)
        wait_until(lambda: any("paused  rate 2" in l for l in play_err[status_from:]), 5, "the status line to show it")
        key(b"\x1b[C", "seek to")
        key(b".", "step 1 frame")
        wait_until(lambda: len(frames()) >= len(held) + 4, 5, "the frame after the seek")
        key(b"\x1b[D", "seek to")
        key(b".", "step 1 frame")
        wait_until(lambda: len(frames()) >= len(held) + 5, 5, "the frame after seeking back")
        resumed_at = len(frames())
        key(b" ", "resumed")
        wait_until(lambda: len(frames()) >= resumed_at + 100, 10, "100 frames at rate 2")
        times = [json.loads(l)["recv_ns"] for l in viewer_lines if '"timing"' in l][resumed_at + 10:resumed_at + 100]
        stop(player, signal.SIGINT)
        mode_after = termios.tcgetattr(slave)
        got = frames()
    except AssertionError as e:
        raise AssertionError(f"{e}\nplay stderr: {play_err[-15:]}\nviewer: {viewer_lines[-5:]}") from None
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
        os.close(master)
        os.close(slave)

    last = held[-1]
    assert stepped == [last + 1, last + 2, last + 3], (held[-3:], stepped)
    # → from the last frame sent (last + 3) by 5 s = 500 frames; ← back by as much.
    assert got[len(held) + 3] == last + 503, got[len(held):len(held) + 6]
    assert got[len(held) + 4] == last + 3, got[len(held):len(held) + 6]
    # Rate 2 after resuming: the 10 ms gaps are 5 ms.
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    assert 4_000_000 <= gaps[len(gaps) // 2] <= 6_000_000, gaps[len(gaps) // 2]
    assert mode_after[3] & (termios.ICANON | termios.ECHO) == mode_before[3] & (termios.ICANON | termios.ECHO)

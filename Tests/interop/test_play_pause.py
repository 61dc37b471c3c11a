"""`trackbag play`: space pauses and resumes when stdin is a terminal.

Over loopback with only trackbag's own participants (no root): `trackbag serve`, a Swift viewer
(`trackbag-testpeer room-peer`) subscribed to the replayed track, and `trackbag play` with a pseudo
terminal on its stdin. A space after ~0.5 s of replay, another 1 s later: the viewer sees a
gap of about a second, then the rest of the frames at the recording's pacing, every frame
delivered once; the terminal's mode is as before when play exits.
"""
import json
import os
import pty
import subprocess
import termios
import threading
import time
from live_room import imu_recording, read_lines_blocking, start_loopback_server, stop, testpeer, wait_until

RATE = 100
FRAMES = 200




def test_space_pauses_and_resumes_the_replay(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)

    procs = []
    play_err, play_out, viewer_lines = [], [], []
    master, slave = pty.openpty()
    try:
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

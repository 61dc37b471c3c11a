"""A system clock step while `trackbag record` runs (NTP's first sync on a robot that booted
without a real-time clock, or an operator's `date -s`). The recorder runs under an LD_PRELOAD
shim (clockstep/clock_step.c) that moves only its own CLOCK_REALTIME by an hour, forward or
back, a few seconds in; the machine's clock is not touched, and the server and the publisher
keep the true time. Over loopback, with trackbag's own participants only (no root).

What must hold: receive times in the file keep the spacing the frames arrived with (the
robot's user timestamps, 10 ms apart, are the reference), so a replay paces the session right
and a `--split-duration` boundary does not fire on a step; the file says that the system clock
stepped and by how much; the recorder does not take the step for a lost signal connection."""
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from live_room import imu_recording, read_lines_blocking, start_loopback_server, stop, wait_until
from tbag_format import read_tbag

FRAMES = 600          # 6 s at 100 Hz
SPACING_NS = 10_000_000
HERE = os.path.dirname(os.path.abspath(__file__))


def clock_step_shim(workdir):
    out = os.path.join(workdir, "clock_step.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", out, os.path.join(HERE, "clockstep", "clock_step.c"), "-ldl"],
                   check=True, capture_output=True, timeout=60)
    return out


@pytest.mark.parametrize("step_s", [3600, -3600], ids=["forward-1h", "back-1h"])
def test_a_stepped_system_clock_leaves_recorded_spacing_and_replay_pace_intact(trackbag, tmp_path, step_s):
    shim = clock_step_shim(str(tmp_path))
    source = imu_recording(trackbag, str(tmp_path), FRAMES)
    out = tmp_path / "rec.tbag"
    procs, rec_err, play_err = [], [], []
    try:
        server, url = start_loopback_server(trackbag)
        procs.append(server)
        # The step comes 4 s after the recorder first reads the clock: after it joined and while
        # the 6 s replay is under way (play waits for it, then a 1 s lead-in).
        env = dict(os.environ, LD_PRELOAD=shim, TB_CLOCK_STEP_AFTER_MS="4000", TB_CLOCK_STEP_NS=str(step_s * 10**9))
        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", "lab", "--out", str(out),
                                     "--split-duration", "30s"],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(recorder)
        threading.Thread(target=read_lines_blocking, args=(recorder.stderr, rec_err), daemon=True).start()
        wait_until(lambda: any("joined room" in l for l in rec_err), 30, "the recorder to join", poll=0.05)
        player = subprocess.Popen([trackbag, "play", source, "--url", url, "--room", "lab",
                                   "--wait-for-subscribers", "1", "--lead-in", "1"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(player)
        threading.Thread(target=read_lines_blocking, args=(player.stderr, play_err), daemon=True).start()
        assert player.wait(timeout=60) == 0, play_err[-10:]
        time.sleep(0.5)
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(timeout=30) == 0, rec_err[-20:]
    except AssertionError as e:
        raise AssertionError(f"{e}\nrecord: {rec_err[-15:]}\nplay: {play_err[-5:]}") from None
    finally:
        for proc in reversed(procs):
            stop(proc)

    # A split on a 30 s span would have fired on a one-hour step forward: still one part.
    files = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tbag" and p.name != "in.tbag")
    assert files == ["rec-1.tbag"], files
    out = tmp_path / files[0]
    _, tracks, frames = read_tbag(str(out))
    imu = next(tid for tid, key in tracks.items() if key == ("robot", "imu"))
    got = frames[imu]
    assert len(got) >= FRAMES * 0.95, f"{len(got)} of {FRAMES} frames recorded over loopback"
    # Each frame's receive-time step against its user-timestamp step (the robot's clock): a
    # replay sleeps exactly the receive-time step, so this is the replay's pacing error.
    worst = max(abs((b[0] - a[0]) - (b[1] - a[1]) * SPACING_NS) for a, b in zip(got, got[1:]))
    assert worst < 500_000_000, f"receive-time spacing off by {worst / 1e9:.3f} s against the robot's 10 ms"
    span = got[-1][0] - got[0][0]
    expected = (got[-1][1] - got[0][1]) * SPACING_NS
    assert abs(span - expected) < 1_000_000_000, (span, expected)

    with sqlite3.connect(out) as db:
        events = db.execute("SELECT kind, detail FROM events").fetchall()
    steps = [d for k, d in events if k == "note" and "system clock stepped" in d]
    assert len(steps) == 1, events
    reported = float(steps[0].split("stepped by ")[1].split(" s")[0])
    assert abs(reported - step_s) < 0.05, steps
    assert not [e for e in events if e[0] == "reconnect"], events

    # Replayed at original pace, the session lasts what it lasted, not an hour more (or less).
    jsonl = tmp_path / "replayed.jsonl"
    pipeline = tmp_path / "replay.yaml"
    pipeline.write_text(f"sources:\n  rec:\n    type: recording\n    path: {out}\n    pace: original\n"
                        f"sinks:\n  out:\n    type: jsonl\n    inputs: [rec]\n    path: {jsonl}\n")
    started = time.monotonic()
    done = subprocess.run([trackbag, "run", str(pipeline)], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert sum(1 for _ in open(jsonl)) == len(got)
    assert span / 1e9 - 0.5 < took < span / 1e9 + 5, f"replay took {took:.2f} s for a {span / 1e9:.2f} s session"

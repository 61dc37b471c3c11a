"""`trackbag snapshot --room` over loopback, only trackbag's own participants (no root):
`trackbag serve`, `trackbag play` publishing robot/imu at 100 Hz, `trackbag record --snapshot`
buffering it, and `trackbag snapshot` from another process asking for a snapshot mid-replay.
One file is written; its `snapshot` event names the asking identity and its note, and it holds
the robot's frames from about `pre` before the request to `post` after it."""
import signal
import sqlite3
import subprocess
import threading
import time

from live_room import imu_recording, read_lines_blocking, start_loopback_server, stop, wait_until

FRAMES = 1000




def test_snapshot_command_fires_the_recorder_in_the_room(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)
    snaps = tmp_path / "snaps"
    procs, rec_err, rec_out, play_err = [], [], [], []
    try:
        server, url = start_loopback_server(trackbag)
        procs.append(server)
        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", "lab", "--snapshot", "--pre", "2s",
                                     "--post", "1s", "--snapshot-dir", str(snaps)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(recorder)
        threading.Thread(target=read_lines_blocking, args=(recorder.stderr, rec_err), daemon=True).start()
        threading.Thread(target=read_lines_blocking, args=(recorder.stdout, rec_out), daemon=True).start()
        player = subprocess.Popen([trackbag, "play", str(tbag), "--url", url, "--room", "lab",
                                   "--wait-for-subscribers", "1", "--lead-in", "1"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(player)
        threading.Thread(target=read_lines_blocking, args=(player.stderr, play_err), daemon=True).start()
        wait_until(lambda: any("replaying" in l for l in play_err), 60, "play to start", poll=0.05)
        time.sleep(4.0)
        asked = time.time_ns()
        done = subprocess.run([trackbag, "snapshot", "--url", url, "--room", "lab", "--identity", "operator",
                               "--note", "wobble at the gripper", "--lead-in", "1"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done
        wait_until(lambda: any("closed" in l for l in rec_err), 30, "the snapshot file to close", poll=0.05)
        player.wait(timeout=60)
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)
    except AssertionError as e:
        raise AssertionError(f"{e}\nrecord: {rec_err[-10:]}\nplay: {play_err[-5:]}") from None
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
    print("\n".join(rec_err + rec_out))
    files = sorted(snaps.iterdir())
    assert len(files) == 1, files
    with sqlite3.connect(files[0]) as db:
        events = db.execute("SELECT time_ns, identity, track, detail FROM events WHERE kind = 'snapshot'").fetchall()
        frames = db.execute("SELECT SUM(frame_count) FROM chunks JOIN tracks ON tracks.id = chunks.track_id "
                            "WHERE tracks.name = 'imu'").fetchone()[0]
    assert len(events) == 1, events
    time_ns, identity, track, detail = events[0]
    assert (identity, track) == ("operator", "trackbag.snapshot"), events
    assert "wobble at the gripper" in detail and detail.startswith("fired by command"), detail
    assert abs(time_ns - asked) < 5_000_000_000, (time_ns, asked)
    # About 2 s before and 1 s after at 100 Hz: 300 frames, give or take the live edges.
    assert 250 <= frames <= 310, frames

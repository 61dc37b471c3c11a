"""`record --snapshot` answers the RPC method `trackbag.snapshot`, over loopback with only
trackbag's own participants (no root): `trackbag serve`, `trackbag play` publishing robot/imu at
100 Hz, the recorder buffering it, and a Swift room client (`trackbag-testpeer room-peer`, whose
RPC is checked against LiveKit's SDK in test_rpc.py) calling the method mid-replay, then once
more while the file is open. The first call answers with the file it opens, the second with the
same file and `extended`; the file's `snapshot` events name the caller and the note."""
import json
import signal
import sqlite3
import subprocess
import threading
import time

from live_room import imu_recording, read_lines_blocking, start_loopback_server, stop, wait_until
import live_room

FRAMES = 1000


def test_snapshot_rpc_fires_the_recorder_and_names_the_file(trackbag, tmp_path):
    tbag = imu_recording(trackbag, str(tmp_path), FRAMES)
    snaps = tmp_path / "snaps"
    procs, rec_err, rec_out, play_err, peer_lines = [], [], [], [], []
    try:
        server, url = start_loopback_server(trackbag)
        procs.append(server)
        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", "lab", "--snapshot", "--pre", "2s",
                                     "--post", "1s", "--snapshot-dir", str(snaps)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(recorder)
        threading.Thread(target=read_lines_blocking, args=(recorder.stderr, rec_err), daemon=True).start()
        threading.Thread(target=read_lines_blocking, args=(recorder.stdout, rec_out), daemon=True).start()
        token = subprocess.run([trackbag, "token", "--identity", "operator", "--room", "lab"], check=True,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        peer = subprocess.Popen([live_room.testpeer(trackbag), "room-peer", "--url", url, "--token", token], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(peer)
        threading.Thread(target=read_lines_blocking, args=(peer.stdout, peer_lines), daemon=True).start()
        player = subprocess.Popen([trackbag, "play", str(tbag), "--url", url, "--room", "lab",
                                   "--wait-for-subscribers", "2", "--lead-in", "1"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(player)
        threading.Thread(target=read_lines_blocking, args=(player.stderr, play_err), daemon=True).start()
        wait_until(lambda: any("replaying" in l for l in play_err), 60, "play to start", poll=0.05)
        time.sleep(4.0)

        def call(tag, note):
            peer.stdin.write(json.dumps({"cmd": "rpc", "destination": "trackbag-recorder", "method": "trackbag.snapshot",
                                         "payload": json.dumps({"note": note}), "tag": tag}) + "\n")
            peer.stdin.flush()
            wait_until(lambda: any(f'"tag":"{tag}"' in l for l in peer_lines), 20, f"the {tag} answer", poll=0.02)
            return next(json.loads(l) for l in peer_lines if f'"tag":"{tag}"' in l)

        asked = time.time_ns()
        first = call("first", "wobble at the gripper")
        time.sleep(0.3)
        second = call("second", "and again")
        wait_until(lambda: any("closed" in l for l in rec_err), 30, "the snapshot file to close", poll=0.05)
        player.wait(timeout=60)
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)
    except AssertionError as e:
        raise AssertionError(f"{e}\nrecord: {rec_err[-10:]}\nplay: {play_err[-5:]}\npeer: {peer_lines[-5:]}") from None
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
    print("\n".join(rec_err + rec_out))
    print(f"trackbag.snapshot answered in {first['ms']:.1f} ms and {second['ms']:.1f} ms")
    files = sorted(snaps.iterdir())
    assert len(files) == 1, files
    assert first["ok"], first
    answer = json.loads(first["payload"])
    assert answer == {"file": str(files[0]), "extended": False}, (answer, files)
    assert second["ok"] and json.loads(second["payload"]) == {"file": str(files[0]), "extended": True}, second
    with sqlite3.connect(files[0]) as db:
        events = db.execute("SELECT time_ns, identity, detail FROM events WHERE kind = 'snapshot' ORDER BY time_ns").fetchall()
    assert len(events) == 2, events
    assert events[0][1] == "operator" and "wobble at the gripper" in events[0][2], events
    assert events[1][1] == "operator" and "and again" in events[1][2], events
    assert abs(events[0][0] - asked) < 5_000_000_000, (events[0][0], asked)

"""The flight recorder end to end, offline: a JSON lines session runs through `decode` into a
`snapshot` sink whose trigger matches one frame; the one file written holds exactly the frames
from 10 s before that frame to 5 s after it, byte for byte, and a `snapshot` event naming the
expression."""
import base64
import json
import pathlib
import sqlite3
import subprocess

T0 = 1_780_000_000_000_000_000
S = 1_000_000_000


def line(identity, track, time_ns, payload: bytes):
    # The canonical form `trackbag export --format jsonl` writes (README, "JSON lines").
    return json.dumps({"identity": identity, "track": track, "time_ns": time_ns, "user_timestamp": None,
                       "payload_b64": base64.b64encode(payload).decode()}, separators=(",", ":"))


def session():
    """imu at 10 Hz and pose at 2 Hz for 30 s; one estop on `events` at 15.05 s, one warning at 3 s."""
    lines = []
    for i in range(300):
        t = T0 + i * S // 10
        lines.append((t, line("robot-1", "imu", t, json.dumps({"i": i}).encode())))
        if i % 5 == 0:
            lines.append((t, line("robot-2", "pose", t, json.dumps({"x": i}).encode())))
    lines.append((T0 + 3 * S, line("robot-1", "events", T0 + 3 * S, b'{"kind":"warning"}')))
    lines.append((T0 + 15 * S + 50_000_000, line("robot-1", "events", T0 + 15 * S + 50_000_000, b'{"kind":"estop"}')))
    lines.sort(key=lambda x: x[0])
    return lines


def run_pipeline(trackbag, tmp_path, out_dir):
    src = tmp_path / "session.jsonl"
    src.write_text("".join(l + "\n" for _, l in session()))
    config = tmp_path / "p.yaml"
    config.write_text(f"""sources:
  s: {{type: jsonl, path: {src}, frame_encoding: json}}
transforms:
  d: {{type: decode, inputs: [s]}}
sinks:
  blackbox:
    type: snapshot
    inputs: [d]
    directory: {out_dir}
    pre: 10s
    post: 5s
    max_bytes: 64MiB
    trigger: 'track == "events" && value.kind == "estop"'
""")
    done = subprocess.run([trackbag, "run", str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done


def test_snapshot_sink_writes_the_window_around_the_matching_frame(trackbag, tmp_path):
    out_dir = tmp_path / "snaps"
    run_pipeline(trackbag, tmp_path, out_dir)
    files = sorted(out_dir.iterdir())
    assert [f.name for f in files] == ["snapshot-20260528-202655.050.tbag"], files
    trigger = T0 + 15 * S + 50_000_000
    expected = [l for t, l in session() if trigger - 10 * S <= t <= trigger + 5 * S]
    exported = tmp_path / "out.jsonl"
    done = subprocess.run([trackbag, "export", str(files[0]), "--format", "jsonl", "--out", str(exported)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    got = exported.read_text().splitlines()
    # Receive-time order across tracks; frames of one time keep their track order in the file.
    assert sorted(got) == sorted(expected) and len(got) == len(expected) == 181, (len(got), len(expected))
    assert [json.loads(g)["time_ns"] for g in got] == sorted(json.loads(g)["time_ns"] for g in got)

    with sqlite3.connect(files[0]) as db:
        events = db.execute("SELECT time_ns, kind, identity, track, detail FROM events WHERE kind = 'snapshot'").fetchall()
    assert len(events) == 1, events
    time_ns, _, identity, track, detail = events[0]
    assert (time_ns, identity, track) == (trigger, "robot-1", "events"), events
    assert 'expression: track == "events" && value.kind == "estop"' in detail, detail

    info = subprocess.run([trackbag, "info", str(files[0])], capture_output=True, text=True, timeout=60)
    assert info.returncode == 0 and "snapshot 1" in info.stdout, info


def test_a_second_run_never_overwrites_the_first_file(trackbag, tmp_path):
    out_dir = tmp_path / "snaps"
    run_pipeline(trackbag, tmp_path, out_dir)
    first = (out_dir / "snapshot-20260528-202655.050.tbag").read_bytes()
    run_pipeline(trackbag, tmp_path, out_dir)
    names = sorted(f.name for f in out_dir.iterdir())
    assert names == ["snapshot-20260528-202655.050-2.tbag", "snapshot-20260528-202655.050.tbag"], names
    assert (out_dir / "snapshot-20260528-202655.050.tbag").read_bytes() == first


def test_sigusr1_fires_a_snapshot_at_the_newest_frame(trackbag, tmp_path):
    """Frames arrive on standard input; SIGUSR1 fires at the newest frame's receive time (an
    offline pipeline's clock), so the file holds the 10 s before it and the 5 s after."""
    import os
    import signal
    import time
    out_dir = tmp_path / "snaps"
    config = tmp_path / "p.yaml"
    config.write_text(f"""sources:
  s: {{type: jsonl, path: "-", batch_size: 1}}
sinks:
  blackbox: {{type: snapshot, inputs: [s], directory: {out_dir}, pre: 10s, post: 5s}}
""")
    proc = subprocess.Popen([trackbag, "run", str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # 20 s of one frame a second, then signal until the file appears (the sink listens from
        # its first frame; a signal before that is ignored), then 20 s more.
        for i in range(21):
            proc.stdin.write(line("robot-1", "imu", T0 + i * S, bytes([i])) + "\n")
        proc.stdin.flush()
        # Until trackbag ignores or catches SIGUSR1 (before running the pipeline), the signal's
        # default action would end it: wait for the bit in /proc (Linux).
        for _ in range(600):
            status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
            masks = [int(status.split(k)[1].split()[0], 16) for k in ("SigIgn:", "SigCgt:")]
            if (masks[0] | masks[1]) & (1 << (signal.SIGUSR1 - 1)):
                break
            time.sleep(0.05)
        for _ in range(100):
            os.kill(proc.pid, signal.SIGUSR1)
            time.sleep(0.1)
            if out_dir.exists() and list(out_dir.iterdir()):
                break
        for i in range(21, 41):
            proc.stdin.write(line("robot-1", "imu", T0 + i * S, bytes([i])) + "\n")
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    files = sorted(out_dir.iterdir())
    assert len(files) == 1, files
    with sqlite3.connect(files[0]) as db:
        events = db.execute("SELECT time_ns, detail FROM events WHERE kind = 'snapshot' ORDER BY id").fetchall()
    assert events[0][0] == T0 + 20 * S and "signal: SIGUSR1" in events[0][1], events
    exported = tmp_path / "out.jsonl"
    subprocess.run([trackbag, "export", str(files[0]), "--format", "jsonl", "--out", str(exported)], check=True, timeout=60)
    got = [json.loads(l)["payload_b64"] for l in exported.read_text().splitlines()]
    # 10..20 from the ring, 21..25 after: every signal that arrived while the window was open only
    # extended it (at the same newest frame, so to the same end).
    assert got == [base64.b64encode(bytes([i])).decode() for i in range(10, 26)], got

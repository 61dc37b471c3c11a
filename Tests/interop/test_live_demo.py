"""`trackbag demo --part live` (the live half of `make demo`): serve, a simulated robot,
record, replay into a second room, a viewer that checks every frame. Only trackbag's own
participants take part, over loopback, so this needs neither root nor a namespace."""
import re
import subprocess


def test_live_demo_replays_every_recorded_frame(trackbag, tmp_path):
    completed = subprocess.run([trackbag, "demo", "--part", "live", "--dir", str(tmp_path), "--seconds", "3"],
                               capture_output=True, text=True, timeout=120)
    print(completed.stdout)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "every recorded frame replayed with identical payload and user timestamp, in order" in completed.stdout
    rows = {m.group(1): tuple(int(x) for x in m.groups()[1:]) for m in
            re.finditer(r"^\s+(imu|joint_states|odometry|status)\s+(\d+)\s+(\d+)\s+(\d+)\s+yes", completed.stdout, re.M)}
    assert set(rows) == {"imu", "joint_states", "odometry", "status"}, completed.stdout
    # published == recorded == replayed for every track; imu at 1 kHz for 3 s.
    for name, (published, recorded, replayed) in rows.items():
        assert published == recorded == replayed, (name, rows)
    assert rows["imu"][0] == 3000
    assert (tmp_path / "demo-live.tbag").exists()

"""`trackbag play --latch robot/map --latch-late-joiners`: a LiveKit SDK viewer that subscribes
mid-replay, long after the map's last frame, receives that frame at once (byte-exact, its own
user timestamp); the viewer that was there all along receives it again each time (data-track
frames go to every subscriber of the track), and nothing else is repeated. Prints the time from
subscribing to the latched frame.

One run in a namespace made by `scripts/netns-run` (root), bounded in time.
"""
import json
import pathlib
import subprocess
import sys


from netns import NETNS_RUN, PEER_PYTHON, needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "latch_late_joiner_driver.py")

pytestmark = needs_root


def test_late_joiner_gets_the_latched_frame(trackbag, tmp_path, capsys):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, str(tmp_path)],
                               capture_output=True, text=True, timeout=150)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    latencies = [late["latency_ms"] for late in result["late"]]
    with capsys.disabled():
        print(f"\n[latch late joiners] subscribe → latched frame ms: {latencies}; "
              f"subscribe → first imu frame (every 10 ms) ms: {[late['imu_latency_ms'] for late in result['late']]}")
    for n, late in enumerate(result["late"]):
        # The last map frame (user timestamp 1002), whole, and nothing older; then the same again
        # for each viewer that joins after it.
        assert late["map"] == [[1002, True]] * (len(result["late"]) - n), (n, late, result["play_log"])
        assert late["latency_ms"] is not None and late["latency_ms"] < 500, late
        # imu is not latched: the late viewer starts at the frame of the moment, not frame 0.
        assert late["imu_first"] >= 300, late
    # The early viewer: the three map frames in order, then the last again for each late viewer.
    assert result["early_map"] == [[1000, True], [1001, True]] + [[1002, True]] * (1 + len(result["late"])), result
    assert result["early_imu_in_order"], result

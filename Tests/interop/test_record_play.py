"""`trackbag record` and `trackbag play` judged by LiveKit's official SDK, livekit 1.2.1.

Each test runs `record_play_driver.py` inside `scripts/netns-run`: an SDK publisher pushes three
tracks (1 kHz × 48 B, 100 Hz JSON, 10 Hz × 40,000 B, the last published after the recorder
joined) into `trackbag serve`; `trackbag record` records them; `trackbag play` replays the file
into another room, where an SDK viewer (and a Swift viewer, for comparison) receives it.

The gap figure is |viewer's inter-arrival gap − recorded inter-arrival gap / rate| per frame,
p99 over all frames. It includes every scheduler hiccup of the server, the player and the viewer
on a machine shared with other builds, so the bound asserted is generous
(TB_GAP_P99_MS, default 30 ms: debug builds on a machine shared by ~8 builders); the measured figures are printed.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NETNS_RUN = str(ROOT / "scripts" / "netns-run")
DRIVER = str(ROOT / "Tests" / "interop" / "record_play_driver.py")
PEER_PYTHON = str(ROOT / ".venv-peers" / "bin" / "python") if (ROOT / ".venv-peers").exists() else sys.executable
GAP_P99_MS = float(os.environ.get("TB_GAP_P99_MS", "30"))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns-run needs root")


def run(trackbag, tmp_path, *extra, timeout=240):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, str(tmp_path), *extra],
                               capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps({k: v for k, v in result.items() if k != "tracks"}, indent=1))
    for name, track in result["tracks"].items():
        print(name, json.dumps(track))
    assert result["server_exit"] == 0, result
    return result


def check_record_and_replay(result):
    # The recorder stops cleanly on SIGINT and says what it recorded.
    assert result["record_exit"] == 0, result["record_stderr"]
    assert any(line.startswith("file ") for line in result["record_stdout"]), result["record_stdout"]
    assert result["play_exit"] == 0, result["play_stderr"]
    assert any(line.startswith("timing: paced") for line in result["play_stdout"]), result["play_stdout"]
    # Replayed under the recorded identity and names.
    assert result["publishers"] == [["robot", "camera"], ["robot", "imu"], ["robot", "joints"]]
    # The server's own account: the recorder was sent every packet the robot published, and the
    # player published exactly that many again; no viewer had a packet dropped by the server.
    sessions = result["server_sessions"]
    robots = [s for s in sessions if s["identity"] == "robot"]
    recorder = next(s for s in sessions if s["identity"] == "trackbag-recorder")
    assert len(robots) == 2, sessions
    assert recorder["sent"] == recorder["queued"] and recorder["dropped"] == 0, sessions
    assert set(r["published"] for r in robots) == {recorder["sent"]}, sessions
    for viewer in (s for s in sessions if s["identity"] in ("viewer", "swiftviewer")):
        assert viewer["sent"] == recorder["sent"] and viewer["dropped"] == 0, sessions
    for name, track in result["tracks"].items():
        assert track["identities"] == ["robot"], (name, track)
        # The SDK publisher's own queue drops frames at these rates on a loaded machine (the
        # server never sees them: robot `published` above). The recording is the sent frames
        # that reached the server, in order, byte for byte.
        assert track["recorded_in_order_subset_of_sent"], (name, track)
        assert track["recorded"] > 0, (name, track)
        # Every recorded frame replayed, identical payload and user timestamp, in order: the
        # Swift viewer gets all of them. The SDK viewer was sent all of them (server counts
        # above) but libwebrtc may lose some on the lossy data-track channel when the machine is
        # starved; for it: in order, byte for byte, at most 2 % missing (the count is printed).
        assert track["swift_replayed"] == track["recorded"], (name, track)
        assert track["replayed_in_order_subset"], (name, track)
        assert track["replay_missing"] <= max(1, track["recorded"] // 50), (name, track)
    assert any("dropped: 0 before the pipeline" in line and ", 0 in the pipeline" in line
               for line in result["record_stdout"]), result["record_stdout"]
    assert any("dropped 0 " in line for line in result["play_stdout"]), result["play_stdout"]


def test_record_then_play_every_frame_same_payload_timestamp_and_pacing(trackbag, tmp_path):
    result = run(trackbag, tmp_path, "--seconds", "3")
    check_record_and_replay(result)
    # The camera track was published after the recorder joined, and was recorded.
    assert result["tracks"]["camera"]["recorded"] > 0
    print(f"gap error p99: SDK viewer {result['gap_error_ms_p99']:.3f} ms, "
          f"Swift viewer {result['swift_gap_error_ms_p99']:.3f} ms (bound {GAP_P99_MS} ms)")
    assert result["gap_error_ms_p99"] <= GAP_P99_MS, result["gap_error_ms_p99"]
    # Replay span matches the recording's.
    for name, track in result["tracks"].items():
        assert abs(track["replayed_span_s"] - track["recorded_span_s"]) < 0.05, (name, track)


def test_play_at_rate_2_halves_the_duration(trackbag, tmp_path):
    result = run(trackbag, tmp_path, "--seconds", "3", "--rate", "2")
    check_record_and_replay(result)
    for name, track in result["tracks"].items():
        ratio = track["replayed_span_s"] / track["recorded_span_s"]
        print(f"{name}: recorded {track['recorded_span_s']:.3f} s, replayed at rate 2 in {track['replayed_span_s']:.3f} s")
        assert 0.48 <= ratio <= 0.52, (name, ratio)


def test_track_unpublished_and_published_again_is_recorded_and_replayed(trackbag, tmp_path):
    result = run(trackbag, tmp_path, "--seconds", "3", "--republish")
    # The recorder subscribed to `joints` twice: at first and after it came back.
    joints_subscriptions = [l for l in result["record_subscriptions"] if "robot/joints" in l]
    assert len(joints_subscriptions) == 2, result["record_subscriptions"]
    assert joints_subscriptions[0] != joints_subscriptions[1]  # a new sid
    joints = result["tracks"]["joints"]
    assert joints["recorded_in_order_subset_of_sent"], joints
    # Frames from both publications were recorded (user timestamps are index-based: 0.01 s each).
    assert joints["recorded_first_half"] > 0 and joints["recorded_second_half"] > 0, joints
    # And replayed the same way to the SDK viewer, which sees the track go and come back.
    assert joints["replayed_in_order_subset"], joints
    assert joints["replay_missing"] <= max(1, joints["recorded"] // 50), joints
    assert result["play_exit"] == 0, result["play_stderr"]
    for name in ("imu", "camera"):
        assert result["tracks"][name]["swift_replayed"] == result["tracks"][name]["recorded"], result["tracks"][name]


def test_recorder_killed_with_sigkill_leaves_a_file_with_the_committed_frames(trackbag, tmp_path):
    result = run(trackbag, tmp_path, "--seconds", "2", "--kill")
    assert result["record_exit"] == -9, result["record_exit"]
    # Killed 1 s after the last push: every frame was committed (every 100 ms), the file opens,
    # and it replays like any other.
    recorder = next(s for s in result["server_sessions"] if s["identity"] == "trackbag-recorder")
    recorded_packets = sum(t["recorded_packets"] for t in result["tracks"].values())
    assert recorded_packets == recorder["sent"], (recorded_packets, result["server_sessions"])
    for name, track in result["tracks"].items():
        assert track["recorded"] > 0 and track["recorded_in_order_subset_of_sent"], (name, track)
        assert track["swift_replayed"] == track["recorded"], (name, track)
    assert result["play_exit"] == 0, result["play_stderr"]


def test_loop_repeats_the_recording_with_the_same_timestamps(trackbag, tmp_path):
    result = run(trackbag, tmp_path, "--seconds", "2", "--loop")
    # Stopped by SIGINT in its third pass: a clean stop that still prints the report.
    assert result["play_exit"] == 0, result["play_stderr"]
    assert any(line.startswith("timing: paced") for line in result["play_stdout"]), result["play_stdout"]
    for name, track in result["tracks"].items():
        print(f"{name}: {track['loop_passes']:.2f} passes of {track['recorded']} frames")
        # The viewer saw the recording again and again: same payloads, same user timestamps.
        assert track["loop_passes"] >= 1.9, (name, track)
        assert track["loop_in_order"], (name, track)

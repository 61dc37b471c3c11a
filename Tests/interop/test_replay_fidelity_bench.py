"""Smoke test of the replay-fidelity benchmark (`scripts/bench/replay_fidelity.py`):
runs it for 3 s inside scripts/netns-run and checks that it produced every figure. The figures
themselves are printed, never asserted (they depend on the machine's load), except what is a
correctness fact: every frame reached the Swift viewer, in order, intact in size.
"""
import json
import pathlib
import subprocess


from netns import NETNS_RUN, PEER_PYTHON, needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "scripts" / "bench" / "replay_fidelity.py")

pytestmark = needs_root


def test_replay_fidelity_bench_prints_every_figure(trackbag):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, "--seconds", "3", "--json"],
                               capture_output=True, text=True, timeout=120)
    print(completed.stdout)
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    table = "\n".join(lines[:-1])
    assert result["frames"] == 3000 and result["play_exit"] == 0 and result["server_exit"] == 0, result
    # Sender figures from `trackbag play` and both baseline rows from `trackbag-bench pacing`.
    for paced in (result["play"], result["pacing"]["bare_loop"], result["pacing"]["recording_source"]):
        assert paced["frames"] == 3000, result
        assert 0 <= paced["p50_ms"] <= paced["p99_ms"] <= paced["max_ms"], paced
    assert result["play_summary"].startswith("frames sent 3000, dropped 0"), result["play_summary"]
    # Every frame reached the Swift viewer once, in order, 64 bytes each.
    swift = result["swift"]
    assert (swift["distinct"], swift["lost"], swift["malformed"], swift["duplicates"]) == (3000, 0, 0, 0), swift
    assert swift["in_order"] and swift["pairs"] == 2999, swift
    # The server's own account of the run: the player published every frame once, and the
    # Swift viewer's count agrees with what it printed.
    sessions = result["server_sessions"]
    assert sessions["robot"]["published"] == 3000, sessions
    assert {"swiftviewer", "sdkviewer"} <= set(sessions), sessions
    assert result["swift_stats"]["frames_received"] == 3000, result["swift_stats"]
    # The SDK viewer's figures are there (libwebrtc may lose a frame on a starved machine).
    sdk = result["sdk"]
    assert sdk["malformed"] == 0 and sdk["in_order"] and sdk["pairs"] > 0, sdk
    for viewer in (swift, sdk):
        assert 0 <= viewer["p50_ms"] <= viewer["p99_ms"] <= viewer["max_ms"], viewer
        assert viewer["span_drift_ms"] is not None, viewer
    assert sdk["share_over_2ms"] is not None
    # The printed table names every row and its target.
    for needle in ("trackbag play (republish → serve)", "bench pacing, bare ReplayClock", "bench pacing, recording source",
                   "Swift (trackbag-testpeer room-peer)", "SDK (livekit 1.2.1 python)", "p99 ≤ 0.5 ms", "|drift| ≤ 1.0 ms",
                   "p99 ≤ 2.0 ms", "p99 ≈ 0.18 ms"):
        assert needle in table, needle

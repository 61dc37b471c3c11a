"""`trackbag serve` judged by LiveKit's official Python SDK, livekit 1.2.1 (issue 4).

Each test runs `room_sdk_peer.py` inside `scripts/netns-run` (libwebrtc gathers no loopback
candidates), which starts the server with --port 0 on the namespace's address, runs SDK
participants, stops the server by PID and reports what it saw. Both signaling paths:
`/rtc/v1` (single peer connection, the SDK default) and `/rtc` (`single_peer_connection=False`).
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NETNS_RUN = str(ROOT / "scripts" / "netns-run")
DRIVER = str(ROOT / "Tests" / "interop" / "room_sdk_peer.py")
PEER_PYTHON = str(ROOT / ".venv-peers" / "bin" / "python") if (ROOT / ".venv-peers").exists() else sys.executable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns-run needs root")

MODES = ["single-pc", "dual-pc"]


def run(trackbag, scenario, mode, timeout=180):
    args = [NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, scenario] + (["--dual"] if mode == "dual-pc" else [])
    completed = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # SIGTERM shuts the server down cleanly.
    assert result["server_exit"] == 0, result
    return result


@pytest.mark.parametrize("mode", MODES)
def test_sdk_publisher_to_sdk_subscriber_frames_byte_for_byte_then_unpublish(trackbag, mode):
    result = run(trackbag, "roundtrip", mode)
    assert result["primed"], result
    assert result["publisher_identity"] == "pub1"
    assert result["track_sid"].startswith("DTR_") and result["track_sid"] == result["local_sid"]
    # 1 B … 100,000 B, with and without user timestamps, equal and in order.
    assert result["equal"], result
    assert result["received"] == result["sent"] == 28
    # Unpublish is seen as an event for that track and the subscription stream ends.
    assert result["unpublished_sid"] == result["track_sid"]
    assert result["stream_end"] == "ended"
    assert result["local_is_published"] is False


@pytest.mark.parametrize("mode", MODES)
def test_late_subscriber_sees_existing_track(trackbag, mode):
    result = run(trackbag, "late", mode)
    assert result["sid"] == result["local_sid"]
    assert result["primed"] and result["equal"], result


@pytest.mark.parametrize("mode", MODES)
def test_two_subscribers_on_one_track(trackbag, mode):
    result = run(trackbag, "two-subscribers", mode)
    assert all(result["primed"]), result
    for received in result["subscribers"]:
        assert received["equal"] and received["received"] == 28, result


@pytest.mark.parametrize("mode", MODES)
def test_duplicate_name_and_missing_grant_rejected(trackbag, mode):
    result = run(trackbag, "rejections", mode)
    # The SDK's texts for RequestResponse DUPLICATE_NAME and NOT_ALLOWED (livekit-datatrack
    # `PublishError`).
    assert "already taken" in result["duplicate"], result
    assert "unauthorized" in result["no_grant"].lower(), result


@pytest.mark.parametrize("mode", MODES)
def test_bad_token_refused(trackbag, mode):
    result = run(trackbag, "bad-token", mode)
    assert result["connected"] is False, result


@pytest.mark.parametrize("mode", MODES)
def test_two_rooms_isolated(trackbag, mode):
    result = run(trackbag, "isolation", mode)
    assert all(result["primed"]), result
    assert result["a_frames"] and all(f.startswith("room-a-") for f in result["a_frames"]), result
    assert result["b_frames"] and all(f.startswith("room-b-") for f in result["b_frames"]), result
    assert result["extra_published"] == [], result
    assert result["a_remotes"] == ["pub"] and result["b_remotes"] == ["pub"]
    assert result["a_sids"][0] != result["b_sids"][0]

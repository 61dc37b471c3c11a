"""`trackbag serve` judged by LiveKit's official Python SDK, livekit 1.2.1.

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

from netns import NETNS_RUN, PEER_PYTHON, needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "room_sdk_peer.py")

pytestmark = needs_root

MODES = ["single-pc", "dual-pc"]


def run(trackbag, scenario, mode, tmp_path, timeout=180):
    args = [NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, scenario] + (["--dual"] if mode == "dual-pc" else [])
    env = dict(os.environ, TB_SERVER_LOG=str(tmp_path / "server.log"))
    completed = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # SIGTERM shuts the server down cleanly.
    assert result["server_exit"] == 0, result
    return result


def run_delivering(trackbag, scenario, mode, tmp_path):
    """Runs a frame-delivery scenario once. Frames lost on the way are not retried away: each
    must be accounted for (`assert_frames_delivered`), and the accounts are printed."""
    result = run(trackbag, scenario, mode, tmp_path)
    for s in result.get("subscribers", [result]):
        if not s.get("equal"):
            print(f"[{scenario} {mode}] lost frames {[m['index'] for m in s.get('missing', [])]}; "
                  f"socket drops {result.get('socket_drops')}; the SDK dropped {result.get('sdk_logged_drops')}")
    return result


def server_counters(result, identity):
    """(queued, sent, dropped) of a subscriber, from the server's leave log line. Packets that
    found no open channel (a probe racing the subscriber's channel) count as neither sent nor
    dropped by the queue: queued = sent + unsent."""
    line = next(l for l in result["server_log"] if l.startswith(f"serve: {identity} left:"))
    words = line.split("as subscriber ")[1].replace(",", "").split()
    queued, sent, dropped, unsent = int(words[0]), int(words[2]), int(words[4]), int(words[6])
    assert unsent <= 2, line
    return queued - unsent, sent, dropped


def published_packets(result, identity):
    """Packets the server received from a publisher, from its leave log line."""
    line = next(l for l in result["server_log"] if l.startswith(f"serve: {identity} left:"))
    return int(line.split("published ")[1].split()[0])


def assert_frames_delivered(received, result, probes):
    """Every frame arrived byte for byte and in order, or its loss is accounted for. A data
    track is `maxRetransmits: 0`: a packet lost anywhere costs its whole frame. Where it can
    be lost here, each counted separately:
    - the SDK publisher: it keeps one frame waiting for its channel and evicts it for the next
      (livekit `rtc_engine/dc_sender.rs`, drop-oldest, capacity 1), so the server never gets
      it: packets pushed (probes + frames) minus packets the server says it received;
    - the kernel, at an SDK socket whose buffer was full (`socket_drops`, per socket);
    - the SDK subscriber itself, which logs what it drops (`sdk_logged_drops`).
    The server's own queue must drop nothing (checked by the callers); one lost packet or
    datagram loses at most one frame, so the frames missing are at most the sum."""
    assert received["received_in_order_and_exact"], received
    if received["equal"]:
        return
    sender = max(0, probes + received["sent_packets"] - published_packets(result, "pub1"))
    kernel = sum(result.get("socket_drops", {}).values())
    sdk = sum(result.get("sdk_logged_drops", {}).values())
    detail = {"received": received, "sender_lost_packets": sender, "socket_drops": result.get("socket_drops"),
              "sdk_logged_drops": result.get("sdk_logged_drops"), "server_log": result.get("server_log")}
    print(f"missing {len(received['missing'])} frames: the SDK publisher lost {sender} packets, "
          f"SDK sockets dropped {kernel} datagrams, the SDK logged {sdk} drops")
    assert len(received["missing"]) <= sender + kernel + sdk, detail


@pytest.mark.parametrize("mode", MODES)
def test_sdk_publisher_to_sdk_subscriber_frames_byte_for_byte_then_unpublish(trackbag, mode, tmp_path):
    result = run_delivering(trackbag, "roundtrip", mode, tmp_path)
    assert result["primed"], result
    assert result["publisher_identity"] == "pub1"
    assert result["track_sid"].startswith("DTR_") and result["track_sid"] == result["local_sid"]
    # 1 B … 100,000 B, with and without user timestamps, equal and in order.
    assert result["sent"] == 28
    assert_frames_delivered(result, result, result["primed"])
    # The server forwarded every packet it got and dropped none.
    queued, sent, dropped = server_counters(result, "sub1")
    assert queued == sent and dropped == 0 and sent > 0, result["server_log"]
    # Unpublish is seen as an event for that track and the subscription stream ends.
    assert result["unpublished_sid"] == result["track_sid"]
    assert result["stream_end"] == "ended"
    assert result["local_is_published"] is False


@pytest.mark.parametrize("mode", MODES)
def test_late_subscriber_sees_existing_track(trackbag, mode, tmp_path):
    result = run(trackbag, "late", mode, tmp_path)
    assert result["sid"] == result["local_sid"]
    assert result["primed"] and result["equal"], result


@pytest.mark.parametrize("mode", MODES)
def test_two_subscribers_on_one_track(trackbag, mode, tmp_path):
    result = run_delivering(trackbag, "two-subscribers", mode, tmp_path)
    assert all(result["primed"]), result
    for received in result["subscribers"]:
        assert received["sent"] == 28
        assert_frames_delivered(received, result, sum(result["primed"]))
    for identity in ("sub1", "sub2"):
        queued, sent, dropped = server_counters(result, identity)
        assert queued == sent and dropped == 0 and sent > 0, result["server_log"]


@pytest.mark.parametrize("mode", MODES)
def test_duplicate_name_and_missing_grant_rejected(trackbag, mode, tmp_path):
    result = run(trackbag, "rejections", mode, tmp_path)
    # The SDK's texts for RequestResponse DUPLICATE_NAME and NOT_ALLOWED (livekit-datatrack
    # `PublishError`).
    assert "already taken" in result["duplicate"], result
    assert "unauthorized" in result["no_grant"].lower(), result
    assert result["first_still_published"] is True


@pytest.mark.parametrize("mode", MODES)
def test_bad_token_refused(trackbag, mode, tmp_path):
    result = run(trackbag, "bad-token", mode, tmp_path)
    assert result["connected"] is False, result
    # The SDK fetched …/validate and shows our 401 reason.
    assert "401" in result["error"] and "signature" in result["error"], result


@pytest.mark.parametrize("mode", MODES)
def test_two_rooms_isolated(trackbag, mode, tmp_path):
    result = run(trackbag, "isolation", mode, tmp_path)
    assert all(result["primed"]), result
    assert result["a_frames"] and all(f.startswith("room-a-") for f in result["a_frames"]), result
    assert result["b_frames"] and all(f.startswith("room-b-") for f in result["b_frames"]), result
    assert result["extra_published"] == [], result
    assert result["a_remotes"] == ["pub"] and result["b_remotes"] == ["pub"]
    assert result["a_sids"][0] != result["b_sids"][0]


@pytest.mark.parametrize("mode", MODES)
def test_data_packets_forwarded_with_destinations_and_grant(trackbag, mode, tmp_path):
    result = run(trackbag, "data-packets", mode, tmp_path)
    got = result["got"]
    assert ["alice", "to-all", "t1"] in got["bob"] and ["alice", "to-all", "t1"] in got["carol"], result
    assert ["alice", "lossy-to-all", ""] in got["bob"] or ["alice", "lossy-to-all", None] in got["bob"], result
    assert any(m[1] == "only-bob" for m in got["bob"]), result
    assert not any(m[1] == "only-bob" for m in got["carol"]), result
    assert got["alice"] == [], result  # never echoed to the sender
    # Without canPublishData nothing from "mute" reaches anyone.
    assert not any(m[1] == "from-mute" for n in ("alice", "bob", "carol") for m in got[n]), result


def test_signal_edges_401_reasons_resume_and_replacement(trackbag, tmp_path):
    result = run(trackbag, "signal-edges", "single-pc", tmp_path)
    assert result["bad_signature"][0] == 401 and "signature" in result["bad_signature"][1]
    # One answer for an unknown key and a bad signature: it does not tell which keys exist.
    assert result["unknown_key"] == result["bad_signature"], result
    assert result["no_token"][0] == 401
    assert result["good"] == [200, "success"] and result["query_token"] == [200, "success"]
    # A resume attempt is answered with Leave{action: RECONNECT (2)}.
    assert result["resume"] == ["leave", 2], result
    # The same identity joining again replaces the old session (DUPLICATE_IDENTITY = 2).
    assert result["replaced_reason"] == [2] and result["second_connected"] is True, result


@pytest.mark.parametrize("mode", MODES)
def test_sdk_publisher_signal_loss(trackbag, mode, tmp_path, capsys):
    """The SDK publisher's signal WebSocket drops (no leave): the server keeps it, refuses the
    SDK's resume attempt with Leave{RECONNECT}, the SDK re-joins (replacing the kept session),
    re-publishes, and the SDK subscriber gets frames again."""
    result = run(trackbag, "signal-loss", mode, tmp_path)
    with capsys.disabled():
        print(f"\n[signal-loss {mode}] signal paths {result.get('signal_paths')}, pub {result.get('pub_events')}, "
              f"sub {result.get('sub_events')}, track back after {result.get('seconds_to_republished')} s")
        for line in result.get("server_log", []):
            if "left:" not in line:
                print(f"  {line}")
    assert result["before"]["equal"], result
    assert any("signal closed without leave: kept" in l for l in result["server_log"]), result
    # Measured with livekit 1.2.1: it tries to resume first (reconnect, RR_SIGNAL_DISCONNECTED).
    assert any("resume attempt" in l for l in result["server_log"]), result
    assert result["republished"], result
    assert result["after"]["received_in_order_and_exact"] and result["after"]["received"] > 0, result

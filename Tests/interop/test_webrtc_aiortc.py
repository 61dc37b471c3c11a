"""WebRTCData against aiortc 1.16.0: Swift offerer ↔ aiortc answerer and the reverse,
both DTLS roles, a lite Swift answerer, reliable, unordered maxRetransmits 0 and timed
(maxPacketLifeTime) channels opened
from both sides, 1 B to 64 KiB messages both ways, clean close from both sides.

Runs inside `scripts/netns-run` (root): aioice never gathers 127.0.0.1.
"""
import json
import pathlib
import subprocess

import pytest

from netns import NETNS_RUN, PEER_PYTHON, needs_root

ROOT = pathlib.Path(__file__).resolve().parents[2]
DRIVER = str(ROOT / "Tests" / "interop" / "webrtc_aiortc_peer.py")

pytestmark = needs_root


def run_driver(trackbag, *args, timeout=150):
    completed = subprocess.run([NETNS_RUN, PEER_PYTHON, DRIVER, trackbag, *args],
                               capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("swift_role,swift_setup,lite,swift_dtls", [
    ("offer", "active", False, "server"),    # aiortc answers a=setup:active → it is the DTLS client
    ("answer", "active", False, "client"),   # Swift answers actpass with active
    ("answer", "passive", False, "server"),  # Swift answers passive: aiortc is the DTLS client
    ("answer", "passive", True, "server"),   # Swift as an ICE-lite answerer
])
def test_swift_and_aiortc_exchange_and_close(trackbag, swift_role, swift_setup, lite, swift_dtls):
    args = ["interop", "--swift-role", swift_role, "--swift-setup", swift_setup] + (["--lite"] if lite else [])
    result = run_driver(trackbag, *args)
    events = result["swift_events"]

    # DTLS roles as negotiated in the SDP (RFC 8842 §5.3).
    answer_setup = result["answer_setup"]
    if swift_role == "offer":
        assert answer_setup == ("active" if swift_dtls == "server" else "passive")
    else:
        assert answer_setup == ("active" if swift_dtls == "client" else "passive")

    # Channels aiortc opened, as Swift saw them through DCEP.
    seen = {e["label"]: e for e in events if e["type"] == "channel"}
    assert seen["py-reliable"]["ordered"] is True and seen["py-reliable"]["maxRetransmits"] == -1
    assert seen["py-lossy"]["ordered"] is False and seen["py-lossy"]["maxRetransmits"] == 0
    # Stream id parity follows the DTLS role of the opener (RFC 8832 §6).
    aiortc_parity = 0 if swift_dtls == "server" else 1
    assert {seen[label]["id"] % 2 for label in ("py-reliable", "py-lossy")} == {aiortc_parity}

    # Channels Swift opened, as aiortc saw them.
    remote = result["remote_channels"]
    assert remote["swift-reliable"]["ordered"] is True and remote["swift-reliable"]["maxRetransmits"] is None
    assert remote["swift-reliable"]["protocol"] == "tb"
    assert remote["swift-lossy"]["ordered"] is False and remote["swift-lossy"]["maxRetransmits"] == 0
    assert remote["swift-timed"]["ordered"] is True and remote["swift-timed"]["maxPacketLifeTime"] == 3000
    assert {remote[label]["id"] % 2 for label in ("swift-reliable", "swift-lossy", "swift-timed")} == {1 - aiortc_parity}

    # Every message 1 B … 64 KiB went both ways: Swift's echoed by aiortc, aiortc's by Swift.
    verified = {e["label"]: e for e in events if e["type"] == "verified"}
    assert verified["swift-reliable"]["ok"], verified
    assert verified["swift-lossy"]["ok"], verified
    assert verified["swift-timed"]["ok"], verified
    assert result["aiortc_verified"]["py-reliable"]["ok"], result["aiortc_verified"]
    assert result["aiortc_verified"]["py-lossy"]["ok"], result["aiortc_verified"]

    # Clean close from both sides: aiortc closed py-reliable (Swift saw it end), Swift closed
    # swift-reliable (aiortc saw it close), then the connection closed and Swift exited 0.
    closed = {e["label"] for e in events if e["type"] == "closed"}
    assert "py-reliable" in closed
    assert "swift-reliable" in closed
    assert "swift-reliable" in result["aiortc_saw_close"]
    assert result["swift_exit"] == 0

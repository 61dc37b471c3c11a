"""LiveKit RPC between the Swift room client and LiveKit's official SDK (livekit==1.2.1),
through our server (`trackbag serve`), in both directions and on both signaling paths: results,
the callee's errors (application, unsupported method, response too large), the caller's
(payload too large, connection timeout, response timeout, recipient disconnected), and
addressing (a bystander that registers the same methods sees none of the calls).

Each run is one namespace made by `scripts/netns-run` (root), bounded in time.
"""
import pytest

from test_room_client import run

pytestmark = pytest.mark.skipif(__import__("os").geteuid() != 0, reason="netns-run needs root")


@pytest.mark.parametrize("mode", [[], ["--dual-pc"]], ids=["rtc-v1", "rtc"])
def test_rpc_between_swift_client_and_sdk(trackbag, mode, capsys):
    result = run(trackbag, "rpc", *mode)
    with capsys.disabled():
        print(f"\n[rpc {mode or 'rtc-v1'}] round trip ms: {result['latency_ms']}")
    assert result["joined"]["single_pc"] is (mode == [])

    # SDK calls the Swift client.
    sdk = result["sdk_to_swift"]
    assert sdk["echo"]["payload"] == "sdk:olleh", sdk
    assert sdk["unicode"]["payload"] == "sdk:€ eßürg", sdk
    assert sdk["fail"]["error"] == [2001, "refused on purpose", "detail"], sdk
    assert sdk["missing"]["error"][:2] == [1400, "Method not supported at destination"], sdk
    assert sdk["big"]["error"][:2] == [1504, "Response payload too large"], sdk
    # The handler saw the caller the server stamped, and the SDK's response timeout.
    assert ["sdk", "echo", "hello"] == result["swift_invoked"][0][:3], result["swift_invoked"]
    assert result["swift_invoked"][0][3] > 0

    # The Swift client calls the SDK.
    swift = result["swift_to_sdk"]
    assert swift["echo"]["ok"] and swift["echo"]["payload"] == "swift:olleh", swift
    assert swift["fail"]["error"] == [2001, "refused on purpose", "detail"], swift
    assert swift["missing"]["error"][:2] == [1400, "Method not supported at destination"], swift
    # Acknowledged at once, answered after 3 s: the 1 s response timeout fires (1502) near 1 s.
    assert swift["timeout"]["error"][0] == 1502 and 900 <= swift["timeout"]["ms"] < 2500, swift
    # Refused before sending; the limit itself passes.
    assert swift["too_large"]["error"][0] == 1402 and swift["too_large"]["ms"] < 100, swift
    assert swift["at_limit"]["ok"], swift
    # Nobody acknowledges a call to an identity that is not in the room: 1501 after the round trip.
    assert swift["nobody"]["error"][0] == 1501 and 900 <= swift["nobody"]["ms"] < 2500, swift
    # The callee left mid-call.
    assert swift["left"]["error"][0] == 1503, swift
    assert [s[:3] for s in result["sdk_seen"][:1]] == [["swift", "echo", "hello"]], result["sdk_seen"]

    # Addressed delivery: the bystander saw no request, ack or response.
    assert result["carol_invoked"] == [], result["carol_invoked"]
    for key in ("ignored_data_packets", "malformed_data_packets", "unmatched_rpc_packets"):
        assert result["carol_stats"][key] == 0, result["carol_stats"]
    assert result["swift_stats"]["data_packets_not_sent"] == 0, result["swift_stats"]
    assert result["swift_stats"]["malformed_data_packets"] == 0, result["swift_stats"]
    for direction in ("sdk_to_swift", "swift_to_sdk"):
        assert result["latency_ms"][direction]["p50"] < 200, result["latency_ms"]

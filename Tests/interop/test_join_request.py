"""The official SDK's `/rtc/v1` join request, decoded by ours and by LiveKit's own descriptors.

A plain TCP listener on 127.0.0.1 plays the server just far enough: it records each HTTP request
head, answers `/rtc/v1` with 404 (so the SDK falls back to `/rtc`, as against an old server) and
everything else with 401, so the SDK gives up at once. No WebRTC is involved, so loopback works.
"""
import asyncio
import base64
import json
import socket
import subprocess
import sys
import textwrap
import urllib.parse

import pytest
from google.protobuf.json_format import MessageToDict
from livekit.protocol import rtc as lkrtc
from live_room import testpeer

SDK_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from livekit import rtc, api
    async def main():
        token = (api.AccessToken("devkey", "secret").with_identity("probe")
                 .with_grants(api.VideoGrants(room_join=True, room="r")).to_jwt())
        try:
            await asyncio.wait_for(rtc.Room().connect(sys.argv[1], token, rtc.RoomOptions(connect_timeout=5)), 20)
        except Exception as error:
            print("connect failed as expected:", type(error).__name__)
    asyncio.run(main())
""")


def capture_sdk_requests(timeout=40):
    """Runs the SDK against a stub listener; returns the request heads it sent."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(1.0)
    port = listener.getsockname()[1]
    sdk = subprocess.Popen([sys.executable, "-c", SDK_SCRIPT, f"ws://127.0.0.1:{port}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    heads = []
    try:
        while sdk.poll() is None and len(heads) < 3:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head = data.split(b"\r\n\r\n")[0].decode()
                heads.append(head)
                status = b"404 Not Found" if head.split(" ")[1].startswith("/rtc/v1") else b"401 Unauthorized"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        sdk.wait(timeout=timeout)
    finally:
        if sdk.poll() is None:
            sdk.kill()
            sdk.wait()
        listener.close()
    return heads


@pytest.fixture(scope="module")
def sdk_heads():
    heads = capture_sdk_requests()
    assert heads, "the SDK sent no request"
    return heads


def test_sdk_join_request_decodes_like_livekit(trackbag, sdk_heads):
    first = sdk_heads[0].split("\r\n")
    method, target, _ = first[0].split(" ")
    url = urllib.parse.urlsplit(target)
    assert method == "GET" and url.path == "/rtc/v1"
    value = urllib.parse.parse_qs(url.query)["join_request"][0]
    headers = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in first[1:] if ":" in h}
    assert headers["authorization"].startswith("Bearer ey"), "token travels as Authorization: Bearer"

    # What LiveKit's own descriptors see.
    wrapped = lkrtc.WrappedJoinRequest()
    wrapped.ParseFromString(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    inner = wrapped.join_request
    if wrapped.compression == lkrtc.WrappedJoinRequest.GZIP:
        import gzip
        inner = gzip.decompress(inner)
    theirs = lkrtc.JoinRequest()
    theirs.ParseFromString(inner)
    expected = MessageToDict(theirs, preserving_proto_field_name=True)
    assert expected["publisher_offer"]["type"] == "offer"

    # What ours sees: the same message, field for field, for the value as sent (padded), unpadded,
    # and re-wrapped without compression.
    rewrapped = lkrtc.WrappedJoinRequest(compression=lkrtc.WrappedJoinRequest.NONE, join_request=inner)
    plain_value = base64.urlsafe_b64encode(rewrapped.SerializeToString()).decode()
    for candidate in (value, value.rstrip("="), plain_value):
        result = subprocess.run([testpeer(trackbag), "join-request", candidate], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout) == expected
    print(f"SDK join_request: {len(value)} chars, compression "
          f"{lkrtc.WrappedJoinRequest.Compression.Name(wrapped.compression)}, padded {value.endswith('=')}")


def test_sdk_falls_back_to_rtc_on_404(sdk_heads):
    paths = [urllib.parse.urlsplit(h.split(" ")[1]).path for h in sdk_heads]
    assert paths[:2] == ["/rtc/v1", "/rtc"], paths


def test_malformed_join_request_is_refused_with_stage(trackbag):
    for value, stage in [("%%%", "base64url"), (base64.urlsafe_b64encode(b"\x08\x01\x12\x02\x1f\x8b").decode(), "gzip")]:
        result = subprocess.run([testpeer(trackbag), "join-request", value], capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert stage in result.stdout, result.stdout

"""Access tokens: ours judged by LiveKit's own tooling (livekit-api, PyJWT) and theirs by ours.

`trackbag token` issues, `trackbag token verify` checks as `trackbag serve` does (exit 1 and the
reason on stderr when rejected).
"""
import base64
import datetime
import json
import subprocess
import time

import jwt
import pytest
from livekit.api import AccessToken, TokenVerifier, VideoGrants

KEY, SECRET = "devkey", "secret"


def issue(trackbag, *args):
    result = subprocess.run([trackbag, "token", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def verify(trackbag, token, *args):
    """(claims dict or None, stderr)."""
    result = subprocess.run([trackbag, "token", "verify", token, *args], capture_output=True, text=True, timeout=30)
    if result.returncode == 0:
        return json.loads(result.stdout), result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)
    return None, result.stderr


def livekit_token(identity="py-bot", room="lab", ttl=None, key=KEY, secret=SECRET, **grants):
    token = AccessToken(key, secret).with_identity(identity).with_name("Py Bot").with_metadata('{"r":1}')
    if ttl is not None:
        token = token.with_ttl(ttl)
    return token.with_grants(VideoGrants(room_join=True, room=room, **grants)).to_jwt()


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# --- ours, judged by LiveKit's tooling ------------------------------------------------------------

def test_our_default_token_verifies_with_livekit_api(trackbag):
    token = issue(trackbag, "--identity", "alice", "--room", "lab", "--name", "Alice")
    claims = TokenVerifier(KEY, SECRET).verify(token)
    assert claims.identity == "alice"
    assert claims.name == "Alice"
    assert claims.video.room_join is True and claims.video.room == "lab"
    assert claims.video.can_publish and claims.video.can_subscribe and claims.video.can_publish_data
    header = b64url_json(token.split(".")[0])
    assert header == {"alg": "HS256", "typ": "JWT"}
    raw = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY, options={"require": ["exp", "nbf", "iss", "sub"]})
    assert raw["exp"] - raw["nbf"] == 6 * 3600, "default ttl is LiveKit's six hours"
    assert abs(raw["nbf"] - time.time()) < 5
    # Defaults are left out, as LiveKit's Go and Python builders do.
    assert raw["video"] == {"roomJoin": True, "room": "lab"}


@pytest.mark.parametrize("flags,expect", [
    (["--no-publish-data"], {"canPublishData": False}),
    (["--no-subscribe"], {"canSubscribe": False}),
    (["--no-publish"], {"canPublish": False}),
    (["--no-publish", "--no-subscribe", "--no-publish-data"],
     {"canPublish": False, "canSubscribe": False, "canPublishData": False}),
])
def test_our_grant_flags(trackbag, flags, expect):
    token = issue(trackbag, "--identity", "bob", "--room", "r2", "--ttl", "90m", "--api-key", "k2",
                  "--api-secret", "another-secret", *flags)
    raw = jwt.decode(token, "another-secret", algorithms=["HS256"], issuer="k2")
    assert raw["exp"] - raw["nbf"] == 90 * 60
    assert raw["video"] == {"roomJoin": True, "room": "r2", **expect}
    video = TokenVerifier("k2", "another-secret").verify(token).video
    assert video.can_publish == expect.get("canPublish", True)
    assert video.can_subscribe == expect.get("canSubscribe", True)
    # livekit-api reads the raw key (default True); the server rule "missing follows canPublish"
    # is what our verify reports.
    ours, _ = verify(trackbag, token, "--keys", "k2:another-secret")
    assert ours["allows"]["publishData"] == expect.get("canPublishData", expect.get("canPublish", True))


def test_our_token_rejected_by_livekit_with_wrong_secret(trackbag):
    token = issue(trackbag, "--identity", "alice", "--room", "lab")
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(KEY, "not-the-secret").verify(token)


def test_bad_ttl_is_refused(trackbag):
    result = subprocess.run([trackbag, "token", "--identity", "a", "--room", "r", "--ttl", "6y"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "--ttl" in result.stderr


# --- LiveKit's, judged by ours ----------------------------------------------------------------------

def test_livekit_api_token_verifies_with_ours(trackbag):
    token = livekit_token(can_publish=False, can_publish_data=True, can_update_own_metadata=True)
    claims, err = verify(trackbag, token)
    assert claims is not None, err
    assert claims["identity"] == "py-bot" and claims["apiKey"] == KEY
    assert claims["name"] == "Py Bot" and claims["metadata"] == '{"r":1}'
    assert claims["video"]["room"] == "lab" and claims["video"]["roomJoin"] is True
    assert claims["allows"] == {"publish": False, "subscribe": True, "publishData": True, "updateOwnMetadata": True}


def test_missing_can_publish_data_follows_can_publish(trackbag):
    """A token written by hand (as Go's SDK does, with pointers left nil) without canPublishData."""
    now = int(time.time())
    token = jwt.encode({"iss": KEY, "sub": "go-bot", "nbf": now, "exp": now + 600,
                        "video": {"roomJoin": True, "room": "lab", "canPublish": False}}, SECRET, algorithm="HS256")
    claims, err = verify(trackbag, token)
    assert claims is not None, err
    assert claims["allows"]["publish"] is False and claims["allows"]["publishData"] is False
    assert claims["allows"]["subscribe"] is True


def test_several_keys(trackbag):
    token = livekit_token(key="second", secret="second-secret")
    claims, err = verify(trackbag, token, "--keys", "devkey:secret", "--keys", "second:second-secret")
    assert claims is not None and claims["apiKey"] == "second", err


@pytest.mark.parametrize("case,reason", [
    ("tampered payload", "signature"),
    ("wrong secret", "signature"),
    ("unknown key", "unknown API key"),
    ("expired", "expired"),
    ("expired inside leeway", None),
    ("not yet valid", "not valid before"),
    ("no exp", "no exp"),
    ("alg none", "algorithm"),
    ("garbage", "malformed"),
])
def test_rejections(trackbag, case, reason):
    now = int(time.time())
    if case == "tampered payload":
        token = livekit_token(can_publish_data=False)
        header, payload, signature = token.split(".")
        claims = b64url_json(payload)
        claims["video"]["canPublishData"] = True
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = ".".join([header, forged, signature])
    elif case == "wrong secret":
        token = livekit_token(secret="not-the-secret")
    elif case == "unknown key":
        token = livekit_token(key="stranger")
    elif case == "expired":
        token = livekit_token(ttl=datetime.timedelta(seconds=-120))
    elif case == "expired inside leeway":
        token = livekit_token(ttl=datetime.timedelta(seconds=-30))
    elif case == "not yet valid":
        token = jwt.encode({"iss": KEY, "sub": "x", "nbf": now + 300, "exp": now + 900}, SECRET, algorithm="HS256")
    elif case == "no exp":
        token = jwt.encode({"iss": KEY, "sub": "x", "nbf": now}, SECRET, algorithm="HS256")
    elif case == "alg none":
        token = jwt.encode({"iss": KEY, "sub": "x", "exp": now + 600}, None, algorithm="none")
    else:
        token = "not.a.token"
    claims, err = verify(trackbag, token)
    if reason is None:
        assert claims is not None, err
        # LiveKit's verifier agrees: one minute of leeway.
        TokenVerifier(KEY, SECRET).verify(token)
    else:
        assert claims is None, f"{case} accepted: {claims}"
        assert reason in err, err

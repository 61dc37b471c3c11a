"""Our schemas/livekit/*.proto against LiveKit's own descriptors (pinned livekit-protocol package)."""
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-protos.py"
SCHEMAS = ROOT / "schemas" / "livekit"

pytestmark = pytest.mark.skipif(shutil.which("protoc") is None, reason="protoc (protobuf-compiler) not installed")


def run_check(*args):
    return subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, timeout=60)


def test_subset_matches_upstream_field_by_field():
    result = run_check("--verbose")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
    # The data-track messages must be in the subset and checked, not silently absent.
    for name in ("PublishDataTrackRequest", "DataTrackSubscriberHandles", "UpdateDataSubscription",
                 "DataTrackInfo", "WrappedJoinRequest"):
        assert f"message {name}" in (SCHEMAS / "livekit_rtc.proto").read_text() + \
            (SCHEMAS / "livekit_models.proto").read_text()


@pytest.mark.parametrize("old,new,expect", [
    ("DataTrackSubscriberHandles data_track_subscriber_handles = 29;",
     "DataTrackSubscriberHandles data_track_subscriber_handles = 99;", "no field with this number"),
    ("uint32 pub_handle = 1;", "uint64 pub_handle = 1;", "type is"),
    ("INVALID_HANDLE = 7;", "INVALID_HANDLE = 12;", "RequestResponse.Reason.INVALID_HANDLE"),
    ("repeated DataTrackInfo data_tracks = 19;", "repeated DataTrackInfo datatracks = 19;", "name is"),
])
def test_checker_catches_a_wrong_field(tmp_path, old, new, expect):
    """The checker is only worth running if it fails on a wrong schema: mutate one line, expect a finding."""
    for f in SCHEMAS.glob("*.proto"):
        text = f.read_text()
        if old in text:
            text = text.replace(old, new, 1)
        (tmp_path / f.name).write_text(text)
    result = run_check("--schemas", str(tmp_path))
    assert result.returncode == 1, result.stdout
    assert expect in result.stdout, result.stdout

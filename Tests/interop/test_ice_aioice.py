"""Our ICE agents (full both roles, lite, role conflict, consent loss) judged by aioice, the ICE
agent inside aiortc 1.16.0. The checks live in the Swift test case ICEAioiceInteropTests, which
only runs inside the namespace made by scripts/netns-run (aioice never gathers 127.0.0.1)."""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLE = ROOT / ".build" / "debug" / "trackbagPackageTests.xctest"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="netns-run needs root"),
    pytest.mark.skipif(not BUNDLE.exists(), reason="swift build --build-tests first"),
]


def test_ice_against_aioice():
    result = subprocess.run(
        [str(ROOT / "scripts" / "netns-run"), str(BUNDLE), "WebRTCDataTests.ICEAioiceInteropTests"],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    executed = re.findall(r"Executed (\d+) tests?, with (\d+) failures? \((\d+) unexpected\)", output)
    assert executed and executed[-1][0] == "4" and executed[-1][1] == "0", output[-4000:]
    assert "skipped" not in output.lower(), output[-4000:]

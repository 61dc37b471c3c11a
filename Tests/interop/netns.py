"""Running a driver inside a network namespace of its own: `scripts/netns-run` (root) makes the
namespace and its veth pair, runs the command there and removes both; drivers run on the pinned
peers' Python (.venv-peers), so LiveKit's SDK and aiortc are the versions `make deps` installs."""
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NETNS_RUN = str(ROOT / "scripts" / "netns-run")
PEER_PYTHON = str(ROOT / ".venv-peers" / "bin" / "python") if (ROOT / ".venv-peers").exists() else sys.executable
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="netns-run needs root")

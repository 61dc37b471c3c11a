"""scripts/netns-run: the one test network every live test uses (README.md, "Tests").

Checks that the namespace has lo and both veth ends with their addresses, that traffic flows
between the two addresses, that the exit status is the command's, and that the namespace and
every process left inside are gone afterwards, also when the script is interrupted.
"""
import os
import pathlib
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "scripts" / "netns-run")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netns-run needs root")


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_namespace_has_both_addresses_and_udp_flows():
    before = namespaces()
    probe = (
        "import socket,os;"
        "a=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);a.bind((os.environ['TB_ADDR_A'],0));"
        "b=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);b.bind((os.environ['TB_ADDR_B'],0));"
        "b.settimeout(2);a.sendto(b'ping',b.getsockname());d,src=b.recvfrom(100);"
        "print(d.decode(),src[0],os.environ['TB_NETNS'])"
    )
    result = subprocess.run(
        [SCRIPT, "bash", "-c", f"ip -br addr; python3 -c \"{probe}\""],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "10.99.0.1/24" in result.stdout and "10.99.0.2/24" in result.stdout
    assert "lo" in result.stdout
    last = result.stdout.strip().splitlines()[-1].split()
    assert last[0] == "ping" and last[1] == "10.99.0.1" and last[2].startswith("tb-")
    assert namespaces() == before


def test_exit_status_is_the_commands_and_leftovers_are_killed():
    before = namespaces()
    # The command leaves a background sleeper behind; the script must kill it.
    result = subprocess.run(
        [SCRIPT, "bash", "-c", "sleep 300 & echo $!; exit 7"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 7
    pid = int(result.stdout.strip().splitlines()[-1])
    time.sleep(0.3)
    state = pathlib.Path(f"/proc/{pid}/stat")
    assert not state.exists() or state.read_text().split()[2] in ("Z", "X")
    assert namespaces() == before


def test_interrupted_run_removes_its_namespace():
    before = namespaces()
    proc = subprocess.Popen([SCRIPT, "sleep", "300"])
    deadline = time.time() + 10
    while time.time() < deadline and namespaces() == before:
        time.sleep(0.05)
    assert namespaces() - before == {f"tb-{proc.pid}"}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 143
    assert namespaces() == before

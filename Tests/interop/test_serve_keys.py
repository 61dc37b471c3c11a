"""Where `trackbag serve` gets its API keys, as livekit-server: --key-file (YAML, closed to
others), --keys, LIVEKIT_KEYS; the development key only on loopback unless --dev; secrets never
printed; one answer for an unknown key and a bad signature.

The servers here listen on 127.0.0.1 with --node-ip 127.0.0.1 (nothing leaves loopback); the
non-loopback refusal runs inside scripts/netns-run.
"""
import os
import pathlib
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from livekit import api

ROOT = pathlib.Path(__file__).resolve().parents[2]
NETNS_RUN = str(ROOT / "scripts" / "netns-run")

LONG_SECRET_1 = "first-secret-that-is-long-enough-0123456789"
LONG_SECRET_2 = "second-secret-that-is-long-enough-987654321"


def start(trackbag, *args, env=None):
    """`trackbag serve` on loopback; (process, http base URL, stdout head) or (process, None, output)
    when it exited instead."""
    proc = subprocess.Popen([trackbag, "serve", "--host", "127.0.0.1", "--port", "0", "--rtc-port", "0",
                             "--node-ip", "127.0.0.1", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))
    head = []
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=20)
            return proc, None, head + [proc.stderr.read()]
        head.append(line.rstrip())
        if "WebRTC" in line:
            url = next(l for l in head if "listening on" in l).split("listening on ")[1]
            return proc, url.replace("ws://", "http://"), head


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def validate(base, key, secret):
    token = api.AccessToken(key, secret).with_identity("probe").with_grants(
        api.VideoGrants(room_join=True, room="r")).to_jwt()
    request = urllib.request.Request(f"{base}/rtc/validate", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode().strip()


def test_development_key_on_loopback_named_not_printed(trackbag):
    proc, base, head = start(trackbag)
    try:
        assert base, head
        assert validate(base, "devkey", "secret") == (200, "success")
        keys_line = next(l for l in head if "API keys" in l)
        assert "devkey" in keys_line and "secret" not in keys_line.replace("development key", ""), head
        # Unknown key and bad signature: the same 401, which does not say which it was.
        unknown = validate(base, "nokey", "secret")
        bad = validate(base, "devkey", "wrong")
        assert unknown[0] == 401 and unknown == bad, (unknown, bad)
    finally:
        stop(proc)


def test_keys_from_environment_and_file_never_printed(trackbag, tmp_path):
    env = {"LIVEKIT_KEYS": f"k1: {LONG_SECRET_1}, k2: {LONG_SECRET_2}"}
    proc, base, head = start(trackbag, env=env)
    try:
        assert base, head
        assert validate(base, "k1", LONG_SECRET_1) == (200, "success")
        assert validate(base, "k2", LONG_SECRET_2) == (200, "success")
        assert validate(base, "devkey", "secret")[0] == 401, "explicit keys replace the development key"
        text = "\n".join(head)
        assert "k1" in text and "k2" in text and LONG_SECRET_1 not in text and LONG_SECRET_2 not in text, head
    finally:
        stop(proc)

    key_file = tmp_path / "keys.yaml"
    key_file.write_text(f"# livekit key_file\nfilekey: {LONG_SECRET_1}\n")
    key_file.chmod(0o644)
    proc, base, output = start(trackbag, "--key-file", str(key_file))
    assert base is None and proc.returncode != 0, output
    assert "others may access it" in output[-1] and LONG_SECRET_1 not in "\n".join(output), output
    key_file.chmod(0o600)
    proc, base, head = start(trackbag, "--key-file", str(key_file))
    try:
        assert base, head
        assert validate(base, "filekey", LONG_SECRET_1) == (200, "success")
        assert LONG_SECRET_1 not in "\n".join(head), head
    finally:
        stop(proc)


@pytest.mark.skipif(os.geteuid() != 0, reason="netns-run needs root")
def test_no_keys_on_a_non_loopback_address_is_refused_unless_dev(trackbag):
    """Inside a namespace of its own: `serve --host 10.99.0.1` without keys must not start with the
    well-known development key; with --dev it does, and says so."""
    script = (
        "import os, subprocess, sys\n"
        "addr = os.environ['TB_ADDR_A']\n"
        "def run(*extra):\n"
        "    p = subprocess.Popen([sys.argv[1], 'serve', '--host', addr, '--port', '0', '--rtc-port', '0',\n"
        "                          '--node-ip', addr, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
        "    line = p.stdout.readline()\n"
        "    if 'listening' in line:\n"
        "        p.terminate(); p.wait(timeout=20)\n"
        "        return 'started', p.stderr.read()\n"
        "    p.wait(timeout=20)\n"
        "    return f'exit {p.returncode}', p.stderr.read()\n"
        "print(repr(run())); print(repr(run('--dev')))\n")
    completed = subprocess.run([NETNS_RUN, sys.executable, "-c", script, trackbag], capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    plain, dev = (eval(line) for line in completed.stdout.strip().splitlines()[-2:])
    assert plain[0].startswith("exit") and plain[0] != "exit 0", plain
    assert "no API keys" in plain[1] and "--dev" in plain[1], plain
    assert dev[0] == "started" and "development key devkey is in use" in dev[1], dev

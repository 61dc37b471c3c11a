"""Bad input: a writer killed with SIGKILL mid-session leaves a file that opens and
holds every frame committed before the kill; `doctor --repair` leaves a valid file. Plus the
CLI's errors for non-SQLite and newer-version files."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess

from tbag_format import read_tbag
from live_room import testpeer

U64_MAX = 2**64 - 1


def expected_frame(t: int, k: int):
    """Frame k of track t as `trackbag-testpeer write-forever` writes it (see WriteForever.swift)."""
    time_ns = 1_700_000_000_000_000_000 + k * 1_000_000 + t
    uts = k if k % 3 == 0 else (U64_MAX - k if k % 3 == 1 else None)
    length = (k * 37 + t) % 257
    payload = bytes(((k * 131 + j * 7 + t) & 0xFF) for j in range(length))
    return time_ns, uts, payload


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)


def test_sigkill_keeps_every_committed_frame_and_repair_leaves_a_valid_file(trackbag, tmp_path):
    path = str(tmp_path / "killed.tbag")
    proc = subprocess.Popen([testpeer(trackbag), "write-forever", "--out", path, "--tracks", "4", "--rate", "20000",
                             "--chunk-bytes", "8192", "--max-seconds", "20"], stdout=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(json.loads(line))
            if len(lines) >= 8 and sum(lines[-1]["committed"]) >= 5000:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait(timeout=10)
    lines += [json.loads(l) for l in rest.splitlines() if l.strip()]
    assert proc.returncode == -signal.SIGKILL
    committed = lines[-1]["committed"]
    assert sum(committed) >= 5000
    # Killed mid-session: the WAL is still there and the writer never closed the file.
    assert os.path.exists(path + "-wal")
    pristine = str(tmp_path / "pristine")
    os.mkdir(pristine)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            shutil.copy(path + suffix, os.path.join(pristine, "killed.tbag" + suffix))

    info = run(trackbag, "info", path, "--json")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    counts = {t["name"]: t["frames"] for t in summary["tracks"]}
    for t in range(4):
        assert counts[f"t{t}"] >= committed[t]
    assert "closed_at" not in summary["meta"]

    doctor = run(trackbag, "doctor", path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert doctor.stdout.strip().endswith(": ok")

    # Independent check from the spec: every committed frame present, exact, in order.
    version, tracks, frames = read_tbag(os.path.join(pristine, "killed.tbag"))
    assert version == 1
    for tid, (identity, name) in tracks.items():
        t = int(name[1:])
        got = frames[tid]
        assert len(got) >= committed[t]
        for k, frame in enumerate(got):
            assert frame == expected_frame(t, k), f"track {name} frame {k}"

    repaired = str(tmp_path / "repaired.tbag")
    rep = run(trackbag, "doctor", path, "--repair", "--out", repaired)
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "lost: 0 chunks, 0 frames" in rep.stdout
    info2 = json.loads(run(trackbag, "info", repaired, "--json").stdout)
    assert {t["name"]: t["frames"] for t in info2["tracks"]} == counts
    assert not os.path.exists(repaired + "-wal")


def test_sigkill_then_truncated_copy_is_repaired(trackbag, tmp_path):
    """A killed file whose WAL was lost and main file cut: doctor names the damage, --repair
    recovers the readable chunks into a valid file."""
    path = str(tmp_path / "w.tbag")
    proc = subprocess.Popen([testpeer(trackbag), "write-forever", "--out", path, "--rate", "50000", "--chunk-bytes", "4096",
                             "--max-seconds", "1"], stdout=subprocess.PIPE, text=True)
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    data = open(path, "rb").read()
    cut = str(tmp_path / "cut.tbag")
    open(cut, "wb").write(data[: len(data) * 2 // 3])
    info = run(trackbag, "info", cut)
    assert info.returncode != 0
    assert cut in info.stderr and "byte 28" in info.stderr
    rep = run(trackbag, "doctor", cut, "--repair", "--out", str(tmp_path / "fixed.tbag"))
    assert rep.returncode == 0, rep.stdout + rep.stderr
    fixed = json.loads(run(trackbag, "info", str(tmp_path / "fixed.tbag"), "--json").stdout)
    assert 0 < fixed["frames"]
    assert run(trackbag, "doctor", str(tmp_path / "fixed.tbag")).returncode == 0


def test_cli_errors_name_the_file_and_place(trackbag, tmp_path):
    text = tmp_path / "notes.tbag"
    text.write_text("not a database\n")
    r = run(trackbag, "info", str(text))
    assert r.returncode != 0
    assert str(text) in r.stderr and "byte 0" in r.stderr and "not an SQLite database" in r.stderr

    path = str(tmp_path / "new.tbag")
    subprocess.run([testpeer(trackbag), "write-forever", "--out", path, "--max-seconds", "0.2"], capture_output=True, timeout=30, check=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    r = run(trackbag, "info", path)
    assert r.returncode != 0
    assert path in r.stderr and "PRAGMA user_version" in r.stderr and "newer" in r.stderr
    r = run(trackbag, "doctor", path)
    assert r.returncode != 0

"""`record --nice/--realtime/--cpus`: what a recorder on a busy on-board computer asks of the
kernel reaches every thread of the process, including the threads started after the options
were applied (the network and pipeline threads a joined room starts), as /proc shows them.
Over loopback, trackbag's own participants only."""
import os
import subprocess
import threading

import pytest

from live_room import read_lines_blocking, start_loopback_server, stop, wait_until


def threads(pid):
    """{tid: (nice, policy, allowed cpus)} from /proc/PID/task."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                cpus = next(l.split()[1] for l in f if l.startswith("Cpus_allowed_list:"))
        except (OSError, StopIteration):
            continue
        # Fields after the command: state is index 0, so nice (19th) is 16 and policy (41st) 38.
        out[int(tid)] = (int(fields[16]), int(fields[38]), cpus)
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="a negative nice and SCHED_RR need root (CAP_SYS_NICE)")
def test_priority_and_cpus_reach_every_thread_of_the_recorder(trackbag, tmp_path):
    procs = []
    try:
        server, url = start_loopback_server(trackbag)
        procs.append(server)
        recorder = subprocess.Popen([trackbag, "record", "--url", url, "--room", "lab", "--out", str(tmp_path / "r.tbag"),
                                     "--nice", "-5", "--realtime", "10", "--cpus", "0"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(recorder)
        lines = []
        threading.Thread(target=read_lines_blocking, args=(recorder.stderr, lines), daemon=True).start()
        wait_until(lambda: any("joined room" in l for l in lines), 30, "the recorder to join", poll=0.05)
        # libdispatch sets the nice value of its worker threads when it starts them; the
        # recorder sets them again within a second.
        wanted = (-5, 2, "0")
        try:
            wait_until(lambda: all(v == wanted for v in threads(recorder.pid).values()), 5, "every thread to be set")
        except AssertionError:
            pass
        seen = threads(recorder.pid)
    finally:
        for proc in reversed(procs):
            stop(proc)
    assert any("SCHED_RR priority 10" in l for l in lines) and any("nice -5" in l for l in lines), lines
    assert len(seen) > 3, seen
    # SCHED_RR is policy 2; the nice value of a real-time thread is kept for when it leaves RR.
    odd = {tid: v for tid, v in seen.items() if v != wanted}
    assert not odd, f"threads without the settings: {odd} (of {len(seen)})"


def test_a_refused_or_malformed_setting_is_an_error_that_names_it(trackbag):
    bad = subprocess.run([trackbag, "record", "--room", "lab", "--cpus", "0-x"], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "--cpus '0-x'" in bad.stderr, bad.stderr
    high = subprocess.run([trackbag, "record", "--room", "lab", "--realtime", "100"], capture_output=True, text=True, timeout=30)
    assert high.returncode != 0 and "--realtime 100: must be from 1 to 99" in high.stderr, high.stderr


def test_serve_takes_the_same_settings(trackbag):
    """The server shares the robot's cores with the recorder; it takes the same options (a
    positive nice and a CPU set need no privilege)."""
    server, _ = start_loopback_server(trackbag, "--nice", "3", "--cpus", "0")
    try:
        wanted = (3, 0, "0")   # SCHED_OTHER is policy 0
        try:
            wait_until(lambda: all(v == wanted for v in threads(server.pid).values()), 5, "every thread to be set")
        except AssertionError:
            pass
        seen = threads(server.pid)
    finally:
        stop(server)
    odd = {tid: v for tid, v in seen.items() if v != wanted}
    assert seen and not odd, f"threads without the settings: {odd} (of {len(seen)})"

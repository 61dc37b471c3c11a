"""Recorder priority on a busy machine, run INSIDE scripts/netns-run by the pinned venv python.

usage: recorder_priority.py TRACKBAG [--rate 10000] [--seconds 10] [--hog 2] [--publisher swift|sdk]

The live-recording benchmark (live_record.py: publishers → `trackbag serve` → `trackbag record`,
no baseline recorder) four times in one run: on a quiet machine, then with --hog busy-looping
processes beside it, with `record` left as it is, at `--nice -10` and at `--realtime 10`. The
recorder's own loss is the server's count of frames sent to it minus the frames in its file; the
server's queue drops and the kernel's receive-buffer errors are printed beside it. Figures are
printed, never asserted."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def arg(name, default, kind=str):
    return kind(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    trackbag = sys.argv[1]
    rate, seconds, hog = arg("--rate", 10000, int), arg("--seconds", 10.0, float), arg("--hog", 2, int)
    publisher = arg("--publisher", "swift")
    runs = [("quiet", 0, ""), (f"{hog} hogs", hog, ""), (f"{hog} hogs, --nice -10", hog, "--nice -10"),
            (f"{hog} hogs, --realtime 10", hog, "--realtime 10")]
    rows = []
    for label, hogs, record_args in runs:
        out = subprocess.run([sys.executable, os.path.join(HERE, "live_record.py"), trackbag, "--rates", str(rate),
                              "--seconds", str(seconds), "--publisher", publisher, "--no-baseline", "--alone", "0",
                              "--hog", str(hogs), "--record-args", record_args],
                             capture_output=True, text=True, timeout=300)
        last = next((l for l in reversed(out.stdout.splitlines()) if l.startswith("{")), None)
        if out.returncode != 0 or last is None:
            print(f"{label}: run failed ({out.returncode})\n{out.stderr[-2000:]}", flush=True)
            continue
        r = json.loads(last)["results"][0]
        tb = r["trackbag"]
        rows.append((label, r["pushed"], r["server_published"], tb["server_sent"], tb["server_dropped"],
                     tb["frames_in_file"], tb["loss"], r["udp_rcvbuf_errors"], tb["cpu_percent"]))
        print(f"{label}: done", file=sys.stderr, flush=True)
    print(f"\nrecorder priority, {publisher} publisher at {rate} frames/s for {seconds:g} s, "
          f"{os.cpu_count()} cores, {os.path.realpath(trackbag)}")
    head = ("run", "pushed", "at server", "sent to rec", "server drop", "in file", "rec loss", "rcvbuf err", "rec CPU %")
    print("  ".join(f"{h:>26}" if i == 0 else f"{h:>11}" for i, h in enumerate(head)))
    for row in rows:
        print("  ".join(f"{str(v):>26}" if i == 0 else f"{str(v):>11}" for i, v in enumerate(row)))
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# bench-play-control.sh [TRACKBAG] [RUNS]: `trackbag play` driven by RPC from LiveKit's SDK
# (Tests/interop/play_rpc_driver.py --long, inside scripts/netns-run), RUNS times (default 3):
# per run and pooled, the gap error at an SDK viewer at rates 1, 0.25 and 4 (p50/p99 against
# the target, 2 ms at p99), beside it the same at trackbag's own viewer (what the replayer and
# the server do, without the SDK's delivery to Python), and the time from an RPC call to its effect (resume → first frame,
# seek → target frame, each call's round trip). Printed, never asserted. Needs root (netns).
# PLAY_EXTRA and SERVE_EXTRA (environment) add options to `trackbag play` and `trackbag serve`,
# e.g. PLAY_EXTRA="--realtime 10" SERVE_EXTRA="--realtime 10" (docs/rpc.md, "Timing").
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TRACKBAG="${1:-$ROOT/.build/release/trackbag}"
[[ -x "$TRACKBAG" ]] || TRACKBAG="$ROOT/.build/debug/trackbag"
RUNS="${2:-3}"
if [[ $(id -u) -ne 0 ]]; then
  echo "bench-play-control: skipped (needs root for scripts/netns-run)"
  exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for run in $(seq 1 "$RUNS"); do
  mkdir -p "$WORK/$run"
  timeout 200 "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" -W ignore \
    "$ROOT/Tests/interop/play_rpc_driver.py" "$TRACKBAG" "$WORK/$run" --long | tail -1 > "$WORK/$run.json"
done
"$ROOT/.venv-peers/bin/python" - "$WORK" "$RUNS" <<'PY'
import json, sys
work, runs = sys.argv[1], int(sys.argv[2])
results = [json.load(open(f"{work}/{r}.json")) for r in range(1, runs + 1)]
print(f"play driven by RPC from the SDK: gap error at the SDK viewer and at trackbag's viewer, {runs} runs (target p99 <= 2 ms)")
print(f"{'':>21} {'SDK viewer':^35} | {'trackbag viewer':^35}")
print(f"{'run':>4} {'phase':<16} {'frames':>6} {'gap p50':>8} {'err p50':>8} {'err p99':>8} | "
      f"{'frames':>6} {'gap p50':>8} {'err p50':>8} {'err p99':>8}")
for i, r in enumerate(results, 1):
    for phase, label in (("rate1", "rate 1"), ("rate_quarter", "rate 0.25"), ("rate4", "rate 4"),
                         ("rate1_after_seek", "rate 1 after seek")):
        g = r[phase]
        s = g.get("swift_viewer", {"frames": 0, "gap_p50_ms": 0, "error_p50_ms": 0, "error_p99_ms": 0})
        print(f"{i:>4} {label:<16} {g['frames']:>6} {g['gap_p50_ms']:>6.2f}ms {g['error_p50_ms']:>6.2f}ms {g['error_p99_ms']:>6.2f}ms | "
              f"{s['frames']:>6} {s['gap_p50_ms']:>6.2f}ms {s['error_p50_ms']:>6.2f}ms {s['error_p99_ms']:>6.2f}ms")
print("time from call to effect (ms), per run:")
for i, r in enumerate(results, 1):
    calls = r["calls"]
    print(f"{i:>4} resume→first frame {r['resume_to_first_frame_ms']}, seek→target frame {r['seek_to_target_ms']}, "
          f"round trips: pause {calls['pause']['ms']}, rate {calls['rate4']['ms']}, seek {calls['seek']['ms']}, "
          f"step {calls['step5']['ms']}, status {calls['status']['ms']}")
PY

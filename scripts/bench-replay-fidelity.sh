#!/usr/bin/env bash
# bench-replay-fidelity.sh [TRACKBAG]: the replay-fidelity benchmark. A 1 kHz × 64 B
# track (60 s, or TB_REPLAY_SECONDS) is replayed by `trackbag play` into `trackbag serve`, inside
# scripts/netns-run, with an SDK viewer (livekit 1.2.1) and a Swift viewer in the room. Prints,
# side by side in one run: sender lateness p50/p99/max and end drift from `trackbag play`, the
# same from `trackbag-bench pacing` (absolute deadlines, no network: the baseline), and
# each viewer's inter-arrival error, each next to its target. Printed, never asserted.
# Needs root (netns); without it this says so and exits 0, so `make bench` still runs elsewhere.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TRACKBAG="${1:-$ROOT/.build/release/trackbag}"
[[ -x "$TRACKBAG" ]] || TRACKBAG="$ROOT/.build/debug/trackbag"
SECONDS_TO_REPLAY="${TB_REPLAY_SECONDS:-60}"
if [[ $(id -u) -ne 0 ]]; then
  echo "bench-replay-fidelity: skipped (needs root for scripts/netns-run)"
  exit 0
fi
# Generation, the pacing baseline (2 × S), the replay (S) and the joins: bounded by 4 × S + 5 min.
timeout $((4 * ${SECONDS_TO_REPLAY%.*} + 300)) "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" \
  "$ROOT/scripts/bench/replay_fidelity.py" "$TRACKBAG" --seconds "$SECONDS_TO_REPLAY"
# The same with a 10 Hz × 40 KB camera track beside it: whether large frames hold up small ones.
timeout $((4 * ${SECONDS_TO_REPLAY%.*} + 300)) "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" \
  "$ROOT/scripts/bench/replay_fidelity.py" "$TRACKBAG" --seconds "$SECONDS_TO_REPLAY" --camera

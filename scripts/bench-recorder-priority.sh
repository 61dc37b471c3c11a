#!/usr/bin/env bash
# bench-recorder-priority.sh [TRACKBAG]: recording loss on a busy machine, with and without
# `record --nice -10` / `--realtime 10`, inside scripts/netns-run (scripts/bench/recorder_priority.py).
# Figures are printed, never asserted. Needs root (netns, negative nice, SCHED_RR).
# Environment: TB_PRIORITY_RATE (default 10000), TB_PRIORITY_SECONDS (default 10), TB_PRIORITY_HOG (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TRACKBAG="${1:-$ROOT/.build/release/trackbag}"
[[ -x "$TRACKBAG" ]] || TRACKBAG="$ROOT/.build/debug/trackbag"
timeout 1500 "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" "$ROOT/scripts/bench/recorder_priority.py" "$TRACKBAG" \
  --rate "${TB_PRIORITY_RATE:-10000}" --seconds "${TB_PRIORITY_SECONDS:-10}" --hog "${TB_PRIORITY_HOG:-2}" | grep -v '^{'

#!/usr/bin/env bash
# soak.sh [TRACKBAG]: the long-session benchmark (scripts/bench/soak.py) inside scripts/netns-run:
# an SDK robot at 2,000 frames/s over 8 tracks through a 1 %-loss relay, recorded with
# --split-duration while a viewer watches; RSS, descriptors and CPU of server and recorder
# sampled every 10 s; split-set integrity and one-session replay checked at the end.
# Environment: SOAK_MINUTES (default 30), SOAK_SPLIT (default 5m). Needs root (netns).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TRACKBAG="${1:-$ROOT/.build/release/trackbag}"
[[ -x "$TRACKBAG" ]] || TRACKBAG="$ROOT/.build/debug/trackbag"
MINUTES="${SOAK_MINUTES:-30}"
# Bounded: the run itself plus ten minutes for setup, the checks and the replay.
timeout "$(( ${MINUTES%.*} * 60 + 600 ))" "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" "$ROOT/scripts/bench/soak.py" \
  "$TRACKBAG" --minutes "$MINUTES" --split "${SOAK_SPLIT:-5m}" | grep --line-buffered -v '^{"samples"'

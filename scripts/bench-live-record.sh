#!/usr/bin/env bash
# bench-live-record.sh [TRACKBAG]: the live-recording benchmark, inside
# scripts/netns-run. SDK publishers (livekit 1.2.1) push 256-byte frames over 16 data tracks at
# 1k, 10k and 50k frames/s through `trackbag serve`; `trackbag record` and a Python SDK + mcap
# baseline record the same room at the same time. Prints, per rate, frames pushed, frames the
# server sent to each recorder, frames in each file (recorder-caused loss), CPU and RSS side by
# side with the issue's targets. Figures are printed, never asserted. Needs root (netns).
# Environment: TB_LIVE_RATES (default 1000,10000,50000), TB_LIVE_SECONDS (default 10).
# With --large-frames first, it runs scripts/bench/large_frame_latency.py instead: a 40,000-byte
# frame's latency from an SDK publisher through `serve` to a trackbag subscriber, beside 1 kHz
# small frames (TB_LIVE_SECONDS, default 20).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LARGE=""
if [[ "${1:-}" == "--large-frames" ]]; then LARGE=1; shift; fi
TRACKBAG="${1:-$ROOT/.build/release/trackbag}"
[[ -x "$TRACKBAG" ]] || TRACKBAG="$ROOT/.build/debug/trackbag"
if [[ -n "$LARGE" ]]; then
  exec timeout 300 "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" "$ROOT/scripts/bench/large_frame_latency.py" \
    "$TRACKBAG" --seconds "${TB_LIVE_SECONDS:-20}"
fi
# The last line is the JSON of every figure; the tables above it are what a user reads.
timeout 600 "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" "$ROOT/scripts/bench/live_record.py" "$TRACKBAG" \
  --rates "${TB_LIVE_RATES:-1000,10000,50000}" --seconds "${TB_LIVE_SECONDS:-10}" | grep -v '^{'

#!/usr/bin/env bash
# bench-room.sh [TRACKBAG]: one LiveKit SDK publisher (livekit 1.2.1) at 1 kHz × 256 B through
# `trackbag serve` to 1 and then 10 SDK subscriber processes, inside scripts/netns-run. Prints
# latency p50/p99 from user timestamps (same host clock), frames lost, server CPU and RSS.
# Figures are printed, never asserted. Needs root (netns).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TRACKBAG="${1:-$ROOT/.build/release/trackbag}"
[[ -x "$TRACKBAG" ]] || TRACKBAG="$ROOT/.build/debug/trackbag"
for n in ${TB_BENCH_COUNTS:-1 10}; do
  TB_BENCH_SUBSCRIBERS=$n timeout 600 "$ROOT/scripts/netns-run" "$ROOT/.venv-peers/bin/python" \
    "$ROOT/Tests/interop/room_sdk_peer.py" "$TRACKBAG" bench 2>/dev/null | tail -1 |
    "$ROOT/.venv-peers/bin/python" -c '
import json, sys
d = json.load(sys.stdin)
print("subscribers=%(subscribers)s rate=%(achieved_rate_hz)s Hz size=%(size)s B pushed=%(pushed)s lost=%(lost_total)s "
      "p50(median subscriber)=%(p50_ms_median).3f ms p99(worst subscriber)=%(p99_ms_worst).3f ms "
      "server cpu=%(server_cpu_percent)s%% rss=%(server_rss_kib)s KiB" % d)'
done

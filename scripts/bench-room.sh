#!/usr/bin/env bash
# bench-room.sh [TRACKBAG]: one LiveKit SDK publisher (livekit 1.2.1) at 1 kHz × 256 B through
# `trackbag serve` to 1 and then 10 SDK subscriber processes, inside scripts/netns-run. Prints
# latency p50/p99 from user timestamps (same host clock), frames lost, server CPU and RSS.
# Figures are printed, never asserted (issue 4 benchmark). Needs root (netns).
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
print(f"subscribers={d[\"subscribers\"]} rate={d[\"achieved_rate_hz\"]} Hz size={d[\"size\"]} B pushed={d[\"pushed\"]} "
      f"lost={d[\"lost_total\"]} p50(median sub)={d[\"p50_ms_median\"]:.3f} ms p99(worst sub)={d[\"p99_ms_worst\"]:.3f} ms "
      f"server cpu={d[\"server_cpu_percent\"]}% rss={d[\"server_rss_kib\"]} KiB")'
done

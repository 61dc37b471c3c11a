#!/usr/bin/env bash
# Fuzzes the data-track packet decoder and depacketizer with libFuzzer (bounded).
# Usage: scripts/fuzz-datatracks.sh [runs (default 200000)] [max seconds (default 60)]
# Builds in a temporary directory; the corpus starts from scripts/fuzz/corpus-datatracks/ (seeds
# made from the SDK captures) and new inputs are kept in the temporary directory only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-200000}"
seconds="${2:-60}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/module.modulemap" <<MAP
module COpenSSL {
    header "$root/Sources/COpenSSL/include/COpenSSL.h"
    link "ssl"
    link "crypto"
    export *
}
MAP
for c in "$root"/Sources/COpenSSL/*.c; do
    clang -c -O1 -fsanitize=fuzzer-no-link,address -I "$root/Sources/COpenSSL/include" "$c" -o "$work/$(basename "$c" .c).o"
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name DataTracksFuzz \
    -Xcc -fmodule-map-file="$work/module.modulemap" -I "$root/Sources/COpenSSL/include" \
    "$root"/Sources/DataTracks/*.swift "$root/scripts/fuzz/DataTracksFuzz.swift" "$work"/*.o \
    -lssl -lcrypto -o "$work/fuzz-datatracks"
mkdir -p "$work/corpus"
cp "$root"/scripts/fuzz/corpus-datatracks/* "$work/corpus/" 2>/dev/null || true
"$work/fuzz-datatracks" -runs="$runs" -max_total_time="$seconds" -max_len=4096 "$work/corpus"

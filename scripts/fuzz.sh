#!/usr/bin/env bash
# fuzz.sh stun|sdp [RUNS] [extra libFuzzer flags…]
# Builds a libFuzzer binary from the parser's own sources (swiftc -sanitize=fuzzer,address) and
# runs it RUNS times (default 1,000,000) from the committed seeds in Tests/Fuzz/corpus/<target>.
# Not part of `make test`: it takes minutes. New interesting inputs go to a scratch corpus under
# .build/fuzz/, crashes to .build/fuzz/<target>/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${1:?usage: fuzz.sh stun|sdp [RUNS]}"
RUNS="${2:-1000000}"
shift $(( $# >= 2 ? 2 : 1 ))
SRC=Sources/WebRTCData
OUT=.build/fuzz/$TARGET
mkdir -p "$OUT/corpus" "$OUT/module"

COMMON=("$SRC/WebRTCDataError.swift" "$SRC/Transport/TransportAddress.swift")
case "$TARGET" in
  stun) FILES=("${COMMON[@]}" "$SRC"/STUN/*.swift "$SRC/ICE/ICEAction.swift" Tests/Fuzz/StunFuzz.swift) ;;
  sdp)  FILES=("${COMMON[@]}" "$SRC"/SDP/*.swift "$SRC/ICE/ICECandidate.swift" "$SRC/ICE/ICECandidateInit.swift" Tests/Fuzz/SDPFuzz.swift) ;;
  *) echo "unknown target $TARGET (stun|sdp)" >&2; exit 2 ;;
esac

# COpenSSL for swiftc alone: a module map over the same header SwiftPM uses.
cat > "$OUT/module/module.modulemap" <<MAP
module COpenSSL {
  header "$PWD/Sources/COpenSSL/include/COpenSSL.h"
  link "ssl"
  link "crypto"
  export *
}
MAP

swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 \
  -module-name WebRTCDataFuzz -I "$OUT/module" "${FILES[@]}" -lssl -lcrypto -o "$OUT/fuzzer"

cp -n Tests/Fuzz/corpus/"$TARGET"/* "$OUT/corpus/" 2>/dev/null || true
cd "$OUT"
# The Swift backtracer and ASan fight over a crashing process; libFuzzer reports on its own.
SWIFT_BACKTRACE=enable=no ./fuzzer -runs="$RUNS" -max_len=4096 -print_final_stats=1 "$@" corpus

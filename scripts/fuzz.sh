#!/usr/bin/env bash
# Fuzzing with libFuzzer (docs/FUZZING.md). One binary, .build-fuzz/debug/trackbag-fuzz, holds
# every target; it is built with -sanitize=fuzzer,address into its own build directory.
#
#   scripts/fuzz.sh build                    build (or rebuild) the fuzz binary
#   scripts/fuzz.sh list                     list the targets
#   scripts/fuzz.sh check [TARGET…]          every target over its seeds and saved crashers, then
#                                            a short mutation run (FUZZ_CHECK_SECONDS, default 5)
#   scripts/fuzz.sh long [SECONDS] [TARGET…] a long run per target (default 600 s, or FUZZ_RUNS
#                                            executions if that comes first); new inputs go
#                                            to .build-fuzz/corpus/TARGET, crashes to
#                                            .build-fuzz/crashes/TARGET
#   scripts/fuzz.sh run TARGET [libFuzzer flags and paths…]
#
# A crash fails the command and names the file; keep it as Tests/Fuzz/regressions/TARGET/NAME
# once fixed (with a unit test for the fix). FUZZ_JOBS runs that many targets at once (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/.build-fuzz
BIN=$BUILD/debug/trackbag-fuzz
CORPUS=$ROOT/Tests/Fuzz/corpus
REGRESSIONS=$ROOT/Tests/Fuzz/regressions
# The Swift backtracer and ASan both want a crashing process; libFuzzer reports on its own.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
# Every target: bounded time per input and memory per process (a bomb is a finding).
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024)

build() {
    # Swift 6.3's gold cannot link ASan-instrumented objects; lld can.
    TRACKBAG_FUZZ=1 swift build --build-path "$BUILD" -c debug --product trackbag-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
}

targets() { "$BIN" list 2>&1 | awk 'NR > 2 { print $1 }'; }

# run_one TARGET SECONDS SCRATCH_CORPUS: seeds and regressions first, then mutation for SECONDS.
run_one() {
    local target=$1 seconds=$2 scratch=$3
    local crashes=$BUILD/crashes/$target log=$BUILD/logs/$target.log
    mkdir -p "$scratch" "$crashes" "$BUILD/logs" "$CORPUS/$target" "$REGRESSIONS/$target"
    local started=$SECONDS
    local runs=()
    [ -z "${FUZZ_RUNS:-}" ] || runs=(-runs="$FUZZ_RUNS")
    if "$BIN" "$target" "${LIMITS[@]}" -max_total_time="$seconds" "${runs[@]}" -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$scratch" "$CORPUS/$target" "$REGRESSIONS/$target" >"$log" 2>&1; then
        local line
        line=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
        printf '%-16s ok   %4ds  %s\n' "$target" $((SECONDS - started)) "$(sed -E 's/^#([0-9]+)[^c]*(cov: [0-9]+ ft: [0-9]+).*exec\/s: ([0-9]+).*/\1 runs, \2, \3 exec\/s/' <<<"$line")"
    else
        printf '%-16s FAIL %4ds  %s\n' "$target" $((SECONDS - started)) \
            "$(grep -E 'FINDING|Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY' "$log" | head -2 | tr '\n' ' ')"
        grep -E 'Test unit written to' "$log" | sed 's/^/    /' || true
        echo "    log: $log"
        return 1
    fi
}

run_all() {
    local seconds=$1 scratch_root=$2; shift 2
    local list=("$@") failed=0 jobs=${FUZZ_JOBS:-1}
    [ ${#list[@]} -gt 0 ] || mapfile -t list < <(targets)
    local status_dir
    status_dir=$(mktemp -d)
    local running=0
    for target in "${list[@]}"; do
        ( run_one "$target" "$seconds" "$scratch_root/$target" || touch "$status_dir/$target" ) &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
    done
    wait
    if compgen -G "$status_dir/*" >/dev/null; then failed=1; echo "fuzz: failing targets: $(ls "$status_dir" | tr '\n' ' ')"; fi
    rm -rf "$status_dir"
    return $failed
}

command=${1:-check}
shift || true
case "$command" in
    build) build ;;
    list) build >/dev/null && "$BIN" list ;;
    check)
        started=$SECONDS
        build 2>&1 | tail -1
        scratch=$(mktemp -d)
        trap 'rm -rf "$scratch"' EXIT
        status=0
        run_all "${FUZZ_CHECK_SECONDS:-5}" "$scratch" "$@" || status=$?
        echo "fuzz check: $((SECONDS - started)) s in all"
        exit $status
        ;;
    long)
        seconds=${1:-600}
        shift || true
        build 2>&1 | tail -1
        run_all "$seconds" "$BUILD/corpus" "$@"
        ;;
    run)
        build 2>&1 | tail -1
        target=${1:?usage: fuzz.sh run TARGET [libFuzzer flags…]}
        shift
        exec "$BIN" "$target" "${LIMITS[@]}" "$@"
        ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac

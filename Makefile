# trackbag — the two commands a new machine needs are `make demo` and `make test`.
# Each installs what it needs when missing: Debian packages and the pinned Python peers.

SHELL := /bin/bash
DEB_PACKAGES := libssl-dev libusrsctp-dev libzstd-dev libsqlite3-dev liblz4-dev zlib1g-dev protobuf-compiler iproute2
VENV := .venv-peers
PEERS := livekit==1.2.1 livekit-api==1.2.2 aiortc==1.16.0 mcap==1.6.0 zstandard==0.25.0 lz4==4.4.5 pytest==9.0.3 prometheus_client==0.26.0 \
         mcap-ros2-support==0.6.0 mcap-protobuf-support==0.6.0 foxglove-schemas-protobuf==0.4.0 \
         rosbags==0.11.9
SWIFT_BUILD_FLAGS ?=
TRACKBAG_RELEASE := .build/release/trackbag

.PHONY: demo test deps debs peers build release unit interop fuzz fuzz-check bench bench-live bench-live-run bench-replay bench-priority bench-snapshot bench-play-control soak test-loaded fault-lab clean

# The offline part (synthetic session → pipeline → export), then the live path over loopback:
# trackbag serve, a simulated robot, record, replay into a second room, a viewer checks every frame.
demo: deps release
	$(TRACKBAG_RELEASE) demo

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)
	$(MAKE) --no-print-directory fuzz-check
	$(MAKE) --no-print-directory interop

# The whole suite with two busy loops beside it (scripts/with-cpu-hog), as on a busy on-board
# computer: the live tests must hold there too, with every loss attributed, not tolerated.
test-loaded: deps
	scripts/with-cpu-hog -n 2 $(MAKE) --no-print-directory test

# Fuzzing (docs/FUZZING.md): one libFuzzer binary in .build-fuzz with every parser of untrusted
# bytes. fuzz-check replays every seed and saved crasher and mutates each target for 5 s
# (about 3 minutes warm, plus a ~10 minute first build); fuzz runs each target for
# FUZZ_SECONDS (default 600) and keeps what it learns in .build-fuzz/corpus.
FUZZ_SECONDS ?= 600
fuzz-check: debs
	scripts/fuzz.sh check

fuzz: debs
	scripts/fuzz.sh long $(FUZZ_SECONDS)

# Interop tests: our binaries judged by the real peers from the pinned venv.
interop: build
	TRACKBAG=$(CURDIR)/.build/debug/trackbag $(VENV)/bin/python -m pytest -q Tests/interop

bench: deps release
	.build/release/trackbag-bench all
	scripts/bench-replay-fidelity.sh $(TRACKBAG_RELEASE)
	$(MAKE) --no-print-directory bench-live-run

# Live recording: SDK publishers → trackbag serve → `trackbag record` beside a Python
# SDK + mcap baseline, 1k/10k/50k frames/s; needs root for its network namespace (~2 min).
bench-live: deps release
	$(MAKE) --no-print-directory bench-live-run

bench-live-run:
	@if [ "$$(id -u)" -ne 0 ]; then echo "bench-live: needs root (network namespace); skipped"; \
	else scripts/bench-live-record.sh $(CURDIR)/$(TRACKBAG_RELEASE); fi

# Replay fidelity: 1 kHz for 60 s (TB_REPLAY_SECONDS) through a live room in a test
# namespace; sender lateness and drift, the pacing baseline, and two viewers' inter-arrival error.
bench-replay: deps release
	scripts/bench-replay-fidelity.sh $(TRACKBAG_RELEASE)

# The fault lab (docs/fault-lab.md): SDK robot → impairment relay → serve → record, then play →
# SDK viewer, in 11 scenarios (loss, bursts, jitter, duplication, a cap, blackouts, a cut
# signal); ~5 min, root. Part of `make test` (interop); this runs it alone, with its table.
fault-lab: build
	TRACKBAG=$(CURDIR)/.build/debug/trackbag $(VENV)/bin/python -m pytest -q -s Tests/interop/test_fault_lab.py

# The flight recorder's memory at 20k frames/s (docs/snapshot.md, loopback, no root, ~3 min):
# RSS against max_bytes, ring peak, evictions, the written window.
bench-snapshot: deps release
	$(VENV)/bin/python scripts/bench/snapshot_memory.py $(CURDIR)/$(TRACKBAG_RELEASE)

# `trackbag play` driven by RPC from LiveKit's SDK: gap error p50/p99 at rates 1, 0.25, 4 and
# the time from call to effect, 3 runs (root, netns, ~1.5 min; docs/rpc.md).
bench-play-control: deps release
	scripts/bench-play-control.sh $(CURDIR)/$(TRACKBAG_RELEASE)

# Recording loss beside two busy loops, with and without record --nice / --realtime (root, ~1 min).
bench-priority: deps release
	scripts/bench-recorder-priority.sh $(CURDIR)/$(TRACKBAG_RELEASE)

# A long session (not part of `make test`): SDK robot at 2,000 frames/s over 8 tracks through a
# 1 %-loss relay, recorded with --split-duration 5m while a viewer watches; RSS, descriptors and
# CPU per frame sampled every 10 s, the split set checked and replayed as one session.
# SOAK_MINUTES (default 30), SOAK_SPLIT (default 5m). Needs root.
SOAK_MINUTES ?= 30
soak: deps release
	SOAK_MINUTES=$(SOAK_MINUTES) scripts/soak.sh $(CURDIR)/$(TRACKBAG_RELEASE)

build:
	swift build $(SWIFT_BUILD_FLAGS)

release:
	swift build -c release $(SWIFT_BUILD_FLAGS)

deps: debs peers

# Installs the Debian packages only when one is missing (apt-get needs root, as on CI).
debs:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The pinned Python peers (the judges of our wire formats), in a git-ignored venv.
peers: $(VENV)/.pinned

$(VENV)/.pinned: Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check $(PEERS)
	echo "$(PEERS)" > $@

clean:
	rm -rf .build .build-fuzz $(VENV)

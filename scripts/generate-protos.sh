#!/usr/bin/env bash
# Regenerates Sources/LiveKitProtocol/*.pb.swift from schemas/livekit/*.proto.
#
# Run by hand after editing a schema, then commit the generated files: the package build never
# runs protoc (building swift-protobuf's plugin takes minutes on our 2-core machines).
#
# Needs: protoc (Debian `protobuf-compiler`) and protoc-gen-swift from swift-protobuf 1.39.0,
# the version Package.swift resolves. Set PROTOC_GEN_SWIFT to a built plugin, or let this script
# build it once into .build-protoc/ (git-ignored) from the swift-protobuf package mirror.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT_PROTOBUF_VERSION=1.39.0
SWIFT_PROTOBUF_URL=https://github.com/apple/swift-protobuf
SCRATCH="$ROOT/.build-protoc"
OUT="$ROOT/Sources/LiveKitProtocol"
SCHEMAS="$ROOT/schemas/livekit"

command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler" >&2; exit 1; }

plugin="${PROTOC_GEN_SWIFT:-}"
if [[ -z "$plugin" ]]; then
  plugin="$SCRATCH/swift-protobuf/.build/release/protoc-gen-swift"
  if [[ ! -x "$plugin" ]]; then
    echo "building protoc-gen-swift $SWIFT_PROTOBUF_VERSION into $SCRATCH (takes minutes)" >&2
    mkdir -p "$SCRATCH"
    [[ -d "$SCRATCH/swift-protobuf" ]] || \
      git clone -q --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_URL" "$SCRATCH/swift-protobuf"
    (cd "$SCRATCH/swift-protobuf" && swift build -c release --product protoc-gen-swift)
  fi
fi

version="$("$plugin" --version 2>&1 || true)"
[[ "$version" == *"$SWIFT_PROTOBUF_VERSION"* ]] || \
  { echo "protoc-gen-swift reports '$version', expected $SWIFT_PROTOBUF_VERSION" >&2; exit 1; }

rm -f "$OUT"/*.pb.swift
protoc \
  --plugin=protoc-gen-swift="$plugin" \
  -I "$SCHEMAS" \
  --swift_out="$OUT" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=FullPath \
  "$SCHEMAS"/*.proto
ls "$OUT"/*.pb.swift

#!/usr/bin/env bash
# Regenerates Sources/PixEcomProtos from Protos/ with protoc and swift-protobuf's plugin; with
# Sources/ContractGen, from the method options (PIXECOM_CONTRACTGEN=/path/to/ContractGen skips
# building it), the services' contracts in Sources/ServiceKit/Generated, the edge's route table in
# Sources/Edge/Generated/EdgeRouteTable*.swift and the route table of docs/API.md; and the edge's
# OpenAPI schemas (scripts/generate-openapi-schemas.py).
# Usage: scripts/generate-protos.sh [--check]   (--check fails when the committed code is stale)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=1.39.0

if ! command -v protoc >/dev/null; then
  apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null
fi

plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
  src=${TMPDIR:-/tmp}/pixecom-swift-protobuf-$version
  if [ ! -x "$src/.build/release/protoc-gen-swift" ]; then
    rm -rf "$src"
    git clone -q --branch "$version" https://github.com/apple/swift-protobuf.git "$src"
    (cd "$src" && swift build -c release --product protoc-gen-swift >/dev/null)
  fi
  plugin=$src/.build/release/protoc-gen-swift
fi

out=$root/Sources/PixEcomProtos
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
fi
find "$out" -name '*.pb.swift' -delete
(cd Protos && protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  $(find . -name '*.proto' | sort))

# The services' contracts (method names, access tables, handler protocols, clients), the edge's
# routes and docs/API.md's route table from the method options: ContractGen reads a descriptor set
# of Protos/.
descriptors=$(mktemp)
trap 'rm -f "$descriptors"' EXIT
(cd Protos && protoc --include_imports --include_source_info --descriptor_set_out="$descriptors" $(find . -name '*.proto' | sort))
contractgen=${PIXECOM_CONTRACTGEN:-}
if [ -z "$contractgen" ]; then
  swift build --product ContractGen >/dev/null
  contractgen=$(swift build --show-bin-path)/ContractGen
fi
if [ "${1:-}" = "--check" ]; then
  "$contractgen" "$descriptors" "$root" --check
else
  "$contractgen" "$descriptors" "$root"
fi

if [ "${1:-}" = "--check" ]; then
  if ! diff -r -q "$out" <(true) >/dev/null 2>&1; then :; fi
  for f in "$out"/*.pb.swift; do
    cmp -s "$f" "$root/Sources/PixEcomProtos/$(basename "$f")" || { echo "stale: $(basename "$f") (run scripts/generate-protos.sh)"; exit 1; }
  done
  echo "generated code is current"
  python3 "$root/scripts/generate-openapi-schemas.py" --check
else
  python3 "$root/scripts/generate-openapi-schemas.py"
fi

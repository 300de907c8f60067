#!/usr/bin/env bash
# Measures unary Echo over RPCKit, grpc-swift-2 (mTLS, HTTP/2) and a raw NIO TLS echo, side by
# side on this machine, and prints the results, the RPCKit ratios and the PASS/FAIL of the targets.
#
# Usage: Benchmarks/run.sh [--write] [--quick] [EchoBenchmark run options...]
#   --write   also rewrite the generated part of docs/PERFORMANCE.md with the results
#   --quick   short windows, one round (a smoke test, about 1.5 minutes; numbers are rough);
#             a full run measures 3 rounds and takes about 12 minutes
#   other options go to `EchoBenchmark run`, e.g. --implementations rpckit,raw-nio
#             --payload-sizes 256 --in-flight 1,64 --duration 4 (see --help)
#
# Builds Benchmarks/ in release mode (the first build takes 10+ minutes on 2 cores), makes
# certificates in a temporary folder with scripts/make-certs.sh, and runs the benchmark with the
# malloc interposer preloaded. Needs no standard input; works as root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

write=0
quick=0
passthrough=()
for argument in "$@"; do
  case "$argument" in
    --write) write=1 ;;
    --quick) quick=1 ;;
    -h|--help) usage 0 ;;
    *) passthrough+=("$argument") ;;
  esac
done
exec </dev/null

command -v swift >/dev/null 2>&1 || die "swift is not on PATH"

log "building Benchmarks/ in release mode (swift build -c release --package-path Benchmarks)"
swift build -c release --package-path "$here" >&2 || die "the release build failed"
# The malloc interposer is not linked into the executable (which then also runs under valgrind);
# it is built on its own and preloaded.
swift build -c release --package-path "$here" --product MallocInterposerSwift >&2 \
  || die "the build of the malloc interposer failed"
bin=$(swift build -c release --package-path "$here" --show-bin-path)
benchmark=$bin/EchoBenchmark
interposer=$bin/libMallocInterposerSwift.so
[ -x "$benchmark" ] || die "$benchmark was not built"
[ -f "$interposer" ] || die "$interposer was not built"

certificates=$(mktemp -d "${TMPDIR:-/tmp}/pixecom-bench-certs.XXXXXX")
trap 'rm -rf "$certificates"' EXIT
"$root/scripts/make-certs.sh" "$certificates" >/dev/null 2>&1 || die "scripts/make-certs.sh failed"

options=(--certificates "$certificates")
if [ "$quick" -eq 1 ]; then
  options+=(--warmup 0.5 --long-warmup 1 --duration 1 --allocation-window 0.5 --rounds 1)
fi
if [ "$write" -eq 1 ]; then
  revision=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
  shown="Benchmarks/run.sh $*"
  options+=(--update-document "$root/docs/PERFORMANCE.md" --command "${shown% }" --revision "$revision")
fi

log "running $(basename "$benchmark") with the malloc interposer preloaded"
LD_PRELOAD=$interposer "$benchmark" run "${options[@]}" ${passthrough[@]+"${passthrough[@]}"}

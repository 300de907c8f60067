#!/usr/bin/env bash
# Builds pixrpc-client, the independent C client of the RPCKit protocol (see README.md), and prints
# the path of the binary on standard output (messages go to standard error).
#
#   Tests/CClient/build.sh [--force]
#
# Steps: protoc-c on Protos/pixecom/rpc/v1/envelope.proto and Protos/pixecom/testing/v1/echo.proto
# into Tests/CClient/build/gen, gcc (C11, -Wall -Wextra -Werror), link with protobuf-c and OpenSSL.
# Everything it writes is under Tests/CClient/build. Nothing is rebuilt when the binary is newer
# than every input and the flags did not change; --force rebuilds anyway. Concurrent runs are
# serialized with flock, and the binary is replaced atomically, so a running client is never
# overwritten.
#
# Needs (Debian): gcc, protobuf-c-compiler (protoc-c), libprotobuf-c-dev, libssl-dev.
# Environment: CC (default gcc), PIXRPC_EXTRA_CFLAGS (e.g. "-fsanitize=address,undefined").
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$here/build
gen=$build/gen
binary=$build/pixrpc-client
protos=(pixecom/rpc/v1/envelope.proto pixecom/testing/v1/echo.proto)
sources=(src/main.c src/pixrpc.c)

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) die "unknown argument: $1 (usage: build.sh [--force])" ;;
esac

cc=${CC:-gcc}
command -v "$cc" >/dev/null 2>&1 \
  || die "C compiler '$cc' not found: install the Debian package gcc (apt-get install gcc)"
command -v protoc-c >/dev/null 2>&1 \
  || die "protoc-c not found: install the Debian package protobuf-c-compiler (apt-get install protobuf-c-compiler)"

# A header is usable when the compiler can preprocess an include of it.
have_header() { printf '#include <%s>\n' "$1" | "$cc" -E -x c - >/dev/null 2>&1; }
have_header protobuf-c/protobuf-c.h \
  || die "protobuf-c/protobuf-c.h not found: install the Debian package libprotobuf-c-dev (apt-get install libprotobuf-c-dev)"
have_header openssl/ssl.h \
  || die "openssl/ssl.h not found: install the Debian package libssl-dev (apt-get install libssl-dev)"

cflags=(-std=c11 -O1 -g -Wall -Wextra -Werror -I"$gen" -I"$here/src")
# shellcheck disable=SC2206 # word splitting of the extra flags is intended
[ -z "${PIXRPC_EXTRA_CFLAGS:-}" ] || cflags+=(${PIXRPC_EXTRA_CFLAGS})
libs=(-lprotobuf-c -lssl -lcrypto)

mkdir -p "$build"
exec 9>"$build/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

# Up to date? The binary must be newer than every input, and built with the same flags.
stamp=$build/flags
protoc_version=$(protoc-c --version 2>/dev/null || true)
wanted="$cc ${cflags[*]} ${libs[*]} ${protoc_version%%$'\n'*}"
if [ "$force" -eq 0 ] && [ -x "$binary" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  inputs=("$here/build.sh")
  for f in "${sources[@]}" src/pixrpc.h; do inputs+=("$here/$f"); done
  for p in "${protos[@]}"; do inputs+=("$root/Protos/$p"); done
  stale=0
  for f in "${inputs[@]}"; do
    [ "$f" -nt "$binary" ] && { stale=1; break; }
  done
  if [ "$stale" -eq 0 ]; then
    log "up to date"
    printf '%s\n' "$binary"
    exit 0
  fi
fi

log "generating C for ${protos[*]}"
rm -rf "$gen" "$build/obj"
mkdir -p "$gen" "$build/obj"
protoc-c --c_out="$gen" -I "$root/Protos" "${protos[@]/#/$root/Protos/}" \
  || die "protoc-c failed on ${protos[*]}"

objects=()
compile() {
  local source=$1 object
  object=$build/obj/$(basename "${source%.c}").o
  "$cc" "${cflags[@]}" -c "$source" -o "$object" || die "compiling $source failed"
  objects+=("$object")
}
for p in "${protos[@]}"; do compile "$gen/${p%.proto}.pb-c.c"; done
for s in "${sources[@]}"; do compile "$here/$s"; done

log "linking"
"$cc" "${cflags[@]}" -o "$binary.tmp" "${objects[@]}" "${libs[@]}" \
  || die "linking failed (needs libprotobuf-c-dev and libssl-dev: ${libs[*]})"
mv -f "$binary.tmp" "$binary"
printf '%s\n' "$wanted" >"$stamp"
log "built $binary"
printf '%s\n' "$binary"

# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; do not run it.
#
#   source "$(dirname "$0")/lib.sh"
#
# Everything here works as root (CI: Debian 12, CI=true, no standard input) and as a normal
# developer (apt-get through sudo when needed).

# Messages go to standard error so that standard output stays parseable (URLs, ports).
log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The repository root (this file lives in <root>/scripts).
pixecom_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

# Runs a command as root: directly when we are root, else through sudo (non-interactive when
# there is no terminal, so CI never hangs on a password prompt).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [ -t 0 ]; then sudo "$@"; else sudo -n "$@"; fi
  else
    die "need root to run: $* (no sudo found)"
  fi
}

# Is a probe satisfied? A probe is an absolute path (a file that must exist) or a command name.
probe_ok() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# ensure_packages PKG:PROBE ...
# Installs, with apt-get, the Debian packages whose probe fails. `apt-get update` runs once, and
# only when something is missing. Without apt-get (not Debian) it names what is missing and
# returns 1.
ensure_packages() {
  local missing=() spec pkg probe
  for spec in "$@"; do
    pkg=${spec%%:*}
    probe=${spec#*:}
    probe_ok "$probe" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing (install them with your package manager): ${missing[*]}"
    return 1
  fi
  log "installing missing packages: ${missing[*]}"
  # apt's output is kept in a file and shown only when something fails.
  local out
  out=$(mktemp)
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$out" 2>&1 \
    || ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >>"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    log "could not install: ${missing[*]}"
    return 1
  fi
  rm -f "$out"
  for spec in "$@"; do
    probe_ok "${spec#*:}" || { log "installed ${spec%%:*}, but ${spec#*:} is still missing"; return 1; }
  done
}

# The PostgreSQL 15 binaries: PIXECOM_PG_BIN, else Debian's location, else whatever is on PATH.
pg_bin_dir() {
  if [ -n "${PIXECOM_PG_BIN:-}" ]; then
    printf '%s\n' "$PIXECOM_PG_BIN"
  elif [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    printf '%s\n' /usr/lib/postgresql/15/bin
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    printf '%s\n' /usr/lib/postgresql/15/bin
  fi
}

# The packages every build, test and local run needs, as PKG:PROBE pairs.
PIXECOM_BASE_PACKAGES=(
  postgresql:/usr/lib/postgresql/15/bin/initdb
  postgresql-client:psql
  openssl:openssl
  protobuf-compiler:protoc
  libprotobuf-c-dev:/usr/include/protobuf-c/protobuf-c.h
  protobuf-c-compiler:protoc-c
  gcc:gcc
  libssl-dev:/usr/include/openssl/ssl.h
  python3:python3
  curl:curl
)

# ensure_base_packages [EXTRA_PKG:PROBE ...]
# A PostgreSQL found elsewhere (PIXECOM_PG_BIN, or initdb on PATH) stands in for Debian's.
ensure_base_packages() {
  local specs=() spec
  for spec in "${PIXECOM_BASE_PACKAGES[@]}" "$@"; do
    if [ "${spec%%:*}" = postgresql ] && [ -x "$(pg_bin_dir)/initdb" ]; then
      continue
    fi
    specs+=("$spec")
  done
  ensure_packages ${specs[@]+"${specs[@]}"}
}

# Is something accepting TCP connections on 127.0.0.1:PORT? (bash's /dev/tcp, no extra tools)
port_in_use() {
  if command -v timeout >/dev/null 2>&1; then
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# A random lowercase hex string of N bytes (2N characters): safe in URLs, SQL literals and shells.
random_hex() {
  local bytes=${1:-24}
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex "$bytes"
  else
    head -c "$bytes" /dev/urandom | od -An -tx1 | tr -d ' \n'
    printf '\n'
  fi
}

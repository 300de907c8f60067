#!/usr/bin/env bash
# THE test command: builds everything and runs the full test suite against a private PostgreSQL.
#
# Usage: scripts/test.sh [swift test arguments...]     e.g. scripts/test.sh --filter EndToEnd
#
# 1. installs the Debian packages the build and the tests need when one is missing (apt-get
#    update runs once, only then);
# 2. checks the formatting of the Swift sources (swift format lint --strict, .swift-format), and
#    that the committed generated protobuf code is current, when a protoc-gen-swift is at
#    hand (PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift); otherwise says it skipped that;
# 3. validates compose/compose.yaml (Tests/compose-check/check_compose.py: the Compose
#    Specification schema plus cross-references), without Docker;
# 4. starts a throwaway PostgreSQL 15 in a temporary folder on a free port (scripts/postgres.sh)
#    and exports its superuser URL as PIXECOM_TEST_DATABASE_URL (already set: that server is
#    used instead and nothing is started);
# 5. `swift build` (the end-to-end tests start the real executables), exports
#    PIXECOM_BIN_DIR=$(swift build --show-bin-path);
# 6. `swift test "$@"` under a time limit (run_tests below; with no arguments: every suite but the job queue's crash and
#    held-transaction tests, then those two), at most 8 tests at once, and exits with its status. PostgreSQL is stopped and the temporary folder
#    removed on every exit (trap).
#
# Works as root (CI: Debian 12, CI=true, no standard input) and as a developer (sudo for apt-get).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

step() { log ""; log "==> $*"; }

step "checking packages"
# dnsmasq: the real DNS server the domain-verification test starts (DomainTests).
ensure_base_packages dnsmasq-base:/usr/sbin/dnsmasq
command -v swift >/dev/null 2>&1 || die "swift is not on PATH (Swift 6.3 is needed)"

# Everything temporary lives here; the trap removes it whatever happens.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pixecom-test.XXXXXX")
# 711: when run as root, PostgreSQL runs as pixecom-pg and must reach its folder inside.
chmod 711 "$tmp"
pgdir=$tmp/pg
started_pg=0
child=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Interrupted while swift was running: stop it first (SIGTERM, then SIGKILL after 10 s).
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$child" 2>/dev/null || true
  fi
  if [ "$started_pg" -eq 1 ]; then
    scripts/postgres.sh destroy "$pgdir" || log "warning: could not stop the test PostgreSQL in $pgdir"
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_child CMD...: runs CMD in the background and waits for it, so that INT/TERM reach the traps
# at once (bash runs a trap only after a foreground command ends); returns CMD's status.
run_child() {
  local status=0
  "$@" &
  child=$!
  wait "$child" || status=$?
  child=""
  return "$status"
}

step "formatting (swift format, .swift-format at the root)"
# Generated code (Sources/PixEcomProtos, */Generated) is written by its generators and not checked.
mapfile -t swift_files < <(git ls-files 'Sources/*.swift' 'Tests/*.swift' 'Benchmarks/*.swift' Package.swift \
  | grep -v -e '^Sources/PixEcomProtos/' -e '/Generated/')
if ! swift format lint --strict --parallel "${swift_files[@]}"; then
  die "formatting is off in the files above: run swift format format --in-place on them"
fi
log "${#swift_files[@]} files formatted as .swift-format says"

step "generated protobuf code"
if [ -n "${PROTOC_GEN_SWIFT:-}" ] && [ -x "${PROTOC_GEN_SWIFT}" ]; then
  scripts/generate-protos.sh --check
elif [ "${CI:-}" = true ]; then
  # CI builds swift-protobuf's plugin (about a minute) so stale generated code fails the run.
  scripts/generate-protos.sh --check
else
  log "skipped: no protoc-gen-swift at hand (building one takes minutes); set PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift to check"
fi

step "python for the compose check (run by the Swift suite: ComposeFileTests)"
# Any python3 with PyYAML and jsonschema will do; else Debian's packages for /usr/bin/python3.
py=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml, jsonschema' 2>/dev/null; then
    py=$candidate
    break
  fi
done
if [ -z "$py" ]; then
  ensure_packages python3-yaml:/usr/lib/python3/dist-packages/yaml \
    python3-jsonschema:/usr/lib/python3/dist-packages/jsonschema
  py=/usr/bin/python3
fi
export PIXECOM_PYTHON=$py

step "schemathesis for the API fuzz test (run by the Swift suite: SchemathesisTests)"
# A private virtualenv with a pinned schemathesis from PyPI, kept between runs.
if [ -n "${PIXECOM_SCHEMATHESIS:-}" ] && [ -x "$PIXECOM_SCHEMATHESIS" ]; then
  log "using $PIXECOM_SCHEMATHESIS"
else
  schemathesis_version=4.32.5
  venv=${TMPDIR:-/tmp}/pixecom-schemathesis-$schemathesis_version
  if [ ! -x "$venv/bin/schemathesis" ]; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      ensure_packages python3-venv:/usr/share/doc/python3-venv python3-pip:/usr/bin/pip3
      /usr/bin/python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version" \
      || die "could not install schemathesis $schemathesis_version from PyPI"
  fi
  export PIXECOM_SCHEMATHESIS=$venv/bin/schemathesis
  log "schemathesis: $("$PIXECOM_SCHEMATHESIS" --version)"
fi

step "test PostgreSQL"
if [ -n "${PIXECOM_TEST_DATABASE_URL:-}" ]; then
  log "using the server in PIXECOM_TEST_DATABASE_URL"
else
  url=""
  started_pg=1
  # A free port can be taken by someone else before PostgreSQL binds it: try a few.
  for attempt in 1 2 3; do
    port=$(scripts/postgres.sh free-port)
    # Swift Testing runs the suites side by side, and each in-process system holds up to 10
    # connections per service: on a loaded machine more systems overlap than 300 slots hold.
    if url=$(PIXECOM_PG_FAST=1 PIXECOM_PG_MAX_CONNECTIONS=1000 scripts/postgres.sh start "$pgdir" "$port"); then
      break
    fi
    log "attempt $attempt to start PostgreSQL on port $port failed"
    url=""
  done
  [ -n "$url" ] || die "could not start the test PostgreSQL"
  export PIXECOM_TEST_DATABASE_URL=$url
  log "PostgreSQL 15 on 127.0.0.1:$port (data in $pgdir)"
fi

# run_tests ARGS...: `swift test ARGS`, its output line-buffered (so a log cut short shows where),
# under a watchdog: past PIXECOM_TEST_TIMEOUT_S seconds (default 2400; the suite takes about 10
# minutes in CI) the test process's threads are printed (with gdb, when installed) and it is
# killed, so a test that never ends fails the run instead of holding it until CI's own limit.
run_tests() {
  local limit=${PIXECOM_TEST_TIMEOUT_S:-2400} status=0 watchdog
  stdbuf -oL -eL swift test "$@" &
  child=$!
  (
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep "$limit" &
    nap=$!
    wait "$nap"
    kill -0 "$child" 2>/dev/null || exit 0
    log "the tests ran past $limit s (PIXECOM_TEST_TIMEOUT_S): their threads, then SIGKILL"
    for pid in $(pgrep -f 'PixEcomPackageTests.xctest' || true); do
      if command -v gdb >/dev/null 2>&1; then
        gdb -p "$pid" -batch -ex 'thread apply all bt' 2>&1 | grep -v 'During symbol reading' >&2 || true
      fi
      kill -KILL "$pid" 2>/dev/null || true
    done
  ) &
  watchdog=$!
  wait "$child" || status=$?
  child=""
  kill -TERM "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  return "$status"
}

step "swift build"
run_child swift build
PIXECOM_BIN_DIR=$(swift build --show-bin-path)
export PIXECOM_BIN_DIR
log "executables in $PIXECOM_BIN_DIR"

step "generated contracts, edge routes and docs/API.md's route table"
# Always checked (protoc and the freshly built ContractGen suffice): a method without its options,
# a binding that cannot be a route, or a .proto changed without regenerating, fails here.
command -v protoc >/dev/null 2>&1 || ensure_packages protobuf-compiler:/usr/bin/protoc
contract_descriptors=$tmp/descriptors.pb
(cd Protos && protoc --include_imports --include_source_info --descriptor_set_out="$contract_descriptors" $(find . -name '*.proto' | sort))
"$PIXECOM_BIN_DIR/ContractGen" "$contract_descriptors" . --check

# Swift Testing starts every suite at once unless told a width: on two cores some sixty suites,
# most of them starting a whole system (PostgreSQL databases, five services, TLS), then time out
# each other's handshakes. Eight at a time keeps the machine busy without that; set the variable
# to change it.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}
log "at most $SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH tests at once (SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH)"

status=0
if [ "$#" -eq 0 ]; then
  # The job queue's long tests run after the rest, side by side: the crash test keeps both
  # cores busy for a minute and more (three worker processes, 100,000 jobs, SIGKILLs), and would
  # starve the tests that wait on deadlines; the held-transaction test mostly waits (a minute).
  long="JobCrashTests|JobHeldTransactionTests"
  step "swift test --skip \"$long\""
  run_tests --skip "$long" || status=$?
  if [ "$status" -eq 0 ]; then
    step "swift test --filter \"$long\""
    run_tests --filter "$long" || status=$?
  fi
else
  step "swift test $*"
  run_tests "$@" || status=$?
fi
if [ "$status" -eq 0 ]; then log "tests passed"; else log "tests failed (exit $status)"; fi
exit "$status"

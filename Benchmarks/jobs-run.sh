#!/usr/bin/env bash
# The job queue's benchmark, in one run on this machine: jobs per second end to end (enqueued
# and completed, trivial handler) against a bare SKIP LOCKED claim loop in SQL on the same
# database.
#
#   ours: `JobWorker bench N C` (release build): one process enqueues N jobs (1,000 per
#     statement) while a JobRunner with concurrency C works them; N / (time until the last is
#     completed). Every claim, completion and enqueue is a real statement on the real tables.
#   reference: pgbench (-c 16 -j 2, -M prepared) runs, per transaction, the bare loop's step on
#     a table of the same shape filled beforehand: claim the oldest available row with
#     FOR UPDATE SKIP LOCKED and mark it completed, in one statement. Its tps is jobs/s with no
#     enqueue, no handler, no lease and no client code: the ceiling.
#     Then the same loop taking 100 rows per statement, as context: the queue batches its claims
#     and completions, which the one-job loop does not.
#   Rounds alternate; medians are reported, and their ratio.
#
# Usage: Benchmarks/jobs-run.sh [--write] [--quick]
#   --write   also rewrite the job-queue part of docs/PERFORMANCE.md with the results
#   --quick   one short round (a smoke test; numbers are rough)
#
# Builds JobWorker in release mode, starts a private PostgreSQL (scripts/postgres.sh, with its
# fast settings) on a free port, installs pgbench when missing (Debian), needs no standard input.
# Changes no system setting.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
exec </dev/null

write=0 rounds=3 jobs=60000 concurrency=100 seconds=10 bare_rows=2000000
for argument in "$@"; do
  case "$argument" in
    --write) write=1 ;;
    --quick) rounds=1 jobs=10000 seconds=3 bare_rows=600000 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $argument (see --help)" ;;
  esac
done

ensure_packages postgresql-client-15:/usr/lib/postgresql/15/bin/pgbench jq:jq
log "building JobWorker in release mode"
(cd "$root" && swift build -c release --product JobWorker >&2) || die "the release build of JobWorker failed"
bin=$(cd "$root" && swift build -c release --show-bin-path)
pgbench=/usr/lib/postgresql/15/bin/pgbench

work=$(mktemp -d "${TMPDIR:-/tmp}/pixecom-jobs-bench.XXXXXX")
cleanup() {
  "$root/scripts/postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$("$root/scripts/postgres.sh" free-port)
admin_url=$(PIXECOM_PG_FAST=1 "$root/scripts/postgres.sh" start "$work/pg" "$pg_port") || die "could not start PostgreSQL"
declare -A db=()
while IFS='=' read -r key value; do db[$key]=$value; done \
  < <("$root/scripts/postgres.sh" create-service-dbs "$admin_url" "")
# The orders database pair stands in for any service's: the queue's tables are the same in each.
owner_url=${db[orders]} app_url=${db[orders_app]}
PIXECOM_DATABASE_OWNER_URL=$owner_url PIXECOM_DATABASE_URL=$app_url "$bin/JobWorker" migrate || die "JobWorker migrate failed"
psql -qX -v ON_ERROR_STOP=1 "$owner_url" >/dev/null <<'SQL' || die "could not create the reference table"
CREATE TABLE bare_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL DEFAULT 'noop',
    args jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'available',
    run_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bare_jobs_claim_idx ON bare_jobs (run_at, id) WHERE state = 'available';
SQL
cat >"$work/claim.sql" <<'SQL'
UPDATE bare_jobs SET state = 'completed'
WHERE id = (SELECT id FROM bare_jobs WHERE state = 'available' AND run_at <= now() ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED);
SQL
cat >"$work/claim-batch.sql" <<'SQL'
UPDATE bare_jobs SET state = 'completed'
WHERE id IN (SELECT id FROM bare_jobs WHERE state = 'available' AND run_at <= now() ORDER BY run_at, id LIMIT 100 FOR UPDATE SKIP LOCKED);
SQL
# bare SCRIPT: refills the reference table, runs pgbench on SCRIPT, prints the rows completed per
# second (for the single-row script that is its tps).
bare() {
  psql -qX -v ON_ERROR_STOP=1 "$owner_url" \
    -c "TRUNCATE bare_jobs" -c "INSERT INTO bare_jobs (kind) SELECT 'noop' FROM generate_series(1, $bare_rows)" \
    -c "VACUUM ANALYZE bare_jobs" >/dev/null
  "$pgbench" -n -M prepared -c 16 -j 2 -T "$seconds" -f "$1" "$owner_url" >/dev/null 2>&1 || die "pgbench failed"
  local done_rows
  done_rows=$(psql -qXtA "$owner_url" -c "SELECT count(*) FROM bare_jobs WHERE state = 'completed'")
  [ "$done_rows" -lt "$bare_rows" ] || die "the reference ran out of rows ($bare_rows); raise bare_rows"
  echo $((done_rows / seconds))
}

ours=() bare=() bare_batch=()
for round in $(seq 1 "$rounds"); do
  psql -qX -v ON_ERROR_STOP=1 "$owner_url" -c "TRUNCATE jobs" -c "VACUUM ANALYZE jobs" >/dev/null
  result=$(PIXECOM_DATABASE_URL=$app_url "$bin/JobWorker" bench "$jobs" "$concurrency") || die "JobWorker bench failed"
  rate=$(jq -r .jobs_per_second <<<"$result")
  ours+=("$rate")
  log "round $round: queue $rate jobs/s ($(jq -r .seconds <<<"$result") s for $jobs jobs, concurrency $concurrency)"
  tps=$(bare "$work/claim.sql")
  bare+=("$tps")
  log "round $round: bare SKIP LOCKED loop, one job per transaction: $tps jobs/s (pgbench -c 16, $seconds s)"
  batched=$(bare "$work/claim-batch.sql")
  bare_batch+=("$batched")
  log "round $round: bare loop, 100 jobs per transaction: $batched jobs/s"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
ours_median=$(median "${ours[@]}")
bare_median=$(median "${bare[@]}")
batch_median=$(median "${bare_batch[@]}")
batch_ratio=$(awk -v a="$ours_median" -v b="$batch_median" 'BEGIN {printf "%.2f", a / b}')
ratio=$(awk -v a="$ours_median" -v b="$bare_median" 'BEGIN {printf "%.2f", a / b}')
verdict() { awk -v ok="$1" 'BEGIN {print ok ? "PASS" : "FAIL"}'; }
rate_ok=$(awk -v a="$ours_median" 'BEGIN {print (a >= 5000) ? 1 : 0}')
ratio_ok=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.5) ? 1 : 0}')
rev=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$root" && git status --porcelain 2>/dev/null)" ]; then rev="$rev-dirty"; fi
table=$(cat <<EOF
<!-- BEGIN JOB QUEUE RESULTS: Benchmarks/jobs-run.sh --write rewrites this part -->
### The job queue

Measured $(date -u +%Y-%m-%dT%H:%M:%SZ) at revision \`$rev\` with \`Benchmarks/jobs-run.sh$( [ "$rounds" -eq 1 ] && echo " --quick")\` on $(nproc) cores; the queue, PostgreSQL and pgbench on this machine; no system setting changed. $rounds round(s), alternating; medians.

| Target | Verdict | Measured |
| :--- | :--- | :--- |
| jobs/s end to end (enqueue to completed, trivial handler, concurrency $concurrency, $jobs jobs) >= 5,000 | $(verdict "$rate_ok") | $ours_median jobs/s (rounds: ${ours[*]}) |
| the same >= 0.5x a bare SKIP LOCKED claim-and-complete loop (pgbench -c 16, prepared, one job per transaction, rows enqueued beforehand) | $(verdict "$ratio_ok") | ${ratio}x ($ours_median vs $bare_median jobs/s; bare rounds: ${bare[*]}) |
| (context) the same against the bare loop taking 100 rows per statement | - | ${batch_ratio}x ($ours_median vs $batch_median jobs/s; rounds: ${bare_batch[*]}) |
<!-- END JOB QUEUE RESULTS -->
EOF
)
printf '\n%s\n' "$table"
if [ "$write" -eq 1 ]; then
  doc=$root/docs/PERFORMANCE.md
  if grep -q '<!-- BEGIN JOB QUEUE RESULTS' "$doc"; then
    python3 - "$doc" "$table" <<'PY'
import re, sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"<!-- BEGIN JOB QUEUE RESULTS.*?<!-- END JOB QUEUE RESULTS -->", lambda _: table, text, flags=re.S)
open(path, "w").write(text)
PY
  else
    printf '\n%s\n' "$table" >>"$doc"
  fi
  log "wrote docs/PERFORMANCE.md"
fi

#!/usr/bin/env bash
# THE run command: builds PixEcom and runs the whole system on this machine.
#
# Usage: scripts/run-local.sh [--no-build] [--detach]
#        scripts/run-local.sh --stop
#
#   --no-build  use the executables of the last `swift build` (or those in PIXECOM_BIN_DIR)
#   --detach    start everything, print the walkthrough and return (stop later with --stop)
#   --stop      stop a previous run (the five processes, then PostgreSQL)
#
# What it does:
#   1. installs missing Debian packages (as scripts/test.sh does, plus jq), `swift build`;
#   2. certificates in .run/certs (scripts/make-certs.sh, once);
#   3. PostgreSQL 15 in .run/pgdata on 127.0.0.1:55432 (PIXECOM_PG_PORT), one role + database per
#      service; their URLs are kept in .run/db.env (mode 600) and reused by later runs;
#   4. a random PIXECOM_AUTH_TOKEN_HASH_KEY in .run/secrets/auth-token-hash-key and a random
#      PIXECOM_PLATFORM_TOKEN_KEYS (key version 1) in .run/secrets/platform-token-keys (once);
#   5. starts AuthService, CampaignService, StatsService, OrderService and the Edge in the
#      background (logs in .run/logs/<name>.log), waits for each one's ready file;
#   6. AuthService creates a demo seller with a random email and password on its first start
#      (development mode; kept in .run/demo.env, mode 600); prints where to connect and
#      a curl walkthrough (also written to .run/walkthrough.sh);
#   7. waits; Ctrl-C or SIGTERM stops the five processes (SIGTERM, graceful) and PostgreSQL.
#
# Fixed ports: RPC auth 7001, campaign 7002, stats 7003, orders 7004; admin (/healthz /readyz
# /metrics) 9001..9005 (auth, campaign, stats, orders, edge); Edge HTTPS 8443.
# Passed through from your environment when set: PIXECOM_MODE, PIXECOM_LOG_LEVEL,
# PIXECOM_CORS_ORIGINS. PIXECOM_START_TIMEOUT (seconds per service, default 120).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

usage() { sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

build=1 detach=0 stop_only=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --detach) detach=1 ;;
    --stop) stop_only=1 ;;
    -h|--help) usage 0 ;;
    *) log "unknown option: $arg"; usage ;;
  esac
done

run=$root/.run
certs=$run/certs
logs=$run/logs
pids=$run/pids
ready=$run/ready
secrets=$run/secrets
state=$run/state.env
pg_port=${PIXECOM_PG_PORT:-55432}
pg_dir=$run/pgdata
start_timeout=${PIXECOM_START_TIMEOUT:-120}

# The five processes, in start order, with their executables and ports.
names=(auth campaign stats orders edge)
declare -A exe=([auth]=AuthService [campaign]=CampaignService [stats]=StatsService [orders]=OrderService [edge]=Edge)
declare -A rpc_port=([auth]=7001 [campaign]=7002 [stats]=7003 [orders]=7004)
declare -A admin_port=([auth]=9001 [campaign]=9002 [stats]=9003 [orders]=9004 [edge]=9005)
edge_port=8443
edge_url=https://localhost:$edge_port

# ---------------------------------------------------------------------------------------------
# stopping

# The pid in .run/pids/NAME.pid, when that process is alive and is what we started.
live_pid() {
  local file=$pids/$1.pid pid args
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    args=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
  fi
  case "$1" in
    run-local) [[ $args == *run-local.sh* ]] ;;
    *) [[ $args == *"/${exe[$1]}"* ]] ;;
  esac && echo "$pid"
}

stop_services() {
  local name pid waiting=() i
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do
    name=${names[$i]}
    if pid=$(live_pid "$name"); then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      waiting+=("$name:$pid")
    fi
  done
  # Graceful shutdown drains in-flight calls: give it 30 seconds, then SIGKILL.
  for i in $(seq 1 60); do
    local still=()
    for entry in ${waiting[@]+"${waiting[@]}"}; do
      kill -0 "${entry#*:}" 2>/dev/null && still+=("$entry")
    done
    waiting=(${still[@]+"${still[@]}"})
    [ "${#waiting[@]}" -eq 0 ] && break
    sleep 0.5
  done
  for entry in ${waiting[@]+"${waiting[@]}"}; do
    log "${entry%%:*} did not stop in 30 s: killing it"
    kill -KILL "${entry#*:}" 2>/dev/null || true
  done
  rm -f "$pids"/*.pid 2>/dev/null || true
}

stop_postgres() {
  local dir=$pg_dir
  if [ -f "$state" ]; then dir=$(sed -n 's/^pg_dir=//p' "$state"); fi
  [ -n "$dir" ] || dir=$pg_dir
  scripts/postgres.sh stop "$dir" || log "warning: could not stop PostgreSQL in $dir"
}

if [ "$stop_only" -eq 1 ]; then
  # A foreground run elsewhere stops everything itself when told to.
  if pid=$(live_pid run-local) && [ "$pid" != "$$" ]; then
    log "stopping the run-local.sh in progress (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  stop_services
  stop_postgres
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# starting

for name in "${names[@]}"; do
  if pid=$(live_pid "$name"); then
    die "$name is already running (pid $pid): stop the previous run with scripts/run-local.sh --stop"
  fi
done
for port in 7001 7002 7003 7004 9001 9002 9003 9004 9005 "$edge_port"; do
  port_in_use "$port" && die "port $port on 127.0.0.1 is in use (a previous run? scripts/run-local.sh --stop)"
done

log "==> packages"
ensure_base_packages jq:jq
if [ "$build" -eq 1 ] || [ -z "${PIXECOM_BIN_DIR:-}" ]; then
  command -v swift >/dev/null 2>&1 || die "swift is not on PATH (Swift 6.3 is needed)"
fi

if [ "$build" -eq 1 ]; then
  log "==> swift build"
  swift build >&2  # build output to stderr: standard output is the connection summary
fi
# PIXECOM_BIN_DIR runs other executables, e.g. a release build:
#   swift build -c release && PIXECOM_BIN_DIR=$(swift build -c release --show-bin-path) scripts/run-local.sh --no-build
if [ "$build" -eq 0 ] && [ -n "${PIXECOM_BIN_DIR:-}" ]; then
  bin=$PIXECOM_BIN_DIR
else
  bin=$(swift build --show-bin-path)
fi
for name in "${names[@]}"; do
  [ -x "$bin/${exe[$name]}" ] || die "$bin/${exe[$name]} is missing (run without --no-build)"
done

mkdir -p "$run" "$logs" "$pids" "$ready"
(umask 077 && mkdir -p "$secrets")
printf 'pg_dir=%s\n' "$pg_dir" >"$state"
echo "$$" >"$pids/run-local.pid"

# From here on, leaving for any reason (an error, Ctrl-C, SIGTERM) stops what was started,
# unless --detach finished starting everything.
keep_running=0
sleeper=""
on_exit() {
  local status=$?
  trap - EXIT INT TERM
  [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
  if [ "$keep_running" -ne 1 ]; then
    log ""
    log "==> shutting down"
    stop_services
    stop_postgres
  fi
  rm -f "$pids/run-local.pid"
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "==> certificates ($certs)"
scripts/make-certs.sh "$certs"

log "==> PostgreSQL ($pg_dir, 127.0.0.1:$pg_port)"
admin_url=$(scripts/postgres.sh start "$pg_dir" "$pg_port")

# Service databases: reuse the stored credentials while they still work.
db_env=$run/db.env
declare -A db_url=()
load_db_env() {
  local key value
  db_url=()
  [ -f "$db_env" ] || return 1
  while IFS='=' read -r key value; do
    [ -n "$key" ] && [ -n "$value" ] && db_url[$key]=$value
  done <"$db_env"
  for key in auth campaign stats orders auth_app campaign_app stats_app orders_app; do
    [ -n "${db_url[$key]:-}" ] || return 1
    psql -X -q -At "${db_url[$key]}" -c 'select 1' >/dev/null 2>&1 || return 1
  done
}
if ! load_db_env; then
  log "creating the service databases (credentials in $db_env)"
  (umask 077 && scripts/postgres.sh create-service-dbs "$admin_url" "" >"$db_env.tmp" && mv -f "$db_env.tmp" "$db_env")
  load_db_env || die "the new service databases do not accept connections"
fi
chmod 600 "$db_env"

hash_key_file=$secrets/auth-token-hash-key
if [ ! -s "$hash_key_file" ]; then
  (umask 077 && random_hex 32 >"$hash_key_file")
fi
chmod 600 "$hash_key_file"
# The keys that seal the ad platforms' access tokens (docs/OPERATIONS.md, "Platform token keys").
platform_keys_file=$secrets/platform-token-keys
if [ ! -s "$platform_keys_file" ]; then
  (umask 077 && printf '1:%s\n' "$(openssl rand -base64 32)" >"$platform_keys_file")
fi
chmod 600 "$platform_keys_file"

# start_process NAME VAR=VALUE...: starts one executable in the background with exactly the
# PIXECOM_ variables given (plus the pass-through ones), appending to its log.
passthrough=()
for v in PIXECOM_MODE PIXECOM_LOG_LEVEL PIXECOM_CORS_ORIGINS; do
  [ -z "${!v:-}" ] || passthrough+=("$v=${!v}")
done
start_process() {
  local name=$1 pid
  shift
  rm -f "$ready/$name.json"
  printf '\n==== %s: starting %s ====\n' "$(date -u +%FT%TZ)" "${exe[$name]}" >>"$logs/$name.log"
  (
    for v in $(compgen -e); do
      case "$v" in PIXECOM_*) unset "$v" ;; esac
    done
    # The pass-through variables come last, so that they win over the defaults.
    for assignment in "$@" ${passthrough[@]+"${passthrough[@]}"}; do
      export "${assignment?}"
    done
    exec "$bin/${exe[$name]}"
  ) >>"$logs/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pids/$name.pid"
}

# wait_ready NAME: until the process writes its ready file; fails when it exits first.
wait_ready() {
  local name=$1 pid deadline
  pid=$(cat "$pids/$name.pid")
  deadline=$((SECONDS + start_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -s "$ready/$name.json" ] && jq -e . "$ready/$name.json" >/dev/null 2>&1; then
      log "$name is up: $(jq -c . "$ready/$name.json")"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start; the end of $logs/$name.log:"
      tail -n 40 "$logs/$name.log" >&2 || true
      return 1
    fi
    sleep 0.25
  done
  log "$name did not become ready within ${start_timeout}s; the end of $logs/$name.log:"
  tail -n 40 "$logs/$name.log" >&2 || true
  return 1
}

common_env() {
  local name=$1
  printf '%s\n' \
    "PIXECOM_MODE=development" \
    "PIXECOM_LOG_LEVEL=info" \
    "PIXECOM_RPC_HOST=127.0.0.1" \
    "PIXECOM_ADMIN_PORT=${admin_port[$name]}" \
    "PIXECOM_TLS_CA=$certs/ca.pem" \
    "PIXECOM_TLS_CERT=$certs/$name.pem" \
    "PIXECOM_TLS_KEY=$certs/$name.key" \
    "PIXECOM_READY_FILE=$ready/$name.json"
}
mapfile -t auth_env < <(common_env auth)
mapfile -t campaign_env < <(common_env campaign)
mapfile -t stats_env < <(common_env stats)
mapfile -t orders_env < <(common_env orders)
mapfile -t edge_env < <(common_env edge)
auth_addr=127.0.0.1:${rpc_port[auth]}
campaign_addr=127.0.0.1:${rpc_port[campaign]}
stats_addr=127.0.0.1:${rpc_port[stats]}
orders_addr=127.0.0.1:${rpc_port[orders]}

log "==> starting the services (logs in $logs)"
start_process auth "${auth_env[@]}" \
  "PIXECOM_RPC_PORT=${rpc_port[auth]}" \
  "PIXECOM_DATABASE_URL=${db_url[auth_app]}" \
  "PIXECOM_DATABASE_OWNER_URL=${db_url[auth]}" \
  "PIXECOM_AUTH_TOKEN_HASH_KEY_FILE=$hash_key_file" \
  "PIXECOM_AUTH_DEMO_SEED_FILE=$run/demo.env"
wait_ready auth
start_process campaign "${campaign_env[@]}" \
  "PIXECOM_RPC_PORT=${rpc_port[campaign]}" \
  "PIXECOM_DATABASE_URL=${db_url[campaign_app]}" \
  "PIXECOM_DATABASE_OWNER_URL=${db_url[campaign]}" \
  "PIXECOM_AUTH_ADDRESSES=$auth_addr" \
  "PIXECOM_PLATFORM_TOKEN_KEYS_FILE=$platform_keys_file"
wait_ready campaign
start_process stats "${stats_env[@]}" \
  "PIXECOM_RPC_PORT=${rpc_port[stats]}" \
  "PIXECOM_DATABASE_URL=${db_url[stats_app]}" \
  "PIXECOM_DATABASE_OWNER_URL=${db_url[stats]}" \
  "PIXECOM_AUTH_ADDRESSES=$auth_addr" \
  "PIXECOM_CAMPAIGN_ADDRESSES=$campaign_addr"
wait_ready stats
start_process orders "${orders_env[@]}" \
  "PIXECOM_RPC_PORT=${rpc_port[orders]}" \
  "PIXECOM_DATABASE_URL=${db_url[orders_app]}" \
  "PIXECOM_DATABASE_OWNER_URL=${db_url[orders]}" \
  "PIXECOM_AUTH_ADDRESSES=$auth_addr" \
  "PIXECOM_STATS_ADDRESSES=$stats_addr"
wait_ready orders
start_process edge "${edge_env[@]}" \
  "PIXECOM_HTTP_HOST=127.0.0.1" \
  "PIXECOM_HTTP_PORT=$edge_port" \
  "PIXECOM_HTTP_TLS_CERT=$certs/edge-https.pem" \
  "PIXECOM_HTTP_TLS_KEY=$certs/edge-https.key" \
  "PIXECOM_AUTH_ADDRESSES=$auth_addr" \
  "PIXECOM_CAMPAIGN_ADDRESSES=$campaign_addr" \
  "PIXECOM_STATS_ADDRESSES=$stats_addr" \
  "PIXECOM_ORDERS_ADDRESSES=$orders_addr"
wait_ready edge

# Readiness (database and dependencies checked) can trail the ready file by a moment.
for name in "${names[@]}"; do
  for _ in $(seq 1 40); do
    curl -fsS -o /dev/null "http://127.0.0.1:${admin_port[$name]}/readyz" 2>/dev/null && break
    sleep 0.25
  done || true
  curl -fsS -o /dev/null "http://127.0.0.1:${admin_port[$name]}/readyz" 2>/dev/null \
    || log "warning: $name does not report ready yet (http://127.0.0.1:${admin_port[$name]}/readyz)"
done

# ---------------------------------------------------------------------------------------------
# demo seller and walkthrough

# AuthService created the demo seller on its first start (development mode only), with a random
# e-mail and password, and wrote them to .run/demo.env (mode 0600).
log "==> the demo seller"
if [ -s "$run/demo.env" ]; then
  demo_email=$(sed -n 's/^EMAIL=//p' "$run/demo.env")
  demo_password=$(sed -n 's/^PASSWORD=//p' "$run/demo.env")
  log "demo seller $demo_email (credentials in $run/demo.env)"
else
  demo_email="" demo_password=""
  log "warning: AuthService wrote no demo seller to $run/demo.env; see $logs/auth.log"
fi

# Dates of the demo insights: the last three days (UTC, the demo ad account's time zone), so that
# an order paid today falls inside the stats range.
day() { date -u -d "$1 days ago" +%F 2>/dev/null || date -u -v-"$1"d +%F; }
d1=$(day 2) d2=$(day 1) d3=$(day 0)

walkthrough=$run/walkthrough.sh
cat >"$walkthrough" <<EOF
# PixEcom walkthrough: paste into bash or zsh (or run: bash $walkthrough). Needs curl and jq.
cd '$root'
EDGE=$edge_url
EMAIL='$demo_email'
PASSWORD='$demo_password'

# 1. Log in: an access token (15 minutes) and, in a cookie jar, the HttpOnly refresh-token cookie.
TOKEN=\$(curl -sS --fail-with-body --cacert .run/certs/ca.pem -c .run/cookies.txt \\
  -H 'Content-Type: application/json' \\
  -d "{\"email\":\"\$EMAIL\",\"password\":\"\$PASSWORD\"}" \\
  "\$EDGE/v1/auth/login" | jq -r .accessToken)
echo "access token: \${TOKEN:0:20}..."
api() { curl -sS --fail-with-body --cacert .run/certs/ca.pem -H 'Content-Type: application/json' -H "Authorization: Bearer \$TOKEN" "\$@"; }

# 2. An ad account (money is in minor units of its currency; stats days are in its time zone).
AD_ACCOUNT=\$(api -d '{"name":"Demo ad account","currency":"USD","timeZone":"UTC"}' "\$EDGE/v1/ad-accounts" | jq -r .id)
echo "ad account: \$AD_ACCOUNT"

# 3. A sales campaign with a \$50.00 daily budget.
CAMPAIGN=\$(api -d "{\"adAccountId\":\"\$AD_ACCOUNT\",\"name\":\"Winter sale\",\"objective\":\"OUTCOME_SALES\",\"dailyBudget\":\"5000\"}" "\$EDGE/v1/campaigns" | jq -r .id)
echo "campaign: \$CAMPAIGN"

# 4. An ad set and an ad.
AD_SET=\$(api -d "{\"campaignId\":\"\$CAMPAIGN\",\"name\":\"Broad audience\",\"targeting\":{\"countries\":[\"US\",\"CA\"]}}" "\$EDGE/v1/ad-sets" | jq -r .id)
AD=\$(api -d "{\"adSetId\":\"\$AD_SET\",\"name\":\"Hoodie video\",\"linkUrl\":\"https://shop.example/hoodie\"}" "\$EDGE/v1/ads" | jq -r .id)
echo "ad set: \$AD_SET, ad: \$AD"

# 5. Three days of ad insights (spend in cents; int64 values are JSON strings).
api -d "{\"rows\":[
  {\"date\":\"$d1\",\"adId\":\"\$AD\",\"spend\":\"5000\",\"currency\":\"USD\",\"impressions\":\"10000\",\"clicks\":\"200\"},
  {\"date\":\"$d2\",\"adId\":\"\$AD\",\"spend\":\"4000\",\"currency\":\"USD\",\"impressions\":\"8000\",\"clicks\":\"150\"},
  {\"date\":\"$d3\",\"adId\":\"\$AD\",\"spend\":\"3000\",\"currency\":\"USD\",\"impressions\":\"6000\",\"clicks\":\"120\"}]}" \\
  "\$EDGE/v1/insights" | jq -c .

# 6. An order attributed to the ad (utm.campaign = campaign id, utm.content = ad id), then paid.
#    Sending it again with the same Idempotency-Key returns the same order.
ORDER=\$(api -H "Idempotency-Key: demo-order-\$CAMPAIGN" \\
  -d "{\"currency\":\"USD\",\"lineItems\":[{\"sku\":\"HOODIE-M\",\"title\":\"Hoodie\",\"quantity\":2,\"unitPrice\":\"4500\"}],\"utm\":{\"source\":\"facebook\",\"medium\":\"paid\",\"campaign\":\"\$CAMPAIGN\",\"content\":\"\$AD\"}}" \\
  "\$EDGE/v1/orders" | jq -r .id)
echo "order: \$ORDER"
api -X POST -d '{}' "\$EDGE/v1/orders/\$ORDER/pay" | jq -c '{id, financialStatus, total}'

# 7. Campaign stats: spend, revenue and the ratios (ROAS, CTR, CPC, CPM) computed from the sums.
#    Revenue reaches Stats through an event, so it can take a moment to appear.
sleep 2
api "\$EDGE/v1/campaigns/\$CAMPAIGN/stats?since=$d1&until=$d3" | jq .

# 8. A new access token from the refresh-token cookie (rotated on every use).
curl -sS --fail-with-body --cacert .run/certs/ca.pem -b .run/cookies.txt -c .run/cookies.txt \\
  -H 'X-PixEcom-CSRF: 1' -X POST "\$EDGE/v1/auth/refresh" | jq -c '{expiresIn, sellerId}'
EOF
chmod 600 "$walkthrough"

cat <<EOF

==================================================================================================
PixEcom is running.

  Edge (HTTPS + JSON)   $edge_url      CA certificate: $certs/ca.pem
  RPC (mutual TLS)      auth 127.0.0.1:7001, campaign :7002, stats :7003, orders :7004
  Admin (plain HTTP)    /healthz /readyz /metrics on
                        auth http://127.0.0.1:9001  campaign :9002  stats :9003  orders :9004  edge :9005
  PostgreSQL            127.0.0.1:$pg_port (admin: scripts/postgres.sh psql $pg_dir;
                        service URLs in $db_env)
  Logs                  $logs/<name>.log (JSON lines)

Demo seller
  email     $demo_email
  password  $demo_password

Walkthrough (paste it, or run: bash $walkthrough)
--------------------------------------------------------------------------------------------------
$(cat "$walkthrough")
--------------------------------------------------------------------------------------------------
EOF

if [ "$detach" -eq 1 ]; then
  keep_running=1
  rm -f "$pids/run-local.pid"
  echo "Running in the background. Stop with: scripts/run-local.sh --stop"
  exit 0
fi

echo "Press Ctrl-C to stop everything (or run scripts/run-local.sh --stop elsewhere)."
declare -A reported=()
while :; do
  for name in "${names[@]}"; do
    if [ -z "${reported[$name]:-}" ] && ! live_pid "$name" >/dev/null; then
      log "$name has exited; the end of $logs/$name.log:"
      tail -n 20 "$logs/$name.log" >&2 || true
      reported[$name]=1
    fi
  done
  sleep 5 &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
done

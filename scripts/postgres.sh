#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for tests and local runs (Debian's binaries in
# /usr/lib/postgresql/15/bin, installed with apt-get when missing; PIXECOM_PG_BIN overrides).
#
# Usage:
#   scripts/postgres.sh start DIR PORT      init (once) and start a cluster in DIR listening on
#                                           127.0.0.1:PORT (and a unix socket in DIR); waits until
#                                           it accepts connections; prints the admin URL
#                                           postgres://pixecom_admin:PASS@127.0.0.1:PORT/postgres
#                                           Already running: prints the URL and succeeds.
#   scripts/postgres.sh stop DIR            fast shutdown (succeeds when nothing runs)
#   scripts/postgres.sh destroy DIR         stop, then delete the cluster and DIR
#   scripts/postgres.sh url DIR             print the admin URL
#   scripts/postgres.sh status DIR          print running/stopped (exit 0 when running, 3 when not)
#   scripts/postgres.sh psql DIR [ARGS...]  psql as the admin on the postgres database
#   scripts/postgres.sh create-service-dbs ADMIN_URL [SUFFIX]
#                                           for s in auth campaign stats orders: a LOGIN role and a
#                                           database named s$SUFFIX owned by it, and the runtime
#                                           role s${SUFFIX}_app (owns nothing, no BYPASSRLS), each
#                                           with a new random password; prints
#                                           s=postgres://owner:pass@host:port/db and
#                                           s_app=postgres://s_app:pass@host:port/db (existing
#                                           roles get new passwords; an existing database is kept)
#   scripts/postgres.sh free-port           print a TCP port that is free on 127.0.0.1
#
# Root: initdb and postgres refuse to run as root, so when run as root the cluster belongs to a
# system user `pixecom-pg` (created when missing) and every server command runs as that user
# through `runuser -u`. When that user cannot reach DIR (a parent such as /root is not searchable)
# the cluster itself lives in /var/tmp/pixecom-pg/<hash> and DIR keeps only the bookkeeping.
#
# Files in DIR: admin-password (mode 600, the superuser pixecom_admin's password), cluster.env
# (where the cluster is, its port), data/ (PGDATA), postgres.log, and the unix socket.
# Environment: PIXECOM_PG_FAST=1 turns off fsync (for throwaway test clusters),
# PIXECOM_PG_MAX_CONNECTIONS (default 300).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

admin_role=pixecom_admin
system_user=pixecom-pg
services=(auth campaign stats orders)

usage() { sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

# ---------------------------------------------------------------------------------------------
# helpers

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    port_in_use "$port" || { echo "$port"; return; }
  done
  die "no free port found"
}

check_port() {
  case "$1" in ''|*[!0-9]*) die "PORT must be a number, got '$1'" ;; esac
  [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "PORT must be in 1...65535, got $1"
}

# Runs a command as the cluster's owner ($run_as, empty = the current user), from / so that an
# unreadable working directory does not bother it.
as_owner() {
  if [ -n "$run_as" ]; then
    (cd / && runuser -u "$run_as" -- "$@")
  else
    "$@"
  fi
}

ensure_system_user() {
  id -u "$system_user" >/dev/null 2>&1 && return 0
  log "creating system user $system_user (PostgreSQL does not run as root)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$system_user" 2>/dev/null \
    || id -u "$system_user" >/dev/null 2>&1 \
    || die "could not create system user $system_user"
}

# Makes DIR absolute; loads DIR/cluster.env when it exists.
load_state() {
  [ -n "${1:-}" ] || usage
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)
  state=$dir/cluster.env
  croot="" pgdata="" sockdir="" port="" run_as=""
  if [ -f "$state" ]; then
    # shellcheck disable=SC1090
    source "$state"
  fi
}

save_state() {
  local tmp
  tmp=$(mktemp "$dir/.cluster.env.XXXXXX")
  {
    printf 'croot=%q\n' "$croot"
    printf 'pgdata=%q\n' "$pgdata"
    printf 'sockdir=%q\n' "$sockdir"
    printf 'port=%q\n' "$port"
    printf 'run_as=%q\n' "$run_as"
  } >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$state"
}

pg() { printf '%s/%s' "$pg_bin" "$1"; }

is_running() {
  [ -n "$pgdata" ] && [ -f "$pgdata/PG_VERSION" ] && as_owner "$(pg pg_ctl)" -D "$pgdata" status >/dev/null 2>&1
}

admin_url() {
  [ -f "$dir/admin-password" ] || die "$dir/admin-password is missing (was the cluster started?)"
  [ -n "$port" ] || die "$dir holds no cluster (run: scripts/postgres.sh start $dir PORT)"
  printf 'postgres://%s:%s@127.0.0.1:%s/postgres\n' "$admin_role" "$(cat "$dir/admin-password")" "$port"
}

short_hash() { printf '%s' "$1" | cksum | cut -d' ' -f1; }

# Chooses where the cluster lives (first start only).
choose_layout() {
  croot=$dir
  run_as=""
  if [ "$(id -u)" -eq 0 ]; then
    ensure_system_user
    run_as=$system_user
    chown "$system_user:$system_user" "$dir"
    # 711: the invoking user (root, or a sudo caller) can still reach admin-password and the socket.
    chmod 711 "$dir"
    if ! (cd / && runuser -u "$system_user" -- test -w "$dir" -a -x "$dir"); then
      croot=/var/tmp/pixecom-pg/$(short_hash "$dir")
      log "note: $system_user cannot reach $dir (a parent directory is private); the cluster lives in $croot"
      mkdir -p /var/tmp/pixecom-pg
      chmod 755 /var/tmp/pixecom-pg
      mkdir -p "$croot"
      chown "$system_user:$system_user" "$croot"
      chmod 700 "$croot"
      chown root:root "$dir"
    fi
  fi
  pgdata=$croot/data
  # A unix socket path is limited to about 107 bytes: fall back to a short folder in /tmp.
  sockdir=$croot
  if [ $((${#sockdir} + 20)) -gt 100 ]; then
    sockdir=/tmp/pixecom-pg-$(short_hash "$dir")
    mkdir -p "$sockdir"
    [ -z "$run_as" ] || chown "$run_as:$run_as" "$sockdir"
  fi
  [ -z "$run_as" ] || chmod 755 "$sockdir"
}

# Settings rewritten at every start (the server is stopped then).
write_settings() {
  local conf=$pgdata/pixecom.conf tmp
  tmp=$(mktemp)
  {
    echo "# Written by scripts/postgres.sh at every start; edits are overwritten."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$sockdir'"
    echo "max_connections = ${PIXECOM_PG_MAX_CONNECTIONS:-300}"
    echo "password_encryption = 'scram-sha-256'"
    echo "log_min_messages = warning"
    if [ "${PIXECOM_PG_FAST:-0}" = 1 ]; then
      echo "# PIXECOM_PG_FAST=1: a throwaway cluster; durability traded for speed"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$tmp"
  as_owner tee "$conf" >/dev/null <"$tmp"
  rm -f "$tmp"
}

init_cluster() {
  local pwfile
  if [ ! -f "$dir/admin-password" ]; then
    (umask 077 && random_hex 24 >"$dir/admin-password.tmp" && mv -f "$dir/admin-password.tmp" "$dir/admin-password")
  fi
  chmod 600 "$dir/admin-password"
  if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_UID:-}" ]; then chown "$SUDO_UID" "$dir/admin-password"; fi
  # initdb reads the password from a file its user can read; removed right after.
  pwfile=$croot/.pwfile
  (umask 077 && cat "$dir/admin-password" >"$pwfile")
  if [ -n "$run_as" ]; then chown "$run_as:$run_as" "$pwfile"; fi
  log "initializing a PostgreSQL cluster in $pgdata"
  if ! as_owner "$(pg initdb)" -D "$pgdata" -U "$admin_role" --pwfile="$pwfile" \
      --auth=scram-sha-256 --encoding=UTF8 --no-locale --no-instructions >"$croot/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$croot/initdb.log" >&2
    die "initdb failed"
  fi
  rm -f "$pwfile"
  printf "\n# Settings of scripts/postgres.sh\ninclude_if_exists = 'pixecom.conf'\n" \
    | as_owner tee -a "$pgdata/postgresql.conf" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_start() {
  [ $# -eq 2 ] || usage
  local want_port=$2
  check_port "$want_port"
  load_state "$1"
  pg_bin=$(pg_bin_dir)
  if [ ! -x "$(pg initdb)" ]; then
    ensure_packages postgresql:/usr/lib/postgresql/15/bin/initdb postgresql-client:psql >/dev/null
    pg_bin=$(pg_bin_dir)
  fi
  [ -x "$(pg initdb)" ] || die "PostgreSQL binaries not found in $pg_bin (set PIXECOM_PG_BIN)"

  if [ -n "$run_as" ] && [ "$(id -u)" -ne 0 ]; then
    die "the cluster in $dir belongs to $run_as: run this as root"
  fi

  if is_running; then
    if [ "$port" != "$want_port" ]; then
      log "note: the cluster in $dir is already running on port $port (not $want_port)"
    fi
    admin_url
    return 0
  fi

  if [ -z "$pgdata" ] || [ ! -f "$pgdata/PG_VERSION" ]; then
    if [ -z "$pgdata" ]; then choose_layout; fi
    # A half-made data folder (an initdb that was interrupted) is started over.
    if [ -e "$pgdata" ]; then rm -rf "$pgdata"; fi
    port=$want_port
    save_state
    init_cluster
  fi
  [ -f "$dir/admin-password" ] || die "$dir/admin-password is missing; the cluster's admin password is lost (delete $dir to start over)"
  port=$want_port
  if port_in_use "$port"; then
    die "port $port on 127.0.0.1 is already in use (pick another, e.g. \$(scripts/postgres.sh free-port))"
  fi
  write_settings
  save_state
  if [ -n "$run_as" ]; then touch "$croot/postgres.log" && chown "$run_as:$run_as" "$croot/postgres.log"; fi
  if ! as_owner "$(pg pg_ctl)" -D "$pgdata" -l "$croot/postgres.log" -w -t 60 start >/dev/null; then
    tail -n 30 "$croot/postgres.log" >&2 || true
    die "PostgreSQL did not start (log: $croot/postgres.log)"
  fi
  for _ in $(seq 1 60); do
    if "$(pg pg_isready)" -q -h 127.0.0.1 -p "$port" -t 1 >/dev/null 2>&1; then
      admin_url
      return 0
    fi
    sleep 0.5
  done
  die "PostgreSQL started but is not accepting connections on 127.0.0.1:$port (log: $croot/postgres.log)"
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  [ -d "$1" ] || { log "nothing to stop: $1 does not exist"; return 0; }
  load_state "$1"
  pg_bin=$(pg_bin_dir)
  if ! is_running; then
    log "PostgreSQL in $dir is not running"
    return 0
  fi
  if [ -n "$run_as" ] && [ "$(id -u)" -ne 0 ]; then
    die "the cluster in $dir belongs to $run_as: run this as root"
  fi
  if ! as_owner "$(pg pg_ctl)" -D "$pgdata" -m fast -w -t 60 stop >/dev/null; then
    log "fast shutdown timed out; shutting down immediately"
    as_owner "$(pg pg_ctl)" -D "$pgdata" -m immediate -w -t 30 stop >/dev/null
  fi
  log "PostgreSQL in $dir stopped"
}

cmd_destroy() {
  [ $# -eq 1 ] || usage
  [ -d "$1" ] || return 0
  cmd_stop "$1"
  load_state "$1"
  if [ -n "$croot" ] && [ "$croot" != "$dir" ]; then rm -rf "$croot"; fi
  case "$sockdir" in /tmp/pixecom-pg-*) rm -rf "$sockdir" ;; esac
  rm -rf "$dir"
}

cmd_url() {
  [ $# -eq 1 ] || usage
  [ -f "$1/cluster.env" ] || die "$1 holds no cluster"
  load_state "$1"
  admin_url
}

cmd_status() {
  [ $# -eq 1 ] || usage
  [ -f "$1/cluster.env" ] || { echo stopped; return 3; }
  load_state "$1"
  pg_bin=$(pg_bin_dir)
  if is_running; then echo "running on 127.0.0.1:$port"; else echo stopped; return 3; fi
}

cmd_psql() {
  [ $# -ge 1 ] || usage
  local d=$1
  shift
  [ -f "$d/cluster.env" ] || die "$d holds no cluster"
  load_state "$d"
  exec psql -X "$(admin_url)" "$@"
}

cmd_create_service_dbs() {
  [ $# -ge 1 ] && [ $# -le 2 ] || usage
  local url=$1 suffix=${2:-} rest hostport host dbport s name pw app_pw role_exists db_exists
  [[ $suffix =~ ^[a-z0-9_]*$ ]] || die "SUFFIX may hold only a-z, 0-9 and _ (got '$suffix')"
  [[ $url =~ ^postgres(ql)?:// ]] || die "ADMIN_URL must be a postgres:// URL"
  command -v psql >/dev/null 2>&1 || ensure_packages postgresql-client:psql >/dev/null
  rest=${url#*://}
  hostport=${rest#*@}
  hostport=${hostport%%/*}
  hostport=${hostport%%\?*}
  host=${hostport%:*}
  dbport=${hostport##*:}
  [ "$host" != "$hostport" ] || dbport=5432
  admin_sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" "$@"; }
  for s in "${services[@]}"; do
    name=$s$suffix
    pw=$(random_hex 24)
    role_exists=$(admin_sql -c "SELECT 1 FROM pg_roles WHERE rolname = '$name'")
    db_exists=$(admin_sql -c "SELECT 1 FROM pg_database WHERE datname = '$name'")
    # The password goes through standard input, never the command line (ps shows that).
    if [ "$role_exists" = 1 ]; then
      log "role $name exists: giving it a new password"
      admin_sql >/dev/null <<SQL
ALTER ROLE "$name" WITH LOGIN PASSWORD '$pw';
SQL
    else
      admin_sql >/dev/null <<SQL
CREATE ROLE "$name" WITH LOGIN PASSWORD '$pw';
SQL
    fi
    if [ "$db_exists" != 1 ]; then
      admin_sql -c "CREATE DATABASE \"$name\" OWNER \"$name\" ENCODING 'UTF8' TEMPLATE template0" >/dev/null
    fi
    # Each service reaches only its own database.
    admin_sql -c "REVOKE ALL ON DATABASE \"$name\" FROM PUBLIC" >/dev/null
    printf '%s=postgres://%s:%s@%s:%s/%s\n' "$s" "$name" "$pw" "$host" "$dbport" "$name"
    # The role the service runs as: row-level security binds it (it owns no table and has no
    # BYPASSRLS); the service's migrations grant it its table privileges.
    app_pw=$(random_hex 24)
    if [ "$(admin_sql -c "SELECT 1 FROM pg_roles WHERE rolname = '${name}_app'")" = 1 ]; then
      admin_sql >/dev/null <<SQL
ALTER ROLE "${name}_app" WITH LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$app_pw';
SQL
    else
      admin_sql >/dev/null <<SQL
CREATE ROLE "${name}_app" WITH LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$app_pw';
SQL
    fi
    admin_sql -c "GRANT CONNECT ON DATABASE \"$name\" TO \"${name}_app\"" >/dev/null
    printf '%s_app=postgres://%s_app:%s@%s:%s/%s\n' "$s" "$name" "$app_pw" "$host" "$dbport" "$name"
  done
}

# ---------------------------------------------------------------------------------------------

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  destroy) cmd_destroy "$@" ;;
  url) cmd_url "$@" ;;
  status) cmd_status "$@" ;;
  psql) cmd_psql "$@" ;;
  create-service-dbs) cmd_create_service_dbs "$@" ;;
  free-port) [ $# -eq 0 ] || usage; free_port ;;
  -h|--help|help) usage 0 ;;
  *) log "unknown command: $command"; usage ;;
esac

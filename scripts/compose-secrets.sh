#!/usr/bin/env bash
# Makes the secret files compose/compose.yaml reads, once: random values in compose/secrets/
# (postgres_admin_password, <service>_db_password and <service>_db_app_password for auth campaign
# stats orders, auth_token_hash_key, and platform_token_keys: "1:<base64 of 32 random bytes>"). Existing files are kept; --force replaces them all (then also remove the
# pgdata volume: the database roles keep the passwords they were made with).
#
# Usage: scripts/compose-secrets.sh [--force]
#
# The folder is private (0700); the files are 0644 because compose bind-mounts each one into the
# containers, where the services run as an unprivileged user.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option: $1 (usage: scripts/compose-secrets.sh [--force])" ;;
esac

dir=compose/secrets
mkdir -p "$dir"
chmod 700 "$dir"
made=0
for name in postgres_admin_password auth_db_password campaign_db_password stats_db_password \
  orders_db_password auth_db_app_password campaign_db_app_password stats_db_app_password \
  orders_db_app_password auth_token_hash_key platform_token_keys; do
  file=$dir/$name
  if [ -s "$file" ] && [ "$force" -eq 0 ]; then
    continue
  fi
  # Hex only: safe inside URLs and SQL; the hash key gets 64 characters (>= 32 required).
  case "$name" in
    auth_token_hash_key) value=$(random_hex 32) ;;
    platform_token_keys) value="1:$(openssl rand -base64 32)" ;;
    *) value=$(random_hex 24) ;;
  esac
  (umask 077 && printf '%s\n' "$value" >"$file.tmp")
  chmod 644 "$file.tmp"
  mv -f "$file.tmp" "$file"
  made=$((made + 1))
done
log "compose secrets in $dir: $made new"

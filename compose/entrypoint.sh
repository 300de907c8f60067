#!/bin/sh
# Entrypoint of the PixEcom image: turns secret files into the settings the services read, then
# execs the service (so it is the process that receives SIGTERM).
#
#   PIXECOM_DATABASE_PASSWORD_FILE  a file holding the database password; it is put into
#                                   PIXECOM_DATABASE_URL (postgres://user@host:port/db becomes
#                                   postgres://user:PASSWORD@host:port/db)
#
# (PIXECOM_AUTH_TOKEN_HASH_KEY_FILE needs nothing here: AuthService reads it itself.)
# POSIX sh: the runtime image has no need for bash.
set -eu

if [ -n "${PIXECOM_DATABASE_PASSWORD_FILE:-}" ]; then
  if [ ! -r "$PIXECOM_DATABASE_PASSWORD_FILE" ]; then
    echo "PIXECOM_DATABASE_PASSWORD_FILE: file \"$PIXECOM_DATABASE_PASSWORD_FILE\" is not readable" >&2
    exit 64
  fi
  if [ -z "${PIXECOM_DATABASE_URL:-}" ]; then
    echo "PIXECOM_DATABASE_URL: is required with PIXECOM_DATABASE_PASSWORD_FILE" >&2
    exit 64
  fi
  password=$(tr -d '\r\n' <"$PIXECOM_DATABASE_PASSWORD_FILE")
  case "$password" in
    '' | *[!A-Za-z0-9._~-]*)
      # Only URL-safe characters, so that no percent-encoding is needed.
      echo "PIXECOM_DATABASE_PASSWORD_FILE: the password must be non-empty and hold only A-Z a-z 0-9 . _ ~ -" >&2
      exit 64
      ;;
  esac
  scheme=${PIXECOM_DATABASE_URL%%://*}
  rest=${PIXECOM_DATABASE_URL#*://}
  case "$rest" in
    *@*) ;;
    *) echo "PIXECOM_DATABASE_URL: must name a user (postgres://user@host:port/db)" >&2; exit 64 ;;
  esac
  user=${rest%%@*}
  user=${user%%:*}
  PIXECOM_DATABASE_URL="$scheme://$user:$password@${rest#*@}"
  export PIXECOM_DATABASE_URL
  unset PIXECOM_DATABASE_PASSWORD_FILE password
fi

exec "$@"

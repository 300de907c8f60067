#!/bin/sh
# Entrypoint of the PixEcom image: turns secret files into the settings the services read, then
# execs the service (so it is the process that receives SIGTERM).
#
#   PIXECOM_DATABASE_PASSWORD_FILE        a file holding the runtime role's password; it is put
#                                         into PIXECOM_DATABASE_URL (postgres://user@host:port/db
#                                         becomes postgres://user:PASSWORD@host:port/db)
#   PIXECOM_DATABASE_OWNER_PASSWORD_FILE  the same for the owner, into PIXECOM_DATABASE_OWNER_URL
#
# (PIXECOM_AUTH_TOKEN_HASH_KEY_FILE needs nothing here: AuthService reads it itself.)
# POSIX sh: the runtime image has no need for bash.
set -eu

# inject_password URL_VARIABLE FILE_VARIABLE: puts the password in the file named by
# FILE_VARIABLE into the URL in URL_VARIABLE, then unsets FILE_VARIABLE.
inject_password() {
  url_var=$1 file_var=$2
  eval "file=\${$file_var:-}"
  [ -n "$file" ] || return 0
  if [ ! -r "$file" ]; then
    echo "$file_var: file \"$file\" is not readable" >&2
    exit 64
  fi
  eval "url=\${$url_var:-}"
  if [ -z "$url" ]; then
    echo "$url_var: is required with $file_var" >&2
    exit 64
  fi
  password=$(tr -d '\r\n' <"$file")
  case "$password" in
    '' | *[!A-Za-z0-9._~-]*)
      # Only URL-safe characters, so that no percent-encoding is needed.
      echo "$file_var: the password must be non-empty and hold only A-Z a-z 0-9 . _ ~ -" >&2
      exit 64
      ;;
  esac
  scheme=${url%%://*}
  rest=${url#*://}
  case "$rest" in
    *@*) ;;
    *) echo "$url_var: must name a user (postgres://user@host:port/db)" >&2; exit 64 ;;
  esac
  user=${rest%%@*}
  user=${user%%:*}
  eval "$url_var=\"\$scheme://\$user:\$password@\${rest#*@}\""
  export "${url_var?}"
  unset "$file_var" password url file
}

inject_password PIXECOM_DATABASE_URL PIXECOM_DATABASE_PASSWORD_FILE
inject_password PIXECOM_DATABASE_OWNER_URL PIXECOM_DATABASE_OWNER_PASSWORD_FILE

exec "$@"

#!/usr/bin/env bash
# PostgreSQL init script (run once, by the postgres image, on an empty data volume): for each
# service (auth, campaign, stats, orders) a LOGIN role owning one database (password from the
# compose secret <service>_db_password; the service applies its migrations as it) and the role
# the service runs as, <service>_app (secret <service>_db_app_password): it owns nothing, cannot
# bypass row-level security and gets its table privileges from the migrations. Every service
# reaches only its own database (CONNECT is revoked from PUBLIC).
#
# The postgres image runs *.sh files in /docker-entrypoint-initdb.d when they are executable and
# sources them otherwise; the work happens in a subshell so that, sourced or not, the shell
# options set here never leak into the image's entrypoint.
# Environment: POSTGRES_USER (set by the image), PIXECOM_SECRETS_DIR (default /run/secrets).

pixecom_create_service_dbs() (
  set -euo pipefail
  secrets_dir=${PIXECOM_SECRETS_DIR:-/run/secrets}
  for service in auth campaign stats orders; do
    password_file=$secrets_dir/${service}_db_password
    if [ ! -r "$password_file" ]; then
      echo "10-service-dbs.sh: secret $password_file is missing or unreadable" >&2
      exit 1
    fi
    password=$(tr -d '\r\n' <"$password_file")
    app_password_file=$secrets_dir/${service}_db_app_password
    if [ ! -r "$app_password_file" ]; then
      echo "10-service-dbs.sh: secret $app_password_file is missing or unreadable" >&2
      exit 1
    fi
    app_password=$(tr -d '\r\n' <"$app_password_file")
    if [ -z "$password" ] || [ -z "$app_password" ]; then
      echo "10-service-dbs.sh: secret $password_file or $app_password_file is empty" >&2
      exit 1
    fi
    echo "10-service-dbs.sh: role and database \"$service\""
    # psql variables quote the values (:'name' is a literal, %I/%L in format() quote again).
    psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}" --dbname postgres \
      --set=role="$service" --set=password="$password" \
      --set=app_role="${service}_app" --set=app_password="$app_password" <<'SQL'
SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'role', :'role', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'role') \gexec
SELECT format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'app_role', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'app_role', :'app_password') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'role', :'app_role') \gexec
SQL
  done
)

pixecom_create_service_dbs

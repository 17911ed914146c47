#!/usr/bin/env bash
# One database per service, owned by a role of its own that nobody else's role can connect to.
#
# Run once by the postgres image on first start (/docker-entrypoint-initdb.d, as the postgres
# user, psql reaching the server through its socket with PGPASSWORD set by the image). For each
# service: a role named after it, with the password in POSTGRES_<SERVICE>_PASSWORD (compose gives
# POSTGRES_<SERVICE>_PASSWORD_FILE; infra/entrypoint.sh reads the file, and the image unsets every
# POSTGRES_* variable before the server starts); a database of the same name owned by that role;
# CONNECT and TEMP revoked from PUBLIC on it, so only its owner (and the superuser) get in. The
# roles are not superusers and cannot create roles or databases.
#
# tests/integration/test_postgres_roles.py runs this same script against another server:
# SERVICE_DATABASES (default: the five services) and SERVICE_DATABASE_PREFIX (default empty)
# name the roles and databases; psql's PGHOST, PGPORT and PGPASSWORD say where; POSTGRES_USER is
# the superuser (default postgres).

create_service_databases() (
    set -euo pipefail
    local service role password_variable
    for service in ${SERVICE_DATABASES:-initiatives meetings letters_of_intent evaluations audit}; do
        password_variable="POSTGRES_${service^^}_PASSWORD"
        if [[ -z ${!password_variable:-} ]]; then
            echo "postgres-init: $password_variable (or ${password_variable}_FILE) is not set" >&2
            exit 1
        fi
    done
    for service in ${SERVICE_DATABASES:-initiatives meetings letters_of_intent evaluations audit}; do
        role="${SERVICE_DATABASE_PREFIX:-}${service}"
        password_variable="POSTGRES_${service^^}_PASSWORD"
        # The password goes from the environment into psql (\getenv), never onto a command line.
        psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --quiet \
            --username "${POSTGRES_USER:-postgres}" --dbname postgres \
            --set role="$role" --set password_variable="$password_variable" <<'SQL'
\getenv password :password_variable
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
        echo "postgres-init: role and database $role created"
    done
)

# A subshell function: when the image sources this file (not executable), nothing leaks into it.
create_service_databases

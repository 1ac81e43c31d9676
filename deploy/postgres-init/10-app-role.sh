#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialized (docker-compose.yml mounts this
# folder on /docker-entrypoint-initdb.d). POSTGRES_USER owns the database and runs migrations;
# the role created here is the one web, worker and beat connect as. Its privileges are granted
# by deploy/db_privileges.py after each migrate, so it never owns a table.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$(cat /run/secrets/db_app_password)" <<'SQL'
CREATE ROLE peerlearning_app LOGIN PASSWORD :'app_password';
SQL

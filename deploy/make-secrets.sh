#!/bin/sh
# Create the secret files docker-compose.yml mounts under /run/secrets/, once, in ./secrets/.
# Existing files are kept, so running it again changes nothing. See docs/deployment.md.
set -eu
cd "$(dirname "$0")/.."
# The folder is closed to other users of the host; the files inside stay world-readable,
# because Compose bind-mounts them as they are, and the containers read them as their own
# non-root users (peerlearning, postgres).
mkdir -p secrets
chmod 700 secrets
umask 022

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
keep_or_write() {
    if [ ! -s "secrets/$1" ]; then
        printf '%s\n' "$2" >"secrets/$1"
        echo "wrote secrets/$1"
    fi
}

keep_or_write secret_key "$(random)"
keep_or_write anonymizer_secret "$(random)"
keep_or_write db_owner_password "$(random)"
keep_or_write db_app_password "$(random)"
# The URLs repeat the passwords above (token_urlsafe needs no URL escaping).
keep_or_write migrate_database_url \
    "postgres://peerlearning_owner:$(cat secrets/db_owner_password)@db:5432/peerlearning"
keep_or_write database_url \
    "postgres://peerlearning_app:$(cat secrets/db_app_password)@db:5432/peerlearning"

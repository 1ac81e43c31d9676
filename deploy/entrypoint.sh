#!/bin/sh
# Entrypoint of the Docker image: `web`, `worker`, `beat`, or any command (e.g. `python
# manage.py createsuperuser`). See docs/deployment.md.
set -eu

# An empty variable means "use the default", as in docs/configuration.md: an env_file copied
# from .env.example has many, and settings.py would take them as empty values.
for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=$/\1/p'); do
    unset "$name"
done

# Container secrets: DATABASE_URL_FILE=/run/secrets/database_url and the like. settings.py
# reads SECRET_KEY_FILE, OIDC_CLIENT_SECRET_FILE and ANONYMIZER_SECRET_FILE itself; these URLs
# carry passwords too, so they get the same treatment here.
for name in DATABASE_URL MIGRATE_DATABASE_URL REDIS_URL CELERY_BROKER_URL EMAIL_URL; do
    eval "file=\${${name}_FILE:-}"
    if [ -n "$file" ]; then
        value=$(cat "$file")
        export "$name=$value"
        unset "${name}_FILE"
    fi
done

case "${1:-web}" in
    web)
        if [ "${MIGRATE_ON_START:-1}" = 1 ]; then
            # Migrations run as the owner role when there is one; the server runs as the app role.
            DATABASE_URL="${MIGRATE_DATABASE_URL:-$DATABASE_URL}" python manage.py migrate --noinput
            if [ -n "${MIGRATE_DATABASE_URL:-}" ]; then
                python deploy/db_privileges.py
            fi
        fi
        exec gunicorn --config deploy/gunicorn.conf.py peerlearning.wsgi
        ;;
    worker)
        exec celery -A peerlearning worker --loglevel="${LOG_LEVEL:-INFO}" \
            --concurrency="${CELERY_WORKER_CONCURRENCY:-2}" --hostname="worker@%h"
        ;;
    beat)
        # Exactly one beat per deployment, or every periodic task runs twice.
        exec celery -A peerlearning beat --loglevel="${LOG_LEVEL:-INFO}" \
            --scheduler=django_celery_beat.schedulers:DatabaseScheduler
        ;;
    hl7)
        # The HL7 v2 results listener (MLLP). Behind the hospital's interface engine only.
        exec python manage.py hl7_listen --host "${HL7_LISTEN_HOST:-0.0.0.0}" \
            --port "${HL7_LISTEN_PORT:-2575}"
        ;;
    *)
        exec "$@"
        ;;
esac

#!/usr/bin/env bash
# Start the production stack by hand: gunicorn (web), one Celery worker and one Celery beat,
# against PostgreSQL and Redis. The same processes the Docker image and the systemd units run,
# for a host without either, and for tests/deploy/test_stack_by_hand.py.
#
#   DATABASE_URL=postgres://... REDIS_URL=redis://... SECRET_KEY=... deploy/run-stack.sh
#
# Before starting it applies migrations (as MIGRATE_DATABASE_URL when set, see
# docs/deployment.md) and collects static files, unless SKIP_MIGRATE=1 / SKIP_COLLECTSTATIC=1.
# With LOG_DIR set, each process writes LOG_DIR/{web,worker,beat}.log instead of the terminal.
# Ctrl-C or SIGTERM stops all three; so does any one of them exiting.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN="${VENV_BIN:-.venv/bin}"
# Log lines as they happen, not when a buffer fills.
export PYTHONUNBUFFERED=1

case "${DATABASE_URL:-}" in
    postgres://* | postgresql://* | pgsql://*) ;;
    *) echo "run-stack.sh: DATABASE_URL must point at PostgreSQL" >&2; exit 2 ;;
esac
if [[ -z "${REDIS_URL:-}" ]]; then
    echo "run-stack.sh: REDIS_URL must be set (the Celery broker and the cache)" >&2
    exit 2
fi

if [[ "${SKIP_MIGRATE:-0}" != 1 ]]; then
    DATABASE_URL="${MIGRATE_DATABASE_URL:-$DATABASE_URL}" "$BIN/python" manage.py migrate --noinput
    if [[ -n "${MIGRATE_DATABASE_URL:-}" ]]; then
        "$BIN/python" deploy/db_privileges.py
    fi
fi
if [[ "${SKIP_COLLECTSTATIC:-0}" != 1 ]]; then
    "$BIN/python" manage.py collectstatic --noinput --verbosity 0
fi

pids=()
start() {
    local name=$1
    shift
    if [[ -n "${LOG_DIR:-}" ]]; then
        "$@" >>"$LOG_DIR/$name.log" 2>&1 &
    else
        "$@" &
    fi
    pids+=("$!")
}

# shellcheck disable=SC2317  # called from the traps below
stop() {
    trap - EXIT INT TERM
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT
trap stop EXIT

if [[ -n "${LOG_DIR:-}" ]]; then
    mkdir -p "$LOG_DIR"
fi
start web "$BIN/gunicorn" --config deploy/gunicorn.conf.py peerlearning.wsgi
start worker "$BIN/celery" -A peerlearning worker --loglevel="${LOG_LEVEL:-INFO}" \
    --concurrency="${CELERY_WORKER_CONCURRENCY:-2}" --hostname="worker@%h"
# Exactly one beat per deployment, or every periodic task runs twice.
start beat "$BIN/celery" -A peerlearning beat --loglevel="${LOG_LEVEL:-INFO}" \
    --scheduler=django_celery_beat.schedulers:DatabaseScheduler

set +e
wait -n "${pids[@]}"
status=$?
echo "run-stack.sh: a process exited with status $status; stopping the others" >&2
# The stack is incomplete either way: never report success.
exit $((status == 0 ? 1 : status))

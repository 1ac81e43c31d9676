#!/usr/bin/env bash
# Every benchmark of the project, one after the other, then one summary (docs/performance.md).
#
#   bench/run_all.sh                          # all of them: about 15 minutes on 2 cores
#   BENCH_ONLY="http anonymize" bench/run_all.sh
#
# Needs PostgreSQL and Redis on loopback (as CI starts them) and wrk (apt-get install wrk).
# Each bench gets a database of its own on BENCH_PG, dropped afterwards (BENCH_KEEP=1 keeps
# them); the HTTP bench keeps pl_bench, which `bench/http/run.py --reuse` can use again.
# Output: var/bench/logs/<bench>.log, and var/bench/summary.md with every figure.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
ONLY=${BENCH_ONLY:-http reminders tat anonymize queue reports}
LOGS=var/bench/logs
mkdir -p "$LOGS"

# Production-like settings for the app benches (the HTTP bench sets its own): DEBUG off, so
# Django does not keep every query in memory.
export DEBUG=0 SECRET_KEY=bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz
# Plain HTTP: the test client would otherwise be redirected to https.
export SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
export PYTHONDONTWRITEBYTECODE=1 LOG_LEVEL=WARNING
# With DEBUG off, pages need the collected static files' manifest: the HTTP bench collects
# them into var/bench/static; without it, collect them here.
export STATIC_ROOT=$PWD/var/bench/static

wanted() { [[ " $ONLY " == *" $1 "* ]]; }

database() { # database <name> drop|create
    local admin="${PG}/postgres"
    psql "$admin" -q -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
    if [[ $2 == create ]]; then psql "$admin" -q -c "CREATE DATABASE \"$1\"" >/dev/null; fi
}

status=0
run() { # run <name> <command...>: output to the log, time and load averages on its first lines
    local name=$1
    shift
    echo "== $name: $*"
    {
        echo "# started $(date -Iseconds); load average $(cut -d' ' -f1-3 /proc/loadavg)"
        local began=$SECONDS
        "$@"
        local code=$?
        echo "# finished in $((SECONDS - began)) s with status $code; load average" \
            "$(cut -d' ' -f1-3 /proc/loadavg)"
        exit $code
    } 2>&1 | tee "$LOGS/$name.log"
    local code=${PIPESTATUS[0]}
    if ((code != 0)); then
        echo "!! $name failed (status $code); see $LOGS/$name.log"
        status=1
    fi
}

if wanted http; then
    run http "$PY" bench/http/run.py ${BENCH_HTTP_ARGS:-}
else
    "$PY" manage.py collectstatic --noinput -v0
fi
if wanted reminders; then
    database pl_bench_reminders drop
    DATABASE_URL="$PG/pl_bench_reminders" run reminders "$PY" bench/reminders/run.py
    [[ -n ${BENCH_KEEP:-} ]] || database pl_bench_reminders drop
fi
if wanted tat; then
    # PostgreSQL, as deployed; BENCH_TAT_DB=both adds SQLite (twice as long).
    DATABASE_URL="$PG/pl_bench_tat" run tat "$PY" bench/tat/run.py --db "${BENCH_TAT_DB:-postgres}"
    [[ -n ${BENCH_KEEP:-} ]] || database pl_bench_tat drop
fi
if wanted anonymize; then
    if ! "$PY" -c "import dicognito" 2>/dev/null; then
        echo "dicognito is missing: $PY -m pip install dicognito (the comparison is skipped)"
    fi
    run anonymize "$PY" bench/anonymize/run.py --json var/bench/anonymize.json
fi
if wanted queue; then
    DATABASE_URL="$PG/pl_bench_queue" run queue "$PY" bench/queue/run.py
    [[ -n ${BENCH_KEEP:-} ]] || database pl_bench_queue drop
fi
if wanted reports; then
    if [[ -f bench/reports/run.py ]]; then
        database pl_bench_reports create
        DATABASE_URL="$PG/pl_bench_reports" run reports "$PY" bench/reports/run.py
        [[ -n ${BENCH_KEEP:-} ]] || database pl_bench_reports drop
    else
        echo "== reports: bench/reports/run.py does not exist yet"
    fi
fi

"$PY" bench/http/summary.py --logs "$LOGS" --out var/bench/summary.md
exit $status

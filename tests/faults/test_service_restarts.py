"""Redis, and separately PostgreSQL, restarted while radiologists submit cases.

gunicorn serves the app on a database of the drill's own; four clients POST submissions to
the API without pause, each with its own accession number. Two seconds in, the service is
stopped, stays down for three seconds and comes back. The app must answer again within
seconds of the service's return, and every submission that got a success answer must be in
the database, with the e-mail to its reader owed in the outbox.

The service that goes down is a private one (a redis-server, or a PostgreSQL cluster made
with initdb), never the machine's shared servers, which other tests are using.
PostgreSQL is stopped in `immediate` mode, a crash: what it acknowledged must survive it.
"""

import re
import threading
import time
from dataclasses import dataclass, field

import psycopg
import pytest

from peerlearning.testing import PASSWORD
from tests.faults.harness import (
    Database,
    Gunicorn,
    action,
    app_env,
    http_post_json,
    http_status,
    libpq,
    manage,
    sign_in_status,
    wait_until,
    with_db,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

CLIENTS = 4
BEFORE, DOWN, AFTER = 2.0, 3.0, 4.0  # seconds of load before, during and after the outage
RECOVERY_GOAL = 5.0  # seconds from the service's return to the app's first success


@dataclass
class Answer:
    accession: str
    sent: float
    done: float
    status: int | None


@dataclass
class Load:
    """Clients POSTing submissions until stopped; every answer kept."""

    url: str
    token: str
    body: dict
    tag: str
    answers: list[Answer] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def client(self, number: int) -> None:
        sent_count = 0
        while not self.stopping.is_set():
            sent_count += 1
            accession = f"DRILL{self.tag}C{number}N{sent_count:05d}"
            sent = time.monotonic()
            status = http_post_json(
                self.url, {**self.body, "accession_number": accession}, token=self.token
            )
            self.answers.append(Answer(accession, sent, time.monotonic(), status))
            if status != 201:
                time.sleep(0.05)  # a client retrying, not a tight loop

    def __enter__(self):
        self.threads = [
            threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(CLIENTS)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def submission_body(setup: dict) -> dict:
    return {
        "section": setup["section"],
        "reason": "discrepancy",
        "reason_detail": "perceptual",
        "description": "A small subdural hematoma was not reported (drill).",
        "learning_point": "Review the vertex on coronal images.",
        "original_reader_email": setup["reader"],
        "required_actions": ["addendum"],
        "urgency": "routine",
        "attestation": True,
    }


def drive(gunicorn: Gunicorn, setup: dict, tag: str, stop, start) -> dict:
    """Load, outage, return; the figures of the run."""
    url = f"{gunicorn.base}/api/v1/submissions/"
    with Load(url, setup["token"], submission_body(setup), tag) as load:
        time.sleep(BEFORE)
        down_at = time.monotonic()
        stop()
        # What else people meet while the service is away: the health check and signing in.
        time.sleep(0.5)
        outage = {
            "healthz": http_status(f"{gunicorn.base}/healthz"),
            "sign_in": sign_in_status(gunicorn.base, setup["radiologist"], PASSWORD),
        }
        time.sleep(max(0.0, DOWN - (time.monotonic() - down_at)))
        start()
        back_at = time.monotonic()
        wait_until(
            lambda: any(a.sent >= back_at and a.status == 201 for a in load.answers),
            timeout=30,
            what="a success after the service returned",
        )
        time.sleep(AFTER)
    answers = load.answers
    first_after = min(a.done for a in answers if a.sent >= back_at and a.status == 201)
    statuses: dict = {}
    for answer in answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    return {
        "outage": outage,
        "after": {
            "healthz": http_status(f"{gunicorn.base}/healthz"),
            "sign_in": sign_in_status(gunicorn.base, setup["radiologist"], PASSWORD),
        },
        "answers": answers,
        "ok": [a.accession for a in answers if a.status == 201],
        "failed": [a.accession for a in answers if a.status != 201],
        "recovery": first_after - back_at,
        "during": [a for a in answers if a.sent >= down_at and a.done <= back_at],
        "errors_after_return": sum(1 for a in answers if a.sent >= back_at and a.status != 201),
        "slowest_during_ms": max(
            [(a.done - a.sent) * 1000 for a in answers if down_at <= a.sent <= back_at] or [0]
        ),
        "statuses": statuses,
    }


def check_and_report(name: str, figures: dict, db: Database, gunicorn: Gunicorn) -> None:
    ok, failed = figures["ok"], figures["failed"]
    stored = db.scalar(
        "SELECT count(*) FROM submissions_submission WHERE accession_number = ANY(%s)", ok
    )
    stored_failed = db.scalar(
        "SELECT count(*) FROM submissions_submission WHERE accession_number = ANY(%s)", failed
    )
    owed = db.scalar(
        "SELECT count(*) FROM peerlearning_outboundemail e JOIN submissions_submission s "
        "ON e.key = 'feedback:' || s.id || ':reader' WHERE s.accession_number = ANY(%s)",
        ok,
    )
    leaked = [a for a in ok + failed if re.search(re.escape(a), gunicorn.output(), re.I)]
    print(
        f"\nDRILL restart-{name}: {len(figures['answers'])} POSTs, {len(ok)} answered 201, "
        f"all {stored} in the database with {owed} reader e-mails owed; "
        f"{len(figures['during'])} answered while {name} was down "
        f"(statuses over the run: {figures['statuses']}; the slowest answer sent during the "
        f"outage took {figures['slowest_during_ms']:.0f} ms); {stored_failed} of the "
        f"{len(failed)} refused ones were stored anyway; first success "
        f"{figures['recovery']:.2f} s after {name} returned; "
        f"{figures['errors_after_return']} errors after its return; while it was down "
        f"/healthz answered {figures['outage']['healthz']} and signing in "
        f"{figures['outage']['sign_in']}, after its return {figures['after']['healthz']} "
        f"and {figures['after']['sign_in']}"
    )
    assert stored == len(ok), "a submission answered 201 is missing from the database"
    assert owed == len(ok), "a stored submission owes no e-mail to its reader"
    assert figures["recovery"] < RECOVERY_GOAL
    assert not leaked, "an accession number reached the web server's log"
    assert figures["outage"]["healthz"] == 503, "the health check should report the outage"
    assert figures["after"] == {"healthz": 200, "sign_in": 302}


def test_redis_restarting_under_load_loses_no_acknowledged_submission(
    scratch_database, private_redis, static_root, tmp_path, run
):
    env = app_env(
        database_url=scratch_database,
        redis_url=private_redis.url(0),
        home=tmp_path,
        STATIC_ROOT=static_root,
    )
    setup = action(env, "submission_setup")
    gunicorn = run(Gunicorn(env, tmp_path / "gunicorn.log"))
    gunicorn.wait_ready()
    db = Database(scratch_database)
    try:
        figures = drive(gunicorn, setup, "R", private_redis.stop, private_redis.start)
        check_and_report("redis", figures, db, gunicorn)
        # The cache falls back to memory (peerlearning/lib/cache.py): people still sign in.
        assert figures["outage"]["sign_in"] == 302
    finally:
        db.close()


def test_postgresql_crashing_under_load_loses_no_acknowledged_submission(
    private_postgres, drill_redis_url, static_root, tmp_path, run
):
    database_url = with_db(private_postgres.url, "pl_drill")
    with psycopg.connect(libpq(private_postgres.url), autocommit=True) as admin:
        admin.execute("CREATE DATABASE pl_drill")
    env = app_env(
        database_url=database_url,
        redis_url=drill_redis_url,
        home=tmp_path,
        STATIC_ROOT=static_root,
    )
    manage(env, "migrate", "--noinput", "-v0")
    setup = action(env, "submission_setup")
    gunicorn = run(Gunicorn(env, tmp_path / "gunicorn.log"))
    gunicorn.wait_ready()
    figures = drive(
        gunicorn,
        setup,
        "P",
        lambda: private_postgres.stop("immediate"),
        private_postgres.start,
    )
    db = Database(database_url)
    try:
        check_and_report("postgresql", figures, db, gunicorn)
        recovered = "database system was not properly shut down" in private_postgres.log()
        assert recovered, "PostgreSQL should have run crash recovery"
    finally:
        db.close()

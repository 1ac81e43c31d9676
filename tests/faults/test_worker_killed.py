"""A Celery worker SIGKILLed halfway through the mid-month reminder, then started again:
every radiologist still gets their reminder at a real SMTP server, once; only the message
the worker was handing to the SMTP server when it died may go out a second time (the
outbox's guarantee: zero lost, at most one duplicate).

Two moments of death, because they recover by different paths (docs/reliability.md):

- while the batch is being *written* to the outbox: the task was not acknowledged (acks
  late), so Redis hands it out again once the visibility timeout has passed, and the re-run
  owes only the people whose row is missing;
- while the e-mails are being *delivered*: the queued deliveries wait in Redis for the new
  worker, and the one e-mail the dead worker had claimed waits for its claim to lapse, then
  the outbox sweeper sends it.

The drill shortens what production leaves long, and says so: the visibility timeout (10 s
instead of 35 min), kombu's sweep for unacknowledged messages (1 s instead of 100 s), the
sweeper's schedule (5 s instead of 60 s) and the lapse of the dead worker's claim (moved to
now instead of waiting 5 min).
"""

import collections
import time

import pytest

from tests.faults.harness import (
    Database,
    action,
    app_env,
    celery_beat,
    celery_worker,
    log_lines,
    send_task,
    wait_until,
    worker_ready,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PEOPLE = 1000  # five batches of 200 rows, so a kill lands between two commits
VISIBILITY_TIMEOUT = 10
SWEEP = 5  # seconds between the outbox sweeper's runs (production: 60)
REMINDERS = "SELECT count(*) FROM peerlearning_outboundemail WHERE key LIKE 'reminder:%%'"
SENT = REMINDERS + " AND status = 'sent'"


def swept(worker) -> int:
    """E-mails the outbox sweeper sent, from the worker's log of its results."""
    return sum(
        int(line.rsplit(":", 1)[1])
        for line in log_lines(worker, "send_due_emails[")
        if "succeeded" in line
    )


def per_address(sink) -> collections.Counter:
    return collections.Counter(message["To"] for message in sink.messages)


def drill_env(scratch_database, drill_redis_url, smtp, tmp_path):
    return app_env(
        database_url=scratch_database,
        redis_url=drill_redis_url,
        home=tmp_path,
        email_url=f"smtp://127.0.0.1:{smtp.port}",
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        DRILL_RESTORE_INTERVAL="1",
    )


def start_worker(run, env, tmp_path, name):
    worker = run(
        celery_worker(
            env,
            tmp_path / f"{name}.log",
            concurrency=2,
            app="tests.faults.drill_celery",
            name=name,
        )
    )
    wait_until(lambda: worker_ready(worker), timeout=30, what=f"{name} ready")
    return worker


def test_a_worker_killed_while_writing_the_batch_is_completed_by_redelivery(
    scratch_database, drill_redis_url, smtp, tmp_path, run
):
    env = drill_env(scratch_database, drill_redis_url, smtp, tmp_path)
    action(env, "reminder_section", people=PEOPLE)
    action(env, "periodic_every", name_contains="outbox sweeper", seconds=SWEEP)
    db = Database(scratch_database)
    first = start_worker(run, env, tmp_path, "first")
    try:
        send_task(drill_redis_url, "reporting.tasks.send_due_reminders")
        # The first batch of 200 is committed; the others are still to be written.
        wait_until(lambda: db.scalar(REMINDERS) >= 200, timeout=30, every=0.01, what="a batch")
        first.kill()
        killed = time.monotonic()
        written = db.scalar(REMINDERS)
        assert 0 < written < PEOPLE, "the kill must land inside the batch"
        second = start_worker(run, env, tmp_path, "second")
        restarted = time.monotonic()
        run(celery_beat(env, tmp_path / "beat.log", workdir=tmp_path / "beat"))
        wait_until(lambda: db.scalar(REMINDERS) == PEOPLE, timeout=40, what="the batch")
        rewritten = time.monotonic()
        wait_until(lambda: db.scalar(SENT) == PEOPLE, timeout=40, what="every row sent")
        delivered = time.monotonic()
        time.sleep(1)  # anything sent twice would arrive now
        second.stop()

        counts = per_address(smtp)
        assert len(counts) == PEOPLE, "someone received no reminder"
        # The other pool process may have been sending a reminder at the kill: at most that
        # one goes out twice (see the delivering drill).
        duplicates = sum(n - 1 for n in counts.values())
        assert duplicates <= 1
        assert db.scalar(SENT) == PEOPLE
        assert (
            db.scalar("SELECT count(*) FROM reporting_reminderrun WHERE finished_at IS NOT NULL")
            == 1
        )
        # Nothing but the re-delivered message ran the batch again (no beat entry for it).
        assert len(log_lines(second, "send_due_reminders[")) >= 1
        print(
            f"\nDRILL worker-killed-writing: {written} of {PEOPLE} rows written at the kill; "
            f"worker back after {restarted - killed:.1f} s; batch completed by the re-delivered "
            f"task {rewritten - killed:.1f} s after the kill (visibility timeout "
            f"{VISIBILITY_TIMEOUT} s); all {PEOPLE} sent {delivered - killed:.1f} s after the "
            f"kill, {swept(second)} of them by the sweeper (every {SWEEP} s); "
            f"duplicates {duplicates}"
        )
    finally:
        db.close()


def test_a_worker_killed_while_delivering_loses_no_email_and_sends_none_twice(
    scratch_database, drill_redis_url, smtp, tmp_path, run
):
    env = drill_env(scratch_database, drill_redis_url, smtp, tmp_path)
    action(env, "reminder_section", people=PEOPLE)
    action(env, "periodic_every", name_contains="outbox sweeper", seconds=SWEEP)
    db = Database(scratch_database)
    first = start_worker(run, env, tmp_path, "first")
    try:
        send_task(drill_redis_url, "reporting.tasks.send_due_reminders")
        wait_until(
            lambda: len(smtp.messages) >= PEOPLE // 2, timeout=60, every=0.01, what="half sent"
        )
        first.kill()
        killed = time.monotonic()
        sent_at_kill = len(smtp.messages)
        assert sent_at_kill < PEOPLE, "the kill must land inside the deliveries"
        # What the dead worker had claimed: its claim would lapse after 5 minutes (the
        # outbox's lease); the drill moves it to now instead of waiting.
        claimed = [
            row[0]
            for row in db.rows(
                "SELECT id FROM peerlearning_outboundemail WHERE key LIKE 'reminder:%%' "
                "AND status = 'pending' AND claimed_until > now()"
            )
        ]
        in_flight = {
            row[0]
            for row in db.rows(
                'SELECT "to" FROM peerlearning_outboundemail WHERE id = ANY(%s)', claimed
            )
        }
        db.scalar(
            "WITH lapsed AS (UPDATE peerlearning_outboundemail SET claimed_until = now() "
            "WHERE id = ANY(%s) RETURNING 1) SELECT count(*) FROM lapsed",
            claimed,
        )
        second = start_worker(run, env, tmp_path, "second")
        restarted = time.monotonic()
        run(celery_beat(env, tmp_path / "beat.log", workdir=tmp_path / "beat"))
        wait_until(lambda: db.scalar(SENT) == PEOPLE, timeout=40, what="every row sent")
        delivered = time.monotonic()
        time.sleep(1)
        second.stop()

        counts = per_address(smtp)
        assert len(counts) == PEOPLE, "someone received no reminder"
        duplicates = sum(n - 1 for n in counts.values())
        # The outbox's honest guarantee: a worker killed after the SMTP server accepted a
        # message and before the row was marked sent causes one duplicate of that message,
        # never a loss. With two child processes, up to two messages are in flight.
        assert {address for address, n in counts.items() if n > 1} <= in_flight
        assert all(n <= 2 for n in counts.values())
        by_sweeper = swept(second)
        print(
            f"\nDRILL worker-killed-delivering: {sent_at_kill} of {PEOPLE} sent at the kill, "
            f"{len(claimed)} claimed by the dead worker (claim moved to now); "
            f"worker back after {restarted - killed:.1f} s; all {PEOPLE} sent "
            f"{delivered - killed:.1f} s after the kill; {by_sweeper} sent by the sweeper; "
            f"duplicates {duplicates}"
        )
    finally:
        db.close()

"""Two Celery beat processes started by mistake: each radiologist still gets one reminder.

Both beats read the same schedule from the database and both send every due task, so the
hourly reminder job runs twice each time, and the two runs race in a worker with two
processes. What keeps it to one e-mail each is the outbox's unique key per person and month
(`reminder:<section>:<YYYY-MM>:<user>`), not any lock around beat. The drill runs the hourly
job every 2 seconds, so the two beats fire it many times in a few seconds.
"""

import collections
import re
import time

import pytest
import redis

from tests.faults.harness import (
    Database,
    action,
    app_env,
    celery_beat,
    celery_worker,
    log_lines,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PEOPLE = 600  # three batches of 200, so two racing runs can interleave
EVERY = 2  # seconds between the reminder job's runs (production: hourly)
REMINDERS = "SELECT count(*) FROM peerlearning_outboundemail WHERE key LIKE 'reminder:%%'"


def finished_runs(worker) -> list[int]:
    """What each finished run of the reminder job owed, from the worker's log."""
    return [
        int(match.group(1))
        for line in log_lines(worker, "send_due_reminders[")
        if (match := re.search(r"succeeded in [\d.]+s: (\d+)", line))
    ]


def first_runs_overlapped(worker) -> bool:
    """Did the second run start before the first finished?"""
    events = [
        ("received" in line, "succeeded" in line)
        for line in log_lines(worker, "send_due_reminders[")
    ]
    received = [n for n, (got, _) in enumerate(events) if got]
    finished = [n for n, (_, done) in enumerate(events) if done]
    return len(received) >= 2 and bool(finished) and received[1] < finished[0]


def test_two_beats_by_mistake_still_send_one_reminder_per_person_per_month(
    scratch_database, drill_redis_url, smtp, tmp_path, run
):
    env = app_env(
        database_url=scratch_database,
        redis_url=drill_redis_url,
        home=tmp_path,
        email_url=f"smtp://127.0.0.1:{smtp.port}",
    )
    action(env, "reminder_section", people=PEOPLE)
    action(env, "periodic_every", name_contains="mid-month reminders", seconds=EVERY)
    db = Database(scratch_database)
    broker = redis.Redis.from_url(drill_redis_url)
    try:
        beats = [
            run(celery_beat(env, tmp_path / f"beat-{n}.log", workdir=tmp_path / f"host-{n}"))
            for n in (1, 2)
        ]
        began = time.monotonic()
        # Both beats have fired before a worker is there: the first two runs start together
        # in the worker's two processes, and race to write the same rows.
        wait_until(
            lambda: all(log_lines(beat, "Sending due task") for beat in beats),
            timeout=30,
            what="both beats firing",
        )
        wait_until(lambda: broker.llen("celery") >= 2, timeout=10, what="two queued runs")
        worker = run(celery_worker(env, tmp_path / "worker.log", concurrency=2))
        wait_until(
            lambda: db.scalar(REMINDERS + " AND status = 'sent'") == PEOPLE,
            timeout=45,
            what="every reminder sent",
        )
        delivered = time.monotonic() - began
        # Let both beats fire the job a few more times after the batch is complete.
        finished = len(finished_runs(worker))
        wait_until(
            lambda: len(finished_runs(worker)) >= finished + 4,
            timeout=20,
            what="more runs of the job",
        )
        for beat in beats:
            beat.stop()
        time.sleep(2)  # the last runs finish; anything sent twice would arrive now

        fired = [len(log_lines(beat, "Sending due task")) for beat in beats]
        results = finished_runs(worker)
        counts = collections.Counter(message["To"] for message in smtp.messages)
        assert all(n >= 2 for n in fired), f"each beat should have fired the job: {fired}"
        assert len(counts) == PEOPLE
        assert set(counts.values()) == {1}, "someone received two reminders"
        assert db.scalar(REMINDERS) == PEOPLE
        assert sum(results) == PEOPLE, "the runs together owed each person exactly once"
        assert db.scalar("SELECT count(*) FROM reporting_reminderrun") == 1
        overlapped = first_runs_overlapped(worker)
        assert overlapped, "the first two runs should have run at the same time"
        print(
            f"\nDRILL two-beats: the beats fired the job {fired[0]} and {fired[1]} times; "
            f"{len(results)} runs finished in the worker, owing {sorted(results, reverse=True)} "
            f"e-mails; {len(smtp.messages)} messages at the sink for {PEOPLE} radiologists "
            f"(one each), all sent {delivered:.1f} s after the beats started; the first two runs "
            f"overlapped: {overlapped}"
        )
    finally:
        broker.close()
        db.close()

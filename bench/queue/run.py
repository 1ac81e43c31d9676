"""Time the champion's queue with 50,000 submissions in one section.

    .venv/bin/python bench/queue/run.py                       # SQLite, var/bench/queue.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_bench_queue \\
        .venv/bin/python bench/queue/run.py                   # PostgreSQL (database created)

Builds a fresh database (migrations, the test department, N submissions with their clinical
actions, bulk-inserted), then requests the queue page through Django's test client as the
section's champion for several filter and sort combinations, and prints, for each: the
number of SQL queries, and the best, median and worst wall time over a few runs (the first,
cold run is reported separately; on a shared machine the best is the steadiest figure).
Options: --rows N (50000), --runs R (7), --keep (reuse the database if it holds the rows).
"""

import argparse
import datetime
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerlearning.settings")
if "DATABASE_URL" not in os.environ:
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / 'queue.sqlite3'}"

CASES = [
    ("open, newest first (the default)", {}),
    ("all statuses", {"status": ""}),
    ("all, page 500", {"status": "", "page": "500"}),
    ("discrepancies, last 30 days", {"status": "", "reason": "discrepancy", "age": "30"}),
    ("clinical action pending", {"status": "", "action": "pending"}),
    ("clinical action overdue", {"status": "", "action": "overdue"}),
    ("sorted by action due", {"status": "", "sort": "due"}),
    ("sorted urgent first", {"status": "", "sort": "urgency"}),
    ("htmx fragment, awaiting review", {"status": "awaiting_review", "_htmx": True}),
]


def create_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        Path(db["NAME"]).unlink(missing_ok=True)
        return
    import psycopg

    admin = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
        dbname="postgres", autocommit=True,
    )  # fmt: skip
    admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


def populate(rows: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from peerlearning.testing import make_department
    from submissions.models import RequiredAction, Submission

    call_command("migrate", verbosity=0)
    dept = make_department()
    rng = random.Random(50_000)  # noqa: S311 - synthetic data
    now = timezone.now()
    submitters = [dept.radiologist, dept.champion, dept.trainee]
    statuses = ["submitted", "awaiting_review", "feedback_sent", "acknowledged", "closed"]
    began = time.perf_counter()
    batch, actions = [], []
    for n in range(rows):
        reason = rng.choice(["discrepancy", "discrepancy", "great_catch", "interesting", "other"])
        created = now - datetime.timedelta(minutes=rng.randrange(5 * 365 * 24 * 60))
        batch.append(
            Submission(
                section=dept.neuro,
                submitter=submitters[n % 3],
                accession_number=f"BENCH{n:08d}",
                reason=reason,
                reason_detail="perceptual" if reason == "discrepancy" else "",
                description="A finding worth learning from.",
                urgency="urgent" if rng.random() < 0.1 else "routine",
                attested_at=created if reason == "discrepancy" else None,
                original_reader=dept.reader if rng.random() < 0.9 else None,
                status=rng.choices(statuses, [3, 2, 10, 15, 70])[0],
                created_at=created,
                updated_at=created,
            )
        )
        if len(batch) == 2000:
            _flush(batch, actions, rng, now)
    _flush(batch, actions, rng, now)
    RequiredAction.objects.bulk_create(actions, batch_size=2000)
    # Fresh planner statistics, as autovacuum (or SQLite's optimize) would have by now.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Created {Submission.objects.count():,} submissions and "
        f"{RequiredAction.objects.count():,} clinical actions in "
        f"{time.perf_counter() - began:.1f} s."
    )


def _flush(batch, actions, rng, now) -> None:
    from submissions.models import RequiredAction, Submission

    pending = []
    for submission in batch:
        if submission.reason == "discrepancy" and rng.random() < 0.5:
            due = submission.created_at + datetime.timedelta(hours=72)
            done = submission.created_at + datetime.timedelta(hours=5)
            if rng.random() < 0.05:
                done = None
            # What the services keep: the earliest due time of an open action.
            submission.next_action_due_at = due if done is None else None
            pending.append((submission, due, done))
    Submission.objects.bulk_create(batch)
    for submission, due, done in pending:
        actions.append(
            RequiredAction(submission=submission, kind="addendum", due_at=due, done_at=done)
        )
    batch.clear()


def measure(runs: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from peerlearning.models import User

    # force_login there passes the second factor a new site's policy asks of champions.
    from peerlearning.testing import Client

    champion = User.objects.get(email="cass.champion@example.org")
    client = Client()
    client.force_login(champion)
    url = reverse("submissions:queue")
    print(f"\n{connection.vendor}, {runs} runs per case (ms)")
    print(f"{'case':<36} {'queries':>7} {'cold':>7} {'best':>7} {'median':>7} {'worst':>7}  rows")
    with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
        for label, params in CASES:
            params = dict(params)
            headers = {}
            if params.pop("_htmx", False):
                headers = {"HX-Request": "true", "HX-Target": "queue-results"}
            timings = []
            for _ in range(runs + 1):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    response = client.get(url, params, headers=headers)
                    elapsed = (time.perf_counter() - began) * 1000
                assert response.status_code == 200, response.status_code
                timings.append(elapsed)
            count = len(re.findall(r'href="/submissions/queue/\d+/"', response.content.decode()))
            print(
                f"{label:<36} {len(queries):>7} {timings[0]:>7.1f} {min(timings[1:]):>7.1f} "
                f"{statistics.median(timings[1:]):>7.1f} {max(timings[1:]):>7.1f}  {count}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django

    if not args.keep:
        django.setup()
        create_database()
        from django.db import connections

        connections.close_all()
    else:
        django.setup()
    from submissions.models import Submission

    if not args.keep or Submission.objects.count() < args.rows:
        populate(args.rows)
    measure(args.runs)


if __name__ == "__main__":
    main()

"""Time the mid-month reminder for 5,000 radiologists, and the monitoring dashboard on the
large demo department.

    .venv/bin/python bench/reminders/run.py                   # SQLite, var/bench/reminders.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_bench_reminders \\
        .venv/bin/python bench/reminders/run.py               # PostgreSQL (database created)

1. Dashboard: builds a fresh database with `seed_demo --size large` (300 radiologists, five
   years of history; synthetic submissions are added if the history builders made fewer than
   60,000), then requests the month dashboard, the year grid, a drill-down and the exports
   through Django's test client as an assistant of the largest section, and prints the SQL
   queries and the median and worst wall time of each over a few runs.
2. Reminders: adds a section of N radiologists (5,000) with about 1.5 submissions each this
   month, and an SMTP sink (aiosmtpd) on loopback. Times writing the reminders into the
   outbox, delivering them with the outbox's sweeper over real SMTP, and a second run (which
   must owe nothing); checks that the sink received exactly one e-mail per radiologist.

Options: --people N (5000), --runs R (5), --skip-dashboard, --skip-reminders.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerlearning.settings")
if "DATABASE_URL" not in os.environ:
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / 'reminders.sqlite3'}"

MIN_SUBMISSIONS = 60_000


def create_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    admin = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
        dbname="postgres", autocommit=True,
    )  # fmt: skip
    admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()


def timed(label: str, func):
    began = time.perf_counter()
    result = func()
    print(f"  {label}: {time.perf_counter() - began:.1f} s")
    return result


# 1. The dashboard on the large demo department ----------------------------------------------


def seed_large() -> None:
    from peerlearning.demo import SIZES, demo_seed
    from submissions.models import Submission

    result = timed("seed_demo --size large", lambda: demo_seed(size=SIZES["large"]))
    for label, rows in sorted(result.created.items()):
        print(f"    {label:<32} {rows:>9,}")
    missing = MIN_SUBMISSIONS - Submission.objects.count()
    if missing > 0:
        timed(f"{missing:,} more synthetic submissions", lambda: add_submissions(missing))


def add_submissions(count: int) -> None:
    from django.utils import timezone

    from peerlearning.models import Membership, Role
    from submissions.models import Submission

    rng = random.Random(60_000)  # noqa: S311 - synthetic data
    members = list(
        Membership.objects.filter(role=Role.RADIOLOGIST).values_list("user_id", "section_id")
    )
    now = timezone.now()
    rows = []
    for n in range(count):
        user_id, section_id = rng.choice(members)
        created = now - datetime.timedelta(minutes=rng.randrange(5 * 365 * 24 * 60))
        rows.append(
            Submission(
                section_id=section_id,
                submitter_id=user_id,
                accession_number=f"BENCHR{n:08d}",
                reason=rng.choice(["great_catch", "interesting", "other"]),
                description="Synthetic case.",
                created_at=created,
                updated_at=created,
            )
        )
    Submission.objects.bulk_create(rows, batch_size=2000)


def build_department_section():
    """Every radiologist of the large department in one section, with 60,000 submissions over
    five years: the brief's worst case (300 radiologists, 5 years) in a single dashboard."""
    from django.utils import timezone

    from peerlearning.models import Membership, Role, Section
    from submissions.models import Submission

    section = Section.objects.create(name="Bench: whole department", slug="bench-department")
    people = list(
        Membership.objects.filter(role=Role.RADIOLOGIST, participating=True)
        .values_list("user_id", "started_on", "ended_on")
        .distinct()
    )
    seen, rows = set(), []
    for user_id, started, ended in people:
        if user_id in seen:
            continue
        seen.add(user_id)
        rows.append(
            Membership(
                user_id=user_id,
                section=section,
                role=Role.RADIOLOGIST,
                started_on=started,
                ended_on=ended,
            )
        )
    Membership.objects.bulk_create(rows, batch_size=1000)
    rng = random.Random(300)  # noqa: S311 - synthetic data
    now = timezone.now()
    users = sorted(seen)
    counted = [rng.random() > 0.03 for _ in range(MIN_SUBMISSIONS)]
    Submission.objects.bulk_create(
        [
            Submission(
                section=section,
                submitter_id=rng.choice(users),
                accession_number=f"BENCHD{n:08d}",
                reason=rng.choice(["discrepancy", "great_catch", "interesting", "other"]),
                description="Synthetic case.",
                attested_at=now,
                counted=counted[n],
                not_counted_reason="" if counted[n] else "other",
                created_at=now - datetime.timedelta(minutes=rng.randrange(5 * 365 * 24 * 60)),
            )
            for n in range(MIN_SUBMISSIONS)
        ],
        batch_size=2000,
    )
    return section


def measure_dashboard(runs: int) -> None:
    section = timed("whole-department section", build_department_section)
    measure_section(runs, section)
    measure_section(runs, None)


def measure_section(runs: int, section) -> None:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import (
        CaptureQueriesContext,
        override_settings,
        setup_test_environment,
        teardown_test_environment,
    )
    from django.urls import reverse

    from peerlearning.models import Membership, Role, Section
    from peerlearning.testing import make_member
    from submissions.models import Submission

    section = section or (
        Section.objects.filter(memberships__role=Role.RADIOLOGIST)
        .exclude(slug="bench-department")
        .annotate(n=Count("memberships"))
        .order_by("-n")
        .first()
    )
    assistant = make_member(section, Role.ADMIN_ASSISTANT, first_name="Bench", last_name="Asst")
    someone = Membership.objects.filter(section=section, role=Role.RADIOLOGIST).first().user_id
    last_year = datetime.date.today().year - 1  # noqa: DTZ011 - a label, not a moment
    print(
        f"\nDashboard: {section.name}, "
        f"{Membership.objects.filter(section=section, role=Role.RADIOLOGIST).count()} "
        f"radiologists; {Submission.objects.filter(section=section).count():,} submissions in "
        f"the section, {Submission.objects.count():,} in all. {connection.vendor}, {runs} runs."
    )
    cases = [
        ("month, this month", "reporting:monitoring", {}),
        ("month, last December", "reporting:monitoring", {"month": f"{last_year}-12"}),
        ("month, behind only, by progress", "reporting:monitoring",
         {"status": "behind", "sort": "progress"}),
        ("year grid, this year", "reporting:monitoring-year", {}),
        ("year grid, last year", "reporting:monitoring-year", {"year": last_year}),
        ("drill-down", "reporting:monitoring-person", {}),
        ("export month, CSV", "reporting:monitoring-export", {"format": "csv"}),
        ("export year, XLSX", "reporting:monitoring-export", {"format": "xlsx", "period": "year"}),
        ("reminder preview", "reporting:reminders-preview", {}),
    ]  # fmt: skip
    client = Client()
    client.force_login(assistant)
    # The test client fills response.context only in the test environment.
    setup_test_environment()
    print(f"  {'page':<34} {'queries':>7} {'cold ms':>8} {'median':>7} {'worst':>7}  rows")
    with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
        for label, name, params in cases:
            url = reverse(name, args=[someone] if name.endswith("person") else None)
            params = {"section": section.pk, **params}
            timings = []
            for _ in range(runs + 1):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    response = client.get(url, params)
                    timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (label, response.status_code)
            context = response.context or {}
            report = context.get("report")
            rows = len(report.rows) if report is not None else ""
            print(
                f"  {label:<34} {len(queries):>7} {timings[0]:>8.0f} "
                f"{statistics.median(timings[1:]):>7.0f} {max(timings[1:]):>7.0f}  {rows}"
            )
    teardown_test_environment()


# 2. The reminder for 5,000 radiologists -------------------------------------------------------


def build_big_section(people: int):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from peerlearning.lib.months import month_of, month_start_at
    from peerlearning.models import Membership, Role, Section, User
    from submissions.models import Submission

    section = Section.objects.create(name="Bench: teleradiology", slug="bench-tele")
    password = make_password(None)
    User.objects.bulk_create(
        [
            User(email=f"rad{n:05d}@bench.example.org", first_name=f"Rad{n}", last_name="Bench",
                 password=password)
            for n in range(people)
        ],
        batch_size=1000,
    )  # fmt: skip
    users = list(User.objects.filter(email__endswith="@bench.example.org").order_by("pk"))
    started = timezone.localdate() - datetime.timedelta(days=400)
    Membership.objects.bulk_create(
        [
            Membership(user=u, section=section, role=Role.RADIOLOGIST, started_on=started)
            for u in users
        ],
        batch_size=1000,
    )
    rng = random.Random(5_000)  # noqa: S311 - synthetic data
    start = month_start_at(month_of(timezone.localdate()))
    rows = []
    for user in users:
        for k in range(rng.choice([0, 1, 1, 2, 3])):
            rows.append(
                Submission(
                    section=section,
                    submitter=user,
                    accession_number=f"T{user.pk}-{k}",
                    reason=rng.choice(["great_catch", "interesting", "other"]),
                    description="Synthetic case.",
                    created_at=start + datetime.timedelta(minutes=rng.randrange(60 * 24 * 10)),
                )
            )
    Submission.objects.bulk_create(rows, batch_size=2000)
    return section, len(rows)


def measure_reminders(people: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from peerlearning.lib import emails
    from peerlearning.lib.months import month_of
    from peerlearning.models import OutboundEmail
    from peerlearning.testing import SmtpSink
    from reporting.targets.reminders import reminders_send

    print(f"\nReminders: {people:,} radiologists, one section, {connection.vendor}.")
    section, submissions = timed(
        f"build the section ({people:,} people)", lambda: build_big_section(people)
    )
    print(f"    {submissions:,} submissions this month")
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    # No broker here: rows stay pending, and the sweeper below delivers them, as it would
    # after a broker outage.
    emails.task_enqueue = lambda name, *args: None
    month = month_of(timezone.localdate())
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(count):
            outcome = timed(
                "write the reminders to the outbox",
                lambda: reminders_send(section=section, month=month),
            )
        print(
            f"    {outcome.queued:,} queued ({outcome.thanks:,} thank-you), "
            f"{len(queries):,} queries"
        )

        def deliver():
            sent = 0
            while batch := emails.email_send_due(limit=500):
                sent += batch
            return sent

        sent = timed("deliver over SMTP (one sweeper process)", deliver)
        again = timed("second run", lambda: reminders_send(section=section, month=month))
        print(f"    second run queued {again.queued}, found {again.already:,} already owed")
        addresses = [m["To"] for m in sink.messages]
        print(
            f"    sink received {len(addresses):,} messages for {len(set(addresses)):,} "
            f"addresses; {sent:,} marked sent; "
            f"{OutboundEmail.objects.filter(status='pending').count()} pending"
        )
        assert len(addresses) == len(set(addresses)) == outcome.queued
    finally:
        sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--skip-reminders", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    create_database()
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    timed("migrate", lambda: call_command("migrate", verbosity=0))
    if not args.skip_dashboard:
        seed_large()
        measure_dashboard(args.runs)
    if not args.skip_reminders:
        measure_reminders(args.people)


if __name__ == "__main__":
    main()

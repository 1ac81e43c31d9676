"""Time the leaders' reports on the large demo department.

    createdb -h 127.0.0.1 -U postgres pl_reports_large
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pl_reports_large \\
        .venv/bin/python bench/reports/run.py            # migrates and seeds when empty
    dropdb -h 127.0.0.1 -U postgres pl_reports_large

    .venv/bin/python bench/reports/run.py                # SQLite, var/bench/reports.sqlite3

The database is migrated and seeded with `seed_demo --size large` (300 radiologists, eight
sections, five years of history) when it holds no demo department yet. Then, each step in
this process, wall time (median of --runs, worst in brackets) and SQL queries:

1. the ACR annual report (last full year) for the largest section and for the whole
   department: gathering the figures, then the PDF, the XLSX and the CSV zip;
2. the OPPE batch for every radiologist of the department for the last full OPPE period:
   the figures alone, then the zip of PDFs (once; it is long), with peak memory;
3. the leader's dashboard, through Django's test client as the demo leader.

Options: --runs N (3), --skip-batch, --skip-seed.
"""

import argparse
import datetime
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerlearning.settings")
if "DATABASE_URL" not in os.environ:
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / 'reports.sqlite3'}"


def measure(label: str, func, runs: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, result, queries = [], None, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            result = func()
            times.append(time.perf_counter() - began)
        queries = len(captured)
    worst = f" (worst {max(times):.2f})" if runs > 1 else ""
    print(f"| {label} | {statistics.median(times):.2f}{worst} | {queries} |", flush=True)
    return result


def pages(pdf: bytes) -> str:
    """The page count, from poppler's pdfinfo when it is installed."""
    import shutil
    import subprocess
    import tempfile

    tool = shutil.which("pdfinfo")
    if not tool:
        return "?"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        info = subprocess.run(  # noqa: S603 - a fixed tool on a file we wrote
            [tool, handle.name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    return next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--skip-seed", action="store_true")
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django.utils import timezone

    from peerlearning.demo import demo_people
    from peerlearning.models import Membership, Role, Section, User
    from reporting.models import OppePolicy
    from reporting.reports.acr import acr_report_build
    from reporting.reports.acr_files import acr_report_bytes
    from reporting.reports.oppe import oppe_batch_radiologists, oppe_batch_zip, oppe_reports_build
    from submissions.models import Submission

    print(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    if not options.skip_seed:
        call_command("migrate", verbosity=0)
        if not demo_people().exists():
            began = time.perf_counter()
            with open(os.devnull, "w") as quiet:
                call_command("seed_demo", size="large", force=True, stdout=quiet)
            print(f"seed_demo --size large: {time.perf_counter() - began:.0f} s")
    setup_test_environment()  # the test client's response.context, for the dashboard
    today = timezone.localdate()
    year = today.year - 1
    sections = list(Section.objects.filter(is_active=True).order_by("name"))
    largest = (
        Section.objects.filter(pk__in=[s.pk for s in sections])
        .annotate(n=Count("memberships", filter=_radiologists()))
        .order_by("-n")
        .first()
    )
    people = Membership.objects.filter(role=Role.RADIOLOGIST).values("user_id").distinct().count()
    print(
        f"{len(sections)} sections, {people} radiologists, "
        f"{Submission.objects.count():,} submissions; largest section: {largest.name} "
        f"({largest.n} radiologist memberships)\n"
    )

    print("| step | seconds | queries |\n| --- | --- | --- |")
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    for label, chosen, department in (
        (f"ACR {year}, {largest.name}", [largest], False),
        (f"ACR {year}, whole department", sections, True),
    ):
        report = measure(
            f"{label}: figures",
            lambda chosen=chosen, department=department: acr_report_build(
                sections=chosen, start=start, end=end, department=department
            ),
            options.runs,
        )
        for fmt in ("pdf", "xlsx", "csv"):
            content = measure(
                f"{label}: {fmt.upper()}",
                lambda report=report, fmt=fmt: acr_report_bytes(report, fmt),
                options.runs if fmt != "pdf" else max(1, options.runs - 1),
            )
            print(f"|   ({fmt}: {len(content) / 1024:,.0f} KB", end="")
            if fmt == "pdf":
                print(f", {pages(content)} pages", end="")
            print(") | | |")

    leader = User.objects.get(email="leader@demo.example-hospital.org")
    client = Client()
    client.force_login(leader)
    url = reverse("reporting:leader")
    client.get(url)
    measure("Leader dashboard, all sections, this year", lambda: client.get(url), options.runs)

    policy = OppePolicy.load()
    p_start, p_end = policy.period_containing(
        policy.period_containing(today)[0] - datetime.timedelta(days=1)
    )
    radiologists = oppe_batch_radiologists(sections=sections)
    measure(
        f"OPPE figures, {len(radiologists)} radiologists, {p_start:%b %Y}–{p_end:%b %Y}",
        lambda: oppe_reports_build(radiologists=radiologists, start=p_start, end=p_end),
        options.runs,
    )
    if not options.skip_batch:
        before = peak_mb()
        content = measure(
            f"OPPE batch zip, {len(radiologists)} PDFs",
            lambda: oppe_batch_zip(
                radiologists=radiologists, start=p_start, end=p_end, progress=lambda p, t: None
            ),
            1,
        )
        print(
            f"|   (zip {len(content) / 1024 / 1024:.1f} MB; peak RSS {before:.0f} → "
            f"{peak_mb():.0f} MB) | | |"
        )


def _radiologists():
    from django.db.models import Q

    return Q(memberships__role="radiologist", memberships__participating=True)


if __name__ == "__main__":
    main()

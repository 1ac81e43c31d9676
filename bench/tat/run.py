"""Time the TAT import of a million rows on PostgreSQL and SQLite, with its peak memory.

    .venv/bin/python bench/tat/run.py                         # both databases, 1,000,000 rows
    .venv/bin/python bench/tat/run.py --rows 100000 --db sqlite

Writes a synthetic RIS extract (300 radiologists, five years, some times with an offset,
some naive) under var/bench/, then for each database: builds a fresh one (migrations and
the radiologists), and in a fresh subprocess each, times

- the first import (every row new),
- the same file again (every row unchanged: the idempotent path),
- `tat_summary` for all radiologists over the last six months and over five years,
- the demo builder's TAT rows for `seed_demo --size large` (straight COPY/executemany).

Each subprocess reports its wall time and its peak resident memory
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`), and its resident memory before the work, so
the import's own share shows. PostgreSQL: DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/pl_bench_tat (dropped and created).
"""

import argparse
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
RADIOLOGISTS = 300
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/pl_bench_tat"
MODALITIES = ["CT", "CT", "CT", "MR", "MR", "CR", "CR", "US", "NM", "MG"]


def radiologist_email(i: int) -> str:
    return f"bench.radiologist{i:03d}@example-hospital.org"


def write_csv(path: Path, rows: int) -> None:
    """A synthetic extract; written once per size and kept under var/bench/."""
    if path.exists():
        return
    rng = random.Random(2026)  # noqa: S311 - synthetic data
    site = zoneinfo.ZoneInfo("America/New_York")
    start = datetime.datetime(2021, 11, 1, 12, tzinfo=datetime.UTC)
    span_minutes = 5 * 365 * 24 * 60
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write("accession,radiologist_email,modality,exam_completed_at,report_finalized_at\n")
        for n in range(rows):
            completed = start + datetime.timedelta(minutes=rng.randrange(span_minutes))
            finalized = completed + datetime.timedelta(minutes=int(rng.lognormvariate(4.6, 1.0)))
            # As a RIS writes them: local times, half with their offset, half naive.
            times = [t.astimezone(site) for t in (completed, finalized)]
            if n % 2:
                times = [t.replace(tzinfo=None) for t in times]
            out.write(
                f"B{n:09d},{radiologist_email(rng.randrange(RADIOLOGISTS))},"
                f"{rng.choice(MODALITIES)},{times[0].isoformat()},{times[1].isoformat()}\n"
            )
    tmp.rename(path)


# Worker: runs inside a subprocess with DATABASE_URL set --------------------------------------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerlearning.settings")
    import django

    django.setup()


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(step: str, path: str) -> dict:
    _setup_django()
    from django.db import connection

    connection.ensure_connection()
    before = _rss_kb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    began = time.perf_counter()
    detail: dict = {}
    if step == "setup":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from peerlearning.models import Membership, Role, Section, User

        section = Section.objects.create(name="Bench", slug="bench")
        users = User.objects.bulk_create(
            [
                User(email=radiologist_email(i), first_name="Bench", last_name=f"R{i:03d}")
                for i in range(RADIOLOGISTS)
            ]
        )
        Membership.objects.bulk_create(
            [Membership(user=u, section=section, role=Role.RADIOLOGIST) for u in users]
        )
    elif step == "import":
        from reporting.oppe.tat import tat_import

        with open(path, "rb") as source:
            result = tat_import(source=source, actor=None, origin="bench")
        if not result.ok:
            raise SystemExit("\n".join(result.error_messages()))
        detail = {**result.counts(), "phases": result.timings}
    elif step in ("summary-6m", "summary-5y"):
        from peerlearning.models import User
        from reporting.oppe.tat_summary import tat_summary

        end = datetime.date(2026, 10, 31)
        start = datetime.date(2026, 5, 1) if step == "summary-6m" else datetime.date(2021, 11, 1)
        people = list(User.objects.filter(email__startswith="bench."))
        summary = tat_summary(radiologists=people, start=start, end=end)
        detail = {"reports": sum(s.overall.count for s in summary.values())}
    elif step == "demo-large":
        from django.db import transaction

        from peerlearning.demo import SIZES, department_build
        from reporting import demo

        with transaction.atomic():
            ctx, _ = department_build(
                size=SIZES["large"], seed=1109, today=datetime.date(2026, 11, 27)
            )
            began = time.perf_counter()
            spans = demo._radiologist_spans(ctx)
            detail = {"rows": demo._turnaround_times(ctx, ctx.rng("oppe"), spans)}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": time.perf_counter() - began,
        "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
        "rss_before_mb": before / 1024,
        "peak_rss_mb": _rss_kb() / 1024,
        **detail,
    }


# The driver --------------------------------------------------------------------------------


def create_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def run_step(url: str, step: str, path: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": "bench-only"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--worker", step, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--no-demo", action="store_true", help="Skip the demo builder step.")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"tat-{args.rows}.csv"
    began = time.perf_counter()
    write_csv(path, args.rows)
    print(
        f"{path.name}: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB "
        f"(ready in {time.perf_counter() - began:.0f} s)"
    )
    urls = []
    if args.db in ("both", "postgres"):
        urls.append(("PostgreSQL", os.environ.get("DATABASE_URL") or POSTGRES_URL))
    if args.db in ("both", "sqlite"):
        urls.append(("SQLite", f"sqlite:///{OUT / 'tat.sqlite3'}"))
    steps = ["import", "import", "summary-6m", "summary-5y"]
    labels = ["first import", "same file again", "summary, 6 months", "summary, 5 years"]
    if not args.no_demo:
        steps.append("demo-large")
        labels.append("demo builder (large)")
    print(
        "| database | step | rows | seconds | rows/s | Python CPU s | RSS before (MB) | "
        "peak RSS (MB) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, url in urls:
        create_database(url)
        run_step(url, "setup", path)
        for step, label in zip(steps, labels, strict=True):
            if step == "demo-large":
                create_database(url)
                run_step(url, "setup", path)
            result = run_step(url, step, path)
            rows = result.get("rows") or result.get("reports") or 0
            rate = f"{rows / result['seconds']:,.0f}" if step != "summary-6m" else ""
            if step.startswith("summary"):
                rate = ""
            print(
                f"| {name} | {label} | {rows:,} | {result['seconds']:.1f} | {rate} | "
                f"{result['cpu_seconds']:.1f} | "
                f"{result['rss_before_mb']:.0f} | {result['peak_rss_mb']:.0f} |",
                flush=True,
            )
            if "phases" in result:
                print(f"|  | phases (s): {result['phases']} |  |  |  |  |  |  |", flush=True)


if __name__ == "__main__":
    main()

"""Report turnaround times (TAT) from the RIS: the import and the summary per radiologist.

The import streams the file twice and never holds it in memory:

1. *Check*: every line is read and checked (dates, order of the times, the radiologist's
   e-mail); problems are collected with their line numbers. If there is any, nothing is
   written.
2. *Write*, in one transaction: the rows are streamed into a temporary staging table
   (PostgreSQL `COPY`, SQLite `executemany` in batches), the database finds accessions that
   appear twice in the file, counts what is new and what changed, and upserts the lot with
   one `INSERT … SELECT … ON CONFLICT (accession) DO UPDATE`. Any problem rolls it all back.

The command `import_tat` and the admin's upload page (through a worker) both call
`tat_import()`. Choices and measured speed: docs/oppe-data.md.
"""

import datetime
import itertools
import logging
import time
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.lib.tables import Table, TableError, table_read
from peerlearning.models import AuditEvent, Role, User
from reporting.oppe.models import TatImport, TurnaroundTime

logger = logging.getLogger(__name__)

COLUMNS = ("accession", "radiologist_email", "modality", "exam_completed_at", "report_finalized_at")

# Headers as RIS extracts spell them, after lower-casing and turning spaces and dashes into "_".
COLUMN_ALIASES = {
    "accession_number": "accession",
    "accession_no": "accession",
    "acc": "accession",
    "radiologist": "radiologist_email",
    "email": "radiologist_email",
    "e_mail": "radiologist_email",
    "radiologist_e_mail": "radiologist_email",
    "signing_radiologist_email": "radiologist_email",
    "exam_completed": "exam_completed_at",
    "completed_at": "exam_completed_at",
    "exam_complete": "exam_completed_at",
    "report_finalized": "report_finalized_at",
    "finalized_at": "report_finalized_at",
    "report_signed_at": "report_finalized_at",
    "finalised_at": "report_finalized_at",
    "report_finalised_at": "report_finalized_at",
}

MAX_ERRORS = 50
BATCH_SIZE = 5000
# A RIS clock a little ahead of ours is not an error; a report signed next week is.
FUTURE_TOLERANCE = datetime.timedelta(days=1)
ISO_EXAMPLE = "(use ISO 8601, e.g. 2026-10-01T08:00:00-04:00)"
ISO_HINT = f"is not a date {ISO_EXAMPLE}"
STAGE = "tat_import_stage"
# PostgreSQL types of the columns written with binary COPY (varchar takes text's format).
COPY_TYPES = {
    "line": "int4",
    "accession": "text",
    "radiologist_id": "int8",
    "modality": "text",
    "exam_completed_at": "timestamptz",
    "report_finalized_at": "timestamptz",
    "turnaround_seconds": "int4",
    "imported_at": "timestamptz",
}
STAGE_COLUMNS = (
    "line",
    "accession",
    "radiologist_id",
    "modality",
    "exam_completed_at",
    "report_finalized_at",
    "turnaround_seconds",
)


@dataclass(frozen=True)
class TatProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass
class TatImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    dry_run: bool = False
    errors: list[TatProblem] = field(default_factory=list)
    more_errors: int = 0
    warnings: list[str] = field(default_factory=list)
    # Seconds per phase (check, stage, compare, upsert), for the logs and the benchmark.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def _lap(self, phase: str, began: float) -> float:
        now = time.perf_counter()
        self.timings[phase] = round(now - began, 2)
        return now

    def error_messages(self) -> list[str]:
        messages = [str(error) for error in self.errors]
        if self.more_errors:
            messages.append(f"… and {self.more_errors} more problems.")
        return messages

    def describe(self) -> str:
        text = (
            f"{self.rows} rows: {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text + "."

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    def _error(self, line: int | None, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(TatProblem(line, message))
        else:
            self.more_errors += 1


class _Refused(Exception):
    """Raised inside the write transaction to roll it back."""


# Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    """E-mail → user id, built once per import: radiologists, and everyone else by name."""

    radiologists: dict[str, int]
    others: frozenset[str]

    @classmethod
    def load(cls) -> "_People":
        radiologist_ids = set(
            User.objects.filter(memberships__role=Role.RADIOLOGIST).values_list("pk", flat=True)
        )
        radiologists, others = {}, set()
        for pk, email in User.objects.values_list("pk", "email"):
            if pk in radiologist_ids:
                radiologists[email.lower()] = pk
            else:
                others.add(email.lower())
        return cls(radiologists, frozenset(others))


def _table(source: IO[bytes]) -> Table:
    source.seek(0)  # each pass reads the file from its start
    return table_read(source, columns=COLUMNS, aliases=COLUMN_ALIASES, noun="rows")


def tat_header_problems(source: IO[bytes]) -> list[str]:
    """Problems with the first line alone, for an upload page to answer at once."""
    try:
        _table(source).rows.close()
    except TableError as error:
        return [str(error)]
    finally:
        source.seek(0)
    return []


class _TimeProblem(ValueError):
    """A readable date and time that still cannot be used."""


def _parse_time(value: str, site_tz: datetime.tzinfo) -> datetime.datetime:
    """ISO 8601 with a time; a time without an offset is in the site's time zone."""
    value = value.strip()
    if len(value) <= 10:
        datetime.date.fromisoformat(value)  # "is not a date" unless it is one
        raise _TimeProblem(f"has no time of day {ISO_EXAMPLE}")
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        return moment.astimezone(datetime.UTC)
    # An hour that a daylight-saving change repeats is read as its first occurrence; an hour
    # it skips does not exist, and would silently shift the turnaround by an hour.
    utc = moment.replace(tzinfo=site_tz).astimezone(datetime.UTC)
    if utc.astimezone(site_tz).replace(tzinfo=None) != moment:
        raise _TimeProblem("does not exist in the site's time zone (the clocks moved forward)")
    return utc


def _second_occurrence(value: str, site_tz: datetime.tzinfo) -> datetime.datetime | None:
    """A naive time in the hour the clocks repeat, read as its second occurrence (EST after
    EDT): what a report signed after the change, of an exam done before it, needs."""
    moment = datetime.datetime.fromisoformat(value.strip())
    if moment.tzinfo is not None:
        return None
    first = moment.replace(tzinfo=site_tz).astimezone(datetime.UTC)
    second = moment.replace(tzinfo=site_tz, fold=1).astimezone(datetime.UTC)
    return second if second != first else None


def _rows(
    source: IO[bytes],
    people: _People,
    *,
    skip_unknown: bool,
    result: TatImportResult,
) -> Iterator[tuple]:
    """(line, accession, radiologist id, modality, completed, finalized, seconds) per good row.

    Problems go to `result` (with line numbers); rows with problems are not yielded.
    """
    site_tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    latest = timezone.now() + FUTURE_TOLERANCE
    unknown: Counter[str] = Counter()
    table = None
    try:
        table = _table(source)
        result.warnings.extend(table.warnings)
        order = [table.columns[name] for name in COLUMNS]
        width = max(order) + 1
        for this_line, record in table.rows:
            if len(record) < width:
                result._error(
                    this_line, f"has {len(record)} values; the header names {len(table.header)}."
                )
                continue
            accession, email, modality, completed, finalized = (record[i] for i in order)
            problems = []

            accession = accession.strip()
            if not accession:
                problems.append("the accession is empty")
            elif len(accession) > 64 or not accession.isprintable():
                problems.append("the accession is longer than 64 characters or not printable")

            email = email.strip().lower()
            radiologist_id = people.radiologists.get(email)
            if radiologist_id is None:
                if not email:
                    problems.append("the radiologist e-mail is empty")
                elif skip_unknown:
                    unknown[email] += 1
                    continue
                elif email in people.others:
                    problems.append(f"{email} is on the roster but not as a radiologist")
                else:
                    problems.append(f"no radiologist on the roster has the e-mail {email}")

            modality = modality.strip().upper()
            if not modality:
                problems.append("the modality is empty")
            elif len(modality) > 16 or not (modality.isascii() and modality.isalnum()):
                problems.append(f"“{modality[:20]}” is not a modality code (CT, MR, US, …)")

            times = []
            for label, value in (
                ("exam_completed_at", completed),
                ("report_finalized_at", finalized),
            ):
                try:
                    times.append(_parse_time(value, site_tz))
                except ValueError as error:
                    shown = value.strip()[:40]
                    why = str(error) if isinstance(error, _TimeProblem) else ISO_HINT
                    problems.append(f"{label} “{shown}” {why}" if shown else f"{label} is empty")
            if len(times) == 2:
                completed_at, finalized_at = times
                if finalized_at < completed_at:
                    finalized_at = _second_occurrence(finalized, site_tz) or finalized_at
                if finalized_at < completed_at:
                    problems.append("the report was finalized before the exam was completed")
                elif finalized_at > latest:
                    problems.append("report_finalized_at is in the future")

            if problems:
                result._error(this_line, "; ".join(problems) + ".")
                continue
            yield (
                this_line,
                accession,
                radiologist_id,
                modality,
                completed_at,
                finalized_at,
                int((finalized_at - completed_at).total_seconds()),
            )
    except TableError as error:
        result._error(error.line, error.message)
    finally:
        if table is not None:
            table.rows.close()
    if skip_unknown and unknown:
        skipped = sum(unknown.values())
        result.skipped = skipped
        shown = ", ".join(f"{email} ({n})" for email, n in unknown.most_common(10))
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        result.warnings.append(
            f"Skipped {skipped} rows of people who are not radiologists on the roster: "
            f"{shown}{more}."
        )


# Writing ----------------------------------------------------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _stage_create(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    if connection.vendor == "postgresql":
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (line integer, accession varchar(64), "
            "radiologist_id bigint, modality varchar(16), exam_completed_at timestamptz, "
            "report_finalized_at timestamptz, turnaround_seconds integer)"
        )
    else:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (line integer, accession text, "
            "radiologist_id integer, modality text, exam_completed_at text, "
            "report_finalized_at text, turnaround_seconds integer)"
        )


def tat_rows_write(cursor, table: str, columns: tuple[str, ...], rows) -> int:
    """Stream tuples into a table: COPY on PostgreSQL, batched executemany elsewhere.

    Datetimes must be aware. Shared by the import's staging step and the demo builder.
    """
    count = 0
    if connection.vendor == "postgresql":
        # Binary COPY: ten times faster than text for datetimes (measured, docs/oppe-data.md).
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(sql) as copy:
            copy.set_types([COPY_TYPES[column] for column in columns])
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608 - names from model metadata, values bound
    moments = [i for i, column in enumerate(columns) if COPY_TYPES.get(column) == "timestamptz"]
    rows = iter(rows)
    while batch := list(itertools.islice(rows, BATCH_SIZE)):
        if moments:
            batch = [list(row) for row in batch]
            for row in batch:
                for i in moments:
                    # As Django stores them on SQLite: naive UTC text.
                    row[i] = str(row[i].astimezone(datetime.UTC).replace(tzinfo=None))
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


def _duplicates(cursor, result: TatImportResult) -> None:
    """Refuse accessions that appear twice in the file: which line should win is unclear."""
    cursor.execute(
        f"SELECT line, first_line FROM (SELECT line, MIN(line) OVER (PARTITION BY accession) "  # noqa: S608 - names from model metadata, values bound
        f"AS first_line FROM {STAGE}) d WHERE line <> first_line ORDER BY line LIMIT {MAX_ERRORS}"
    )
    repeated = cursor.fetchall()
    if not repeated:
        return
    for line, first_line in repeated:
        result._error(line, f"the accession of line {first_line} appears again.")
    cursor.execute(f"SELECT COUNT(*) - COUNT(DISTINCT accession) FROM {STAGE}")  # noqa: S608 - names from model metadata, values bound
    result.more_errors += cursor.fetchone()[0] - len(repeated)


def _write(source: IO[bytes], people: _People, skip_unknown: bool, result: TatImportResult):
    table = _q(TurnaroundTime._meta.db_table)
    fields = ("radiologist_id", "modality", "exam_completed_at", "report_finalized_at")
    began = time.perf_counter()
    with connection.cursor() as cursor:
        _stage_create(cursor)
        check = TatImportResult()
        staged = tat_rows_write(
            cursor,
            STAGE,
            STAGE_COLUMNS,
            _rows(source, people, skip_unknown=skip_unknown, result=check),
        )
        if not check.ok or staged != result.rows:
            # The file changed between the two passes.
            result._error(None, "The file changed while it was being imported; try again.")
            raise _Refused
        began = result._lap("stage", began)
        cursor.execute(f"CREATE INDEX {STAGE}_accession ON {STAGE} (accession)")
        _duplicates(cursor, result)
        if not result.ok:
            raise _Refused

        differs = " OR ".join(f"t.{_q(f)} <> s.{f}" for f in fields)
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {differs} THEN 1 ELSE 0 END), 0) "  # noqa: S608 - names from model metadata, values bound
            f"FROM {STAGE} s JOIN {table} t ON t.{_q('accession')} = s.accession"
        )
        existing, changed = cursor.fetchone()
        began = result._lap("compare", began)
        result.created = staged - existing
        result.updated = changed
        result.unchanged = existing - changed

        columns = ("accession", *fields, "turnaround_seconds", "imported_at")
        names = ", ".join(_q(c) for c in columns)
        updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in columns[1:])
        # Unchanged rows are left alone, so their imported_at says when they last changed.
        changed_only = " OR ".join(f"{table}.{_q(f)} <> excluded.{_q(f)}" for f in fields)
        imported_at = timezone.now()
        if connection.vendor != "postgresql":
            imported_at = connection.ops.adapt_datetimefield_value(imported_at)
        # "WHERE true" keeps SQLite from reading ON CONFLICT as part of a join.
        cursor.execute(
            f"INSERT INTO {table} ({names}) "  # noqa: S608 - names from model metadata, values bound
            f"SELECT accession, radiologist_id, modality, exam_completed_at, "
            f"report_finalized_at, turnaround_seconds, %s FROM {STAGE} WHERE true "
            "ORDER BY accession "
            f"ON CONFLICT ({_q('accession')}) DO UPDATE SET {updates} WHERE {changed_only}",
            [imported_at],
        )
        cursor.execute(f"DROP TABLE {STAGE}")
        result._lap("upsert", began)


def tat_import(
    *,
    source: IO[bytes],
    actor: User | None,
    skip_unknown: bool = False,
    dry_run: bool = False,
    request: HttpRequest | None = None,
    origin: str = "",
) -> TatImportResult:
    """Check a TAT CSV, then upsert it by accession in one transaction (all or nothing).

    `source` is a seekable binary file (it is read twice). `skip_unknown` turns rows of
    people who are not radiologists on the roster into a warning instead of an error.
    """
    result = TatImportResult(dry_run=dry_run)
    began = time.perf_counter()
    people = _People.load()
    result.rows = sum(1 for _ in _rows(source, people, skip_unknown=skip_unknown, result=result))
    result._lap("check", began)
    if result.ok and result.rows == 0:
        result._error(None, "The file has a header line but no rows.")
    if not result.ok:
        return result
    try:
        with transaction.atomic():
            _write(source, people, skip_unknown, result)
            if dry_run:
                transaction.set_rollback(True)
            else:
                # Counts only: accessions are identifiers and stay out of the trail.
                audit_record(
                    action=AuditEvent.Action.IMPORT,
                    actor=actor,
                    request=request,
                    object_type=TurnaroundTime._meta.label_lower,
                    detail={"what": "tat", "source": origin, **result.counts()},
                )
    except _Refused:
        result.created = result.updated = result.unchanged = 0
    logger.info("TAT import: %s rows, %s, phases %s", result.rows, result.ok, result.timings)
    return result


# Uploads from the admin -------------------------------------------------------------------


def tat_import_run(*, import_id: int) -> bool:
    """Import an uploaded file in a worker; the TatImport row records the outcome.

    The row is claimed with a conditional update, so a second delivery of the task does
    nothing. The file is deleted afterwards: accessions are not kept beyond the table.
    """
    claimed = TatImport.objects.filter(pk=import_id, status=TatImport.Status.PENDING).update(
        status=TatImport.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return False
    record = TatImport.objects.select_related("uploaded_by").get(pk=import_id)
    try:
        with record.file.open("rb") as handle:
            result = tat_import(
                source=handle,
                actor=record.uploaded_by,
                skip_unknown=record.skip_unknown,
                origin="admin",
            )
    except Exception as error:
        logger.exception("TAT import %s failed", import_id)
        result = TatImportResult()
        result._error(None, f"The import stopped with an internal error ({type(error).__name__}).")
    record.status = TatImport.Status.DONE if result.ok else TatImport.Status.REFUSED
    record.finished_at = timezone.now()
    record.errors = result.error_messages()
    record.warnings = result.warnings
    for name, value in result.counts().items():
        setattr(record, name, value)
    record.file.delete(save=False)
    record.save()
    return result.ok

"""Importing a meeting platform's attendance report into a conference, all or nothing.

The file is read and checked first (`files.report_read`), against the
conference's date too; only a file with no problem writes anything, in one transaction.
Each person's lines are merged (overlapping join/leave intervals counted once), and the
attendance row is keyed by conference + person, so importing the same report again, or a
re-export of it, changes nothing. The file's SHA-256 is kept with the import.
"""

import datetime
import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from conferences.attendance.files import (
    TEAMS,
    AttendanceReport,
    ReportError,
    ReportRow,
    report_read,
)
from conferences.attendance.matching import PeopleIndex, alias_key, name_key
from conferences.attendance.models import (
    Attendance,
    AttendanceImport,
    AttendanceImportRow,
    AttendeeAlias,
)
from conferences.attendance.services import attendee_kinds, conference_settings_for, credit_for
from conferences.meetings.models import Conference
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, User

# A report whose meeting started further than this from the conference is another meeting.
DATE_TOLERANCE = datetime.timedelta(hours=12)


class ImportRefused(Exception):
    """The file was not imported and nothing was written; `problems` says why."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ImportOutcome:
    source_import: AttendanceImport
    created: bool  # False: this very file was imported before, nothing changed
    attendance_created: int = 0
    attendance_updated: int = 0
    rows: list[AttendanceImportRow] = field(default_factory=list)

    @property
    def matched(self) -> list[AttendanceImportRow]:
        return [r for r in self.rows if r.match != AttendanceImportRow.Match.UNMATCHED]

    @property
    def unmatched(self) -> list[AttendanceImportRow]:
        return [r for r in self.rows if r.match == AttendanceImportRow.Match.UNMATCHED]


def presence(
    rows: list[ReportRow], *, spans_are_totals: bool
) -> tuple[list[tuple[datetime.datetime, datetime.datetime]], int]:
    """(join/leave intervals, seconds known only as durations) for one person's lines."""
    intervals, loose = [], 0
    for row in rows:
        if row.interval and not spans_are_totals:
            intervals.append(row.interval)
        elif row.seconds is not None:
            loose += row.seconds
        elif row.interval:
            loose += int((row.interval[1] - row.interval[0]).total_seconds())
    return intervals, loose


def merged_seconds(intervals, loose: int = 0) -> int:
    """Time in the meeting: overlapping intervals count once, durations add up."""
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return int(total) + loose


def _spans_json(intervals) -> list[list[str]]:
    return [[start.isoformat(), stop.isoformat()] for start, stop in intervals]


def _spans_from_json(spans) -> list[tuple[datetime.datetime, datetime.datetime]]:
    return [
        (datetime.datetime.fromisoformat(a), datetime.datetime.fromisoformat(b)) for a, b in spans
    ]


def to_minutes(seconds: int) -> int:
    return (seconds + 30) // 60  # to the nearest minute, half a minute up


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_date(conference: Conference, report: AttendanceReport) -> list[str]:
    first = report.first_seen
    if first is None:
        report.warnings.append(
            "The report has no times, so it could not be checked against the conference date."
        )
        return []
    if abs(first - conference.starts_at) <= DATE_TOLERANCE:
        return []
    seen = timezone.localtime(first)
    planned = timezone.localtime(conference.starts_at)
    return [
        f"This report is for a meeting that started {date_format(seen, 'DATETIME_FORMAT')}, "
        f"but the conference started {date_format(planned, 'DATETIME_FORMAT')}. "
        "Check that you chose the right conference and the right file."
    ]


@dataclass
class _Person:
    user_id: int | None
    how: str
    note: str
    name: str
    email: str
    rows: list[ReportRow] = field(default_factory=list)


def _group(report: AttendanceReport, people: PeopleIndex) -> list[_Person]:
    """One entry per person matched, and one per distinct name that matched nobody."""
    by_key: dict[tuple, _Person] = {}
    for row in report.rows:
        match = people.match(row.name, row.email)
        if match.user_id is not None:
            key = ("user", match.user_id)
        else:
            key = ("name", row.email or name_key(row.name) or f"line {row.line}")
        person = by_key.get(key)
        if person is None:
            person = by_key[key] = _Person(
                match.user_id, match.how, match.note, row.name, row.email
            )
        elif match.how == "email" and person.how != "email":
            person.how, person.note = "email", ""  # the strongest evidence describes the person
        if row.guest and match.user_id is None and "guest" not in person.note:
            person.note = (person.note + " The platform marks this participant as a guest.").strip()
        person.rows.append(row)
    return list(by_key.values())


def _apply(
    *,
    conference: Conference,
    minutes_by_user: dict[int, int],
    via: str,
    source_import: AttendanceImport | None,
    actor: User | None,
    by_hand: bool = False,
) -> tuple[int, int]:
    """Create or update attendance rows (conference + person); returns (created, updated).

    A report overrides what an earlier report of the same platform said; against a roster
    tick or a self check-in, the larger number of minutes wins; live attendance replaces a
    recording attestation. A name matched by hand (`by_hand`) recounts the person's lines
    of the same report with it, and never lowers what another source said.
    """
    if not minutes_by_user:
        return 0, 0
    rule = conference_settings_for(conference.section)
    existing = {
        a.user_id: a
        for a in Attendance.objects.select_for_update().filter(
            conference=conference, user_id__in=list(minutes_by_user)
        )
    }
    kinds = attendee_kinds(
        section=conference.section, user_ids=[u for u in minutes_by_user if u not in existing]
    )
    now = timezone.now()
    new, changed = [], []
    for user_id, minutes in minutes_by_user.items():
        attendance = existing.get(user_id)
        if attendance is None:
            new.append(
                Attendance(
                    conference=conference,
                    user_id=user_id,
                    kind=kinds[user_id],
                    minutes_present=minutes,
                    credited=credit_for(conference, minutes, rule),
                    recorded_via=via,
                    source_import=source_import,
                    recorded_by=actor,
                    recorded_at=now,
                )
            )
            continue
        same_import = source_import is not None and attendance.source_import_id == source_import.pk
        recording = attendance.recorded_via == Attendance.Via.RECORDING
        if by_hand and same_import:
            pass  # the person's lines of this report, recounted with the new one
        elif (attendance.recorded_via == via and not by_hand) or recording:
            pass  # a newer report of the same platform, or live attendance, replaces the row
        elif minutes <= attendance.minutes_present:
            continue  # another source's larger number stands
        credited = credit_for(conference, minutes, rule)
        new_via = via
        if recording and not credited:
            # Too short live to earn credit: the attested recording keeps it.
            credited, new_via = True, Attendance.Via.RECORDING
        if (attendance.minutes_present, attendance.credited, attendance.recorded_via) == (
            minutes,
            credited,
            new_via,
        ):
            continue  # nothing new: a re-import leaves the row as it was
        attendance.minutes_present = minutes
        attendance.credited = credited
        attendance.recorded_via = new_via
        attendance.source_import = source_import
        attendance.recorded_by = actor
        attendance.recorded_at = now
        changed.append(attendance)
    Attendance.objects.bulk_create(new, batch_size=500)
    Attendance.objects.bulk_update(
        changed,
        [
            "minutes_present",
            "credited",
            "recorded_via",
            "source_import",
            "recorded_by",
            "recorded_at",
        ],
        batch_size=500,
    )
    return len(new), len(changed)


@transaction.atomic
def attendance_import(
    *,
    conference: Conference,
    data: bytes,
    filename: str = "",
    actor: User | None,
    request: HttpRequest | None = None,
) -> ImportOutcome:
    """Read a Zoom or Teams report into a conference; ImportRefused if anything is wrong."""
    checksum = _checksum(data)
    earlier = AttendanceImport.objects.filter(conference=conference, checksum=checksum).first()
    if earlier is not None:
        return ImportOutcome(earlier, created=False, rows=list(earlier.rows.select_related("user")))
    if conference.status == Conference.Status.CANCELLED:
        raise ImportRefused(["The conference was cancelled; it has no attendance to import."])
    try:
        report = report_read(data, near=timezone.localtime(conference.starts_at).date())
    except ReportError as error:
        raise ImportRefused(error.problems) from None
    problems = _check_date(conference, report)
    if problems:
        raise ImportRefused(problems)

    people = _group(report, PeopleIndex.for_section(conference.section))
    presences = {
        id(person): presence(person.rows, spans_are_totals=report.spans_are_totals)
        for person in people
    }
    minutes = {key: to_minutes(merged_seconds(*value)) for key, value in presences.items()}
    source_import = AttendanceImport.objects.create(
        conference=conference,
        platform=report.platform,
        filename=filename[:255],
        checksum=checksum,
        rows_read=len(report.rows),
        people_matched=sum(1 for p in people if p.user_id),
        names_unmatched=sum(1 for p in people if not p.user_id),
        warnings=report.warnings,
        imported_by=actor,
    )
    rows = AttendanceImportRow.objects.bulk_create(
        [
            AttendanceImportRow(
                source_import=source_import,
                name=person.name[:200],
                email=person.email[:254],
                lines=[row.line for row in person.rows],
                minutes=minutes[id(person)],
                spans=_spans_json(presences[id(person)][0]),
                loose_seconds=presences[id(person)][1],
                user_id=person.user_id,
                match=person.how,
                note=person.note[:300],
            )
            for person in people
        ]
    )
    via = Attendance.Via.TEAMS if report.platform == TEAMS else Attendance.Via.ZOOM
    created, updated = _apply(
        conference=conference,
        minutes_by_user={p.user_id: minutes[id(p)] for p in people if p.user_id},
        via=via,
        source_import=source_import,
        actor=actor,
    )
    if conference.status == Conference.Status.SCHEDULED and conference.starts_at <= timezone.now():
        Conference.objects.filter(pk=conference.pk).update(status=Conference.Status.HELD)
        conference.status = Conference.Status.HELD
    audit_record(
        action=AuditEvent.Action.IMPORT,
        actor=actor,
        request=request,
        obj=source_import,
        detail={
            "what": "attendance",
            "conference": conference.pk,
            "platform": report.platform,
            "rows": len(report.rows),
            "matched": source_import.people_matched,
            "unmatched": source_import.names_unmatched,
            "attendance_created": created,
            "attendance_updated": updated,
        },
    )
    user_ids = [r.user_id for r in rows if r.user_id]
    users = User.objects.in_bulk(user_ids)
    for row in rows:
        row.user = users.get(row.user_id)
    return ImportOutcome(source_import, True, created, updated, rows)


@transaction.atomic
def import_row_resolve(
    *,
    row: AttendanceImportRow,
    actor: User,
    user: User | None = None,
    guest: bool = False,
) -> AttendanceImportRow:
    """The assistant says who an unmatched name was (remembered for next time) or marks a guest."""
    row = (
        AttendanceImportRow.objects.select_for_update()
        .select_related("source_import__conference__section")
        .get(pk=row.pk)
    )
    if row.match != AttendanceImportRow.Match.UNMATCHED:
        raise ValueError("This name was matched already.")
    if (user is None) == (not guest):
        raise ValueError("Pick a person or mark the name as a guest.")
    source_import = row.source_import
    conference = source_import.conference
    via = (
        Attendance.Via.TEAMS
        if source_import.platform == AttendanceImport.Platform.TEAMS
        else Attendance.Via.ZOOM
    )
    if user is not None:
        # The person's other lines in this report, with this one: overlaps count once.
        theirs = [row, *source_import.rows.filter(user=user).exclude(pk=row.pk)]
        total = to_minutes(
            merged_seconds(
                [span for r in theirs for span in _spans_from_json(r.spans)],
                sum(r.loose_seconds for r in theirs),
            )
        )
        _apply(
            conference=conference,
            minutes_by_user={user.pk: total},
            via=via,
            source_import=source_import,
            actor=actor,
            by_hand=True,
        )
        key = alias_key(row.name)
        if key:
            AttendeeAlias.objects.update_or_create(
                section=conference.section, name_key=key, defaults={"user": user}
            )
        row.user = user
        row.match = AttendanceImportRow.Match.MANUAL
        AttendanceImport.objects.filter(pk=source_import.pk).update(
            people_matched=F("people_matched") + 1, names_unmatched=F("names_unmatched") - 1
        )
    else:
        guest_name = (row.name or row.email)[:200]
        rule = conference_settings_for(conference.section)
        attendance, created = Attendance.objects.get_or_create(
            conference=conference,
            user=None,
            guest_name=guest_name,
            defaults={
                "kind": Attendance.Kind.GUEST,
                "minutes_present": row.minutes,
                "credited": credit_for(conference, row.minutes, rule),
                "recorded_via": via,
                "source_import": source_import,
                "recorded_by": actor,
            },
        )
        if not created:
            if attendance.source_import_id == source_import.pk:
                attendance.minutes_present += row.minutes
            else:
                attendance.minutes_present = max(attendance.minutes_present, row.minutes)
                attendance.source_import = source_import
            attendance.credited = credit_for(conference, attendance.minutes_present, rule)
            attendance.save(update_fields=["minutes_present", "credited", "source_import"])
        row.match = AttendanceImportRow.Match.GUEST
        AttendanceImport.objects.filter(pk=source_import.pk).update(
            names_unmatched=F("names_unmatched") - 1
        )
    row.save(update_fields=["user", "match"])
    audit_record(
        action=AuditEvent.Action.UPDATE,
        actor=actor,
        obj=row,
        detail={"what": "attendance match", "guest": guest, "import": source_import.pk},
    )
    return row

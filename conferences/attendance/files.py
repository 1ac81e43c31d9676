"""Reading the attendance reports meeting platforms export: Zoom and Microsoft Teams.

`report_read(data)` turns the bytes of a report into rows (name, e-mail, join and leave
times, duration) or raises `ReportError` with every problem it found, each naming its
line. It touches no database. Real exports vary with the product version and the locale,
so the reader goes by what the file contains rather than by one fixed layout:

- the file: a CSV in UTF-16 with or without a byte-order mark (Teams), UTF-8 or
  Windows-1252, or an Excel workbook's first sheet, read by the platform's one table reader
  (`peerlearning.lib.tables`);
- the delimiter: tab (Teams), comma (Zoom), semicolon (spreadsheets in many locales), the
  one under which the participant table is found;
- the participant table is found wherever it is (Zoom's "with meeting data" puts a meeting
  row first; Teams puts a summary before it and "in-meeting activities" after it), by
  header names in English, German, French, Spanish and Portuguese;
- durations like `1h 1m 5s`, `57m 5s`, `1:01:05`, `61` (minutes) or `1 Std. 1 Min.`;
- dates month-first or day-first, decided for the whole file, with 2- or 4-digit years and
  12- or 24-hour clocks. Times without a zone are in the site's time zone.
- Teams' older format (one "Joined"/"Left" event per line) is read too.
"""

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO

from django.utils import timezone

from conferences.attendance.values import (
    MAX_BYTES,
    MAX_DURATION,
    ReportError,
    date_order,
    norm,
    parse_duration,
    parse_moment,
)
from peerlearning.lib.tables import TableError, records_read, text_decode
from peerlearning.lib.uploads import SNIFF_BYTES, sniff

__all__ = [
    "MAX_BYTES",
    "TEAMS",
    "ZOOM",
    "AttendanceReport",
    "ReportError",
    "ReportRow",
    "date_order",
    "parse_duration",
    "report_read",
]

MAX_ERRORS = 30

ZOOM = "zoom"
TEAMS = "teams"


@dataclass
class ReportRow:
    line: int
    name: str
    email: str
    joined: datetime.datetime | None = None
    left: datetime.datetime | None = None
    seconds: int | None = None
    guest: bool = False

    @property
    def interval(self) -> tuple[datetime.datetime, datetime.datetime] | None:
        if self.joined and self.left and self.left >= self.joined:
            return self.joined, self.left
        return None


@dataclass
class AttendanceReport:
    platform: str
    rows: list[ReportRow]
    title: str = ""
    meeting_start: datetime.datetime | None = None
    meeting_end: datetime.datetime | None = None
    # True when join/leave are a person's first and last moment (Teams' summary table), so
    # the duration column, not the span, says how long they were there.
    spans_are_totals: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def first_seen(self) -> datetime.datetime | None:
        if self.meeting_start:
            return self.meeting_start
        joins = [row.joined for row in self.rows if row.joined]
        return min(joins) if joins else None


# Headers -----------------------------------------------------------------------------

NAME_HEADERS = {
    "name", "full name", "display name", "participant", "participant name", "user name",
    "attendee", "attendee name", "name original name", "nom", "nom complet", "nom d origine",
    "nombre", "nombre original", "nombre completo", "nome", "nome completo", "teilnehmer",
    "teilnehmername", "vollstandiger name", "anzeigename", "name ursprunglicher name",
    "nom nom d origine", "nombre nombre original",
}  # fmt: skip
EMAIL_WORDS = ("email", "e mail", "mail", "correo", "courriel")
UPN_WORDS = ("upn", "participant id", "user principal")
JOIN_WORDS = ("join", "beitritt", "arrivee", "entree", "entrada", "ingreso", "first seen")
LEAVE_WORDS = (
    "leave",
    "left",
    "austritt",
    "verlassen",
    "heure de depart",
    "sortie",
    "salida",
    "saida",
)
DURATION_WORDS = ("duration", "dauer", "duree", "duracion", "duracao", "time in meeting")
GUEST_WORDS = ("guest", "gast", "invite", "invitado", "convidado")
WAITING_WORDS = ("waiting room", "warteraum", "salle d attente", "sala de espera")
ACTION_WORDS = ("user action", "action", "aktion", "accion", "acao")
TIMESTAMP_WORDS = ("timestamp", "zeitstempel", "horodatage", "marca de tiempo", "date time")
TEAMS_MARKERS = ("in meeting duration", "first join", "last leave", "participant id upn")


def _has(header: str, words) -> bool:
    # A word may begin a longer one: German joins words ("Beitrittszeit").
    return any(re.search(rf"(^| ){re.escape(word)}", header) for word in words)


@dataclass
class Columns:
    name: int | None = None
    email: int | None = None
    upn: int | None = None
    join: int | None = None
    leave: int | None = None
    duration: int | None = None
    duration_unit: int = 60
    guest: int | None = None
    waiting: int | None = None
    action: int | None = None
    timestamp: int | None = None
    spans_are_totals: bool = False

    @property
    def is_participants(self) -> bool:
        return self.name is not None and (
            self.duration is not None or self.join is not None or self.is_event_log
        )

    @property
    def is_event_log(self) -> bool:
        return self.name is not None and self.action is not None and self.timestamp is not None


def columns_of(cells: list[str]) -> Columns:
    found = Columns()
    for index, cell in enumerate(cells):
        header = norm(cell)
        if not header:
            continue

        def take(attribute: str, index: int = index) -> None:
            if getattr(found, attribute) is None:
                setattr(found, attribute, index)

        if _has(header, WAITING_WORDS):
            take("waiting")
        elif _has(header, UPN_WORDS):
            take("upn")
        elif _has(header, EMAIL_WORDS):
            take("email")
        elif _has(header, DURATION_WORDS):
            take("duration")
            if _has(header, ("sec", "secs", "seconds", "sekunden", "segundos")):
                found.duration_unit = 1
            elif _has(header, ("hours", "hrs", "stunden", "heures", "horas")):
                found.duration_unit = 3600
        elif _has(header, JOIN_WORDS):
            take("join")
            found.spans_are_totals |= _has(header, ("first",))
        elif _has(header, LEAVE_WORDS):
            take("leave")
            found.spans_are_totals |= _has(header, ("last",))
        elif _has(header, GUEST_WORDS):
            take("guest")
        elif _has(header, ACTION_WORDS):
            take("action")
        elif _has(header, TIMESTAMP_WORDS):
            take("timestamp")
        elif header in NAME_HEADERS or (
            header.endswith(" name") and not header.startswith(("meeting", "host", "topic"))
        ):
            take("name")
    return found


# The file ----------------------------------------------------------------------------


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    import csv

    reader = csv.reader(StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            yield line, [cell.strip() for cell in cells]
            line = reader.line_num + 1
    except csv.Error as error:
        raise ReportError([f"Line {line} cannot be read as CSV ({error})."]) from None


def _candidates(data: bytes) -> Iterator[tuple[str, list[tuple[int, list[str]]]]]:
    """(delimiter, records) to look for the participant table in: a workbook's one sheet, or
    a CSV's records under each delimiter in turn."""
    if len(data) > MAX_BYTES:
        raise ReportError(
            [f"The file is {len(data) // (1024 * 1024)} MB; an attendance report is at most "
             f"{MAX_BYTES // (1024 * 1024)} MB. Check that this is the right file."]
        )  # fmt: skip
    kind = sniff(data[:SNIFF_BYTES], whole=len(data) <= SNIFF_BYTES).kind
    try:
        if kind == "zip":
            records = [(line, [c.strip() for c in cells]) for line, cells in records_read(data)]
            if not records:
                raise ReportError(["The file is empty."])
            yield "", records
            return
        text = text_decode(data, cp1252=True)
    except TableError as error:
        raise ReportError(
            [f"{error} Download the attendance report as CSV from Zoom or Teams and import "
             "that file."]
        ) from None  # fmt: skip
    if not text.strip():
        raise ReportError(["The file is empty."])
    for delimiter in ("\t", ",", ";"):
        yield delimiter, list(_records(text, delimiter))


def _table(data: bytes) -> tuple[str, list[tuple[int, list[str]]], int]:
    """(delimiter, records, index of the participant table's header); ReportError."""
    first: list[tuple[int, list[str]]] = []
    for delimiter, records in _candidates(data):
        first = first or records
        for index, (_, cells) in enumerate(records):
            if len(cells) >= 2 and columns_of(cells).is_participants:
                return delimiter, records, index
    raise _no_table(first)


META_KEYS = {
    "title": ("meeting title", "topic", "titre de la reunion", "besprechungstitel", "tema"),
    "start": ("start time", "meeting start time", "startzeit", "heure de debut",
              "hora de inicio", "beginn"),
    "end": ("end time", "meeting end time", "endzeit", "heure de fin", "hora de finalizacion",
            "ende"),
}  # fmt: skip


def _meta(records: list[tuple[int, list[str]]]) -> dict[str, str]:
    """Title and start/end from the lines above the table: key-value pairs or a header row."""
    meta: dict[str, str] = {}

    def key_of(cell: str) -> str | None:
        header = norm(cell)
        return next((k for k, names in META_KEYS.items() if header in names), None)

    for index, (_, cells) in enumerate(records):
        keys = [key_of(cell) for cell in cells]
        if len([c for c in cells if c]) == 2 and keys[0]:
            meta.setdefault(keys[0], cells[1])  # Teams' summary: "Start time<TAB>…"
        elif sum(1 for k in keys if k) >= 2 and index + 1 < len(records):
            values = records[index + 1][1]  # Zoom's meeting row under its header row
            for position, key in enumerate(keys):
                if key and position < len(values):
                    meta.setdefault(key, values[position])
    return meta


def _no_table(records: list[tuple[int, list[str]]]) -> ReportError:
    first = next((cells for _, cells in records if any(cells)), [])
    shown = " ".join(" | ".join(first).split())
    shown = shown if len(shown) <= 120 else shown[:117] + "…"
    return ReportError(
        [
            "No participant table was found. A Zoom participant report has the columns "
            "Name, Email, Join time, Leave time, Duration; a Teams attendance report has "
            "Name, First Join, Last Leave, In-Meeting Duration, Email. The file's first "
            f"line reads: “{shown}”."
        ]
    )


def report_read(data: bytes, *, near: datetime.date | None = None, tz=None) -> AttendanceReport:
    """Read a Zoom or Teams attendance report; raise ReportError naming every problem.

    `near` (the conference's date) settles whether 11/12 is November or December when the
    file itself cannot tell.
    """
    tz = tz or timezone.get_default_timezone()
    delimiter, records, header_index = _table(data)
    header_line, header = records[header_index]
    columns = columns_of(header)
    meta = _meta(records[:header_index])

    body: list[tuple[int, list[str]]] = []
    for line, cells in records[header_index + 1 :]:
        filled = [c for c in cells if c]
        if not filled:
            break  # a blank line ends the table; Teams' next section follows it
        if len(filled) == 1 and len(header) > 2 and re.match(r"^\d+\.\s", filled[0]):
            break  # a section title such as "3. In-Meeting Activities"
        body.append((line, cells))
    if not body:
        raise ReportError([f"Line {header_line} names the columns, but no participant follows it."])

    def cell(cells: list[str], index: int | None) -> str:
        return cells[index] if index is not None and index < len(cells) else ""

    time_texts = [meta.get("start", ""), meta.get("end", "")]
    for _, cells in body:
        time_texts += [
            cell(cells, columns.join),
            cell(cells, columns.leave),
            cell(cells, columns.timestamp),
        ]
    order, guessed = date_order([t for t in time_texts if t], near=near)

    teams = (
        delimiter == "\t"
        or columns.is_event_log
        or any(_has(norm(h), TEAMS_MARKERS) for h in header)
        or re.match(r"^\d+\.\s", next((c[0] for _, c in records if c and c[0]), ""))
    )
    report = AttendanceReport(
        platform=TEAMS if teams else ZOOM,
        rows=[],
        title=meta.get("title", ""),
        meeting_start=parse_moment(meta.get("start", ""), order, tz),
        meeting_end=parse_moment(meta.get("end", ""), order, tz),
        spans_are_totals=columns.spans_are_totals and columns.duration is not None,
    )
    if guessed:
        how = "month-first (11/12 is 12 November)"
        if order == "dmy":
            how = "day-first (11/12 is 11 December)"
        report.warnings.append(
            f"The dates could be month-first or day-first; they were read {how}."
        )
    problems: list[str] = []

    def problem(line: int, message: str) -> None:
        problems.append(f"Line {line}: {message}")

    if columns.is_event_log and columns.duration is None and columns.join is None:
        report.rows = _rows_from_event_log(body, columns, order, tz, problem)
    else:
        waiting = 0
        for line, cells in body:
            row = _row(line, cells, columns, order, tz, problem)
            if row is None:
                continue
            if _yes(cell(cells, columns.waiting)):
                waiting += 1
                continue
            report.rows.append(row)
        if waiting:
            report.warnings.append(
                f"{waiting} line{'s' if waiting > 1 else ''} recorded time in the waiting room, "
                "which does not count as attendance."
            )
    if problems:
        shown = problems[:MAX_ERRORS]
        if len(problems) > MAX_ERRORS:
            shown.append(f"… and {len(problems) - MAX_ERRORS} more problems.")
        raise ReportError(shown)
    if not report.rows:
        raise ReportError(["The report lists nobody who attended the meeting."])
    return report


YES = {"yes", "y", "true", "1", "ja", "oui", "si", "sim"}


def _yes(value: str) -> bool:
    return norm(value) in YES


def _row(line, cells, columns: Columns, order, tz, problem) -> ReportRow | None:
    def cell(index):
        return cells[index] if index is not None and index < len(cells) else ""

    name = " ".join(cell(columns.name).split())[:200]
    email = cell(columns.email).strip().lower()
    if "@" not in email:
        upn = cell(columns.upn).strip().lower()
        email = upn if "@" in upn else ""
    if not name and not email:
        problem(line, "has no name and no e-mail address.")
        return None
    row = ReportRow(line=line, name=name, email=email, guest=_yes(cell(columns.guest)))
    ok = True
    for attribute, index, label in (
        ("joined", columns.join, "join time"),
        ("left", columns.leave, "leave time"),
    ):
        text = cell(index)
        if text:
            moment = parse_moment(text, order, tz)
            if moment is None:
                problem(line, f"the {label} “{text}” cannot be read as a date and time.")
                ok = False
            setattr(row, attribute, moment)
    if row.joined and row.left and row.left < row.joined:
        problem(line, "the leave time is before the join time.")
        ok = False
    duration_text = cell(columns.duration)
    if duration_text:
        row.seconds = parse_duration(duration_text, columns.duration_unit)
        if row.seconds is None or row.seconds > MAX_DURATION:
            problem(line, f"the duration “{duration_text}” cannot be read.")
            ok = False
    if ok and row.seconds is None and row.interval is None:
        problem(line, "has neither a duration nor a join and a leave time.")
        ok = False
    return row if ok else None


def _rows_from_event_log(body, columns: Columns, order, tz, problem) -> list[ReportRow]:
    """Teams' older report: "Joined"/"Left" events per line, paired into intervals."""
    events = []
    for line, cells in body:

        def cell(index, cells=cells):
            return cells[index] if index is not None and index < len(cells) else ""

        name = " ".join(cell(columns.name).split())[:200]
        action = norm(cell(columns.action))
        moment = parse_moment(cell(columns.timestamp), order, tz)
        if not name:
            problem(line, "has no name.")
        elif moment is None:
            problem(line, f"the time “{cell(columns.timestamp)}” cannot be read.")
        elif action.startswith(("join", "beigetreten", "rejoint", "unido")):
            events.append((line, name, cell(columns.email).lower(), "join", moment))
        elif action.startswith(("left", "verlassen", "quitte", "salio")):
            events.append((line, name, cell(columns.email).lower(), "leave", moment))
        else:
            problem(line, f"the action “{cell(columns.action)}” is neither joined nor left.")
    if not events:
        return []
    meeting_end = max(moment for *_, moment in events)
    rows, open_joins = [], {}
    for line, name, email, what, moment in sorted(events, key=lambda e: (e[4], e[0])):
        if what == "join":
            open_joins.setdefault(name, (line, email, moment))
        elif name in open_joins:
            first_line, first_email, joined = open_joins.pop(name)
            rows.append(ReportRow(first_line, name, first_email or email, joined, moment))
    # Someone still in the meeting when the log ends was there until its end.
    for name, (line, email, joined) in open_joins.items():
        rows.append(ReportRow(line, name, email, joined, meeting_end))
    return sorted(rows, key=lambda r: r.line)

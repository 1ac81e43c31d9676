"""Reading Zoom and Teams attendance reports, tolerant of versions and locales."""

import csv
import datetime
import io

import openpyxl
import pytest

from conferences.attendance.files import (
    TEAMS,
    ZOOM,
    ReportError,
    date_order,
    parse_duration,
    report_read,
)
from conferences.tests.conftest import local, sample_bytes

NOV_12 = datetime.date(2026, 11, 12)


def read(text: str | bytes, **kwargs):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return report_read(data, **kwargs)


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(ReportError) as refused:
        report_read(data, near=NOV_12)
    return refused.value.problems


def test_the_zoom_sample_gives_every_join_line_with_its_times():
    report = report_read(sample_bytes("zoom_participants.csv"), near=NOV_12)
    assert report.platform == ZOOM
    assert report.title == "Neuroradiology Peer Learning Conference"
    assert report.meeting_start == local(2026, 11, 12, 7, 0, 3)
    assert len(report.rows) == 18
    mateo = [r for r in report.rows if r.name == "Mateo Castillo"]
    assert [(r.joined, r.left) for r in mateo] == [
        (local(2026, 11, 12, 7, 3, 24), local(2026, 11, 12, 7, 55, 24)),
        (local(2026, 11, 12, 7, 40, 3), local(2026, 11, 12, 8, 1, 3)),
    ]
    ines = next(r for r in report.rows if r.name == "Ines Ferreira")
    assert ines.email == "" and ines.seconds == 40 * 60
    assert next(r for r in report.rows if r.name.startswith("iPhone")).guest


def test_the_teams_sample_reads_the_participant_table_and_not_the_activities():
    report = report_read(sample_bytes("teams_attendance.csv"), near=NOV_12)
    assert report.platform == TEAMS
    assert report.meeting_start == local(2026, 11, 12, 7, 0, 3)
    assert report.spans_are_totals  # first join / last leave: the duration column decides
    assert [r.name for r in report.rows][:2] == ["Avery Okafor", "Jordan Lindqvist"]
    assert len(report.rows) == 14
    avery = report.rows[0]
    assert avery.seconds == 3665 and avery.email == "avery.okafor@example-hospital.org"
    assert report.rows[-1].name == "Guest Presenter (External)" and report.rows[-1].email == ""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h 1m 5s", 3665),
        ("57m 5s", 3425),
        ("25m 0s", 1500),
        ("45s", 45),
        ("1 h 2 min", 3720),
        ("1 Std. 5 Min.", 3900),
        ("1:01:05", 3665),
        ("1:05", 3900),
        ("61", 3660),
        ("45,5", 2730),
    ],
)
def test_durations_are_read_in_the_forms_platforms_write(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "1h and a bit", "5 parsecs", "1:75"])
def test_an_unreadable_duration_is_none(text):
    assert parse_duration(text) is None


def test_day_first_dates_are_recognised_from_a_day_above_twelve():
    order, guessed = date_order(["13/11/2026 07:00", "12/11/2026 07:05"])
    assert (order, guessed) == ("dmy", False)


def test_an_ambiguous_date_is_settled_by_the_conference_date():
    assert date_order(["11/12/2026 07:00"], near=datetime.date(2026, 11, 12)) == ("mdy", False)
    assert date_order(["11/12/2026 07:00"], near=datetime.date(2026, 12, 11)) == ("dmy", False)


GERMAN = (
    "Name (ursprünglicher Name);E-Mail-Adresse;Beitrittszeit;Austrittszeit;Dauer (Minuten);Gast\r\n"
    "Lena Novak;lena.novak@example-hospital.org;12.11.2026 07:04:31;12.11.2026 07:53:31;49;Nein\r\n"
    "Jürgen Weiß;;12.11.2026 07:10:00;12.11.2026 07:40:00;30;Ja\r\n"
)


def test_a_semicolon_separated_german_zoom_export_is_read():
    report = read(GERMAN)
    assert [(r.name, r.email) for r in report.rows] == [
        ("Lena Novak", "lena.novak@example-hospital.org"),
        ("Jürgen Weiß", ""),
    ]
    assert report.rows[0].joined == local(2026, 11, 12, 7, 4, 31)
    assert report.rows[1].guest


def test_a_utf16_file_without_a_byte_order_mark_is_read():
    text = "Name\tEmail\tDuration\r\nLena Novak\tlena.novak@example-hospital.org\t49m 5s\r\n"
    report = read(text.encode("utf-16-le"))
    assert report.rows[0].seconds == 49 * 60 + 5


def test_a_zoom_report_saved_as_an_excel_workbook_is_read_like_its_csv():
    book = openpyxl.Workbook()
    sheet = book.active
    text = sample_bytes("zoom_participants.csv").decode("utf-8-sig")
    for cells in csv.reader(io.StringIO(text)):
        sheet.append(cells)
    saved = io.BytesIO()
    book.save(saved)

    from_csv = report_read(sample_bytes("zoom_participants.csv"), near=NOV_12)
    from_workbook = report_read(saved.getvalue(), near=NOV_12)
    assert from_workbook.platform == ZOOM and from_workbook.meeting_start == from_csv.meeting_start
    assert [(r.name, r.email, r.joined, r.left) for r in from_workbook.rows] == [
        (r.name, r.email, r.joined, r.left) for r in from_csv.rows
    ]


def test_zoom_without_meeting_data_and_with_other_column_names():
    text = (
        "Participant,User Email,Join Time,Leave Time,Duration (Mins)\n"
        "Lena Novak,LENA.NOVAK@example-hospital.org,2026-11-12 07:04:31,2026-11-12 07:53:31,49\n"
    )
    row = read(text).rows[0]
    assert row.email == "lena.novak@example-hospital.org"
    assert row.joined == local(2026, 11, 12, 7, 4, 31)


def test_teams_older_event_log_pairs_joins_with_leaves():
    text = (
        "Full Name\tUser Action\tTimestamp\r\n"
        "Lena Novak\tJoined\t11/12/2026, 7:00:00 AM\r\n"
        "Kofi Mensah\tJoined\t11/12/2026, 7:05:00 AM\r\n"
        "Lena Novak\tLeft\t11/12/2026, 7:30:00 AM\r\n"
        "Lena Novak\tJoined\t11/12/2026, 7:40:00 AM\r\n"
        "Kofi Mensah\tLeft\t11/12/2026, 7:50:00 AM\r\n"
    )
    report = read(text.encode("utf-16"))
    spans = [(r.name, r.joined.strftime("%H:%M"), r.left.strftime("%H:%M")) for r in report.rows]
    # Lena is still in the meeting when the log ends: she stays until its last event.
    assert spans == [
        ("Lena Novak", "07:00", "07:30"),
        ("Kofi Mensah", "07:05", "07:50"),
        ("Lena Novak", "07:40", "07:50"),
    ]
    assert report.platform == TEAMS


def test_time_in_the_waiting_room_does_not_count():
    text = (
        "Name (original name),Email,Join time,Leave time,Duration (minutes),Guest,In waiting room\n"
        "Lena Novak,lena.novak@example-hospital.org,11/12/2026 06:55:00 AM,"
        "11/12/2026 07:00:00 AM,5,No,Yes\n"
        "Lena Novak,lena.novak@example-hospital.org,11/12/2026 07:00:00 AM,"
        "11/12/2026 07:49:00 AM,49,No,No\n"
    )
    report = read(text, near=NOV_12)
    assert len(report.rows) == 1
    assert "waiting room" in report.warnings[0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf \r\n", "The file is empty."),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel workbook"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (bytes(range(256)) * 8, "binary file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        (
            b"email,first_name,last_name,roles,section,participating\n"
            b"a@example.org,A,B,radiologist,neuro,yes\n",
            "No participant table was found",
        ),
        (b"Name,Email,Join time,Leave time,Duration (minutes)\n", "no participant follows"),
    ],
)
def test_a_file_that_is_not_an_attendance_report_is_refused_with_its_problem(data, expected):
    problems = problems_of(data)
    assert len(problems) == 1 and expected in problems[0]


def test_every_unreadable_line_is_named_with_its_number():
    text = (
        "Name,Email,Join time,Leave time,Duration (minutes)\n"
        "Lena Novak,lena.novak@example-hospital.org,11/12/2026 07:04,11/12/2026 07:53,49\n"
        "Kofi Mensah,kofi.mensah@example-hospital.org,yesterday,11/12/2026 07:53,a while\n"
        ",,,,\n"
        "Sora Takeda,,11/12/2026 07:50,11/12/2026 07:10,\n"
    )
    problems = problems_of(text.encode())
    assert problems == [
        "Line 3: the join time “yesterday” cannot be read as a date and time.",
        "Line 3: the duration “a while” cannot be read.",
    ]
    # A blank line ends the table, so Sora's line after it is not read at all; without it:
    problems = problems_of(text.replace(",,,,\n", "").encode())
    assert problems[-1] == "Line 4: the leave time is before the join time."


def test_a_line_without_name_or_email_is_a_problem():
    text = "Name\tEmail\tDuration\r\n\tnobody\t5m\r\n"
    assert problems_of(text.encode("utf-16")) == ["Line 2: has no name and no e-mail address."]

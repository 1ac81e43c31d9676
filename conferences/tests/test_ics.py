"""The calendar file is valid RFC 5545 as calendar clients read it."""

import datetime

from conferences.meetings.ics import conference_ics, escape_text, fold
from conferences.models import Conference


def an_event(**overrides) -> Conference:
    tz = datetime.timezone(datetime.timedelta(hours=-5))
    values = {
        "pk": 42,
        "title": "Neuro; spine, and “skull base”",
        "starts_at": datetime.datetime(2026, 11, 12, 7, 0, tzinfo=tz),
        "ends_at": datetime.datetime(2026, 11, 12, 8, 0, tzinfo=tz),
        "location": "Room 3B, Radiology",
        "virtual_url": "https://zoom.example.org/j/81244179023?pwd=" + "x" * 80,
        "sequence": 2,
    }
    values.update(overrides)
    return Conference(**values)


def calendar(conference=None, **kwargs) -> str:
    conference = conference or an_event()
    return conference_ics(
        conference=conference,
        title=conference.title,
        location=conference.location,
        attendee_email="avery.okafor@example-hospital.org",
        attendee_name="Avery Okafor",
        stamp=datetime.datetime(2026, 11, 1, 9, 30, tzinfo=datetime.UTC),
        **kwargs,
    )


def unfolded(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_every_line_ends_with_crlf_and_none_is_longer_than_75_octets():
    text = calendar()
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_times_are_utc_and_the_event_says_what_where_and_who():
    lines = unfolded(calendar())
    assert "METHOD:REQUEST" in lines
    assert "DTSTART:20261112T120000Z" in lines
    assert "DTEND:20261112T130000Z" in lines
    assert "DTSTAMP:20261101T093000Z" in lines
    assert "SEQUENCE:2" in lines
    assert "SUMMARY:Neuro\\; spine\\, and “skull base”" in lines
    assert "LOCATION:Room 3B\\, Radiology" in lines
    assert any(line.startswith("URL:https://zoom.example.org/j/") for line in lines)
    assert any(line.startswith("ORGANIZER;CN=") for line in lines)
    assert (
        "ATTENDEE;CN=Avery Okafor;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:"
        "mailto:avery.okafor@example-hospital.org" in lines
    )
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    assert lines[-2:] == ["END:VCALENDAR", ""]


def test_the_uid_stays_the_same_when_the_conference_moves():
    before = next(line for line in unfolded(calendar()) if line.startswith("UID:"))
    moved = an_event(starts_at=an_event().starts_at + datetime.timedelta(days=1), sequence=3)
    after = next(line for line in unfolded(calendar(moved)) if line.startswith("UID:"))
    assert before == after
    assert before.startswith("UID:conference-42@")


def test_a_cancellation_says_so():
    lines = unfolded(calendar(method="CANCEL"))
    assert "METHOD:CANCEL" in lines and "STATUS:CANCELLED" in lines


def test_folding_never_splits_a_multibyte_character():
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    for piece in folded.split("\r\n"):
        assert len(piece.encode()) <= 75
        piece.encode().decode("utf-8")  # each piece is whole UTF-8
    assert folded.replace("\r\n ", "") == line


def test_text_values_escape_backslashes_and_newlines():
    assert escape_text("a\\b\nc;d,e") == "a\\\\b\\nc\\;d\\,e"

"""iCalendar (RFC 5545) invitations for conferences, written by hand: one event, no library.

The rules that matter to real calendar clients: CRLF line endings, lines folded at 75
octets (never inside a UTF-8 character), TEXT values escaped, times in UTC with a `Z`, a
UID that stays the same for the life of the conference and a SEQUENCE that grows when its
time or place changes, so a client replaces the event instead of adding a second one.
METHOD:REQUEST (iTIP, RFC 5546) asks for ORGANIZER and ATTENDEE, so each invitee gets a
file that names them.
"""

import datetime
from email.utils import parseaddr

from django.conf import settings
from django.urls import reverse

CRLF = "\r\n"
FOLD_AT = 75
PRODID = "-//Peer Learning//Conferences//EN"


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def param_value(value: str) -> str:
    """A parameter value (3.1): quoted when it holds : ; or , and never a double quote."""
    value = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets joined by CRLF + space (3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= FOLD_AT:
        return line
    pieces, start, limit = [], 0, FOLD_AT
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        # Back off to the start of a UTF-8 character: continuation bytes are 0b10xxxxxx.
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:
            end -= 1
        pieces.append(encoded[start:end].decode("utf-8"))
        start = end
        limit = FOLD_AT - 1  # continuation lines begin with the folding space
    return (CRLF + " ").join(pieces)


def _organizer() -> tuple[str, str]:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return name or settings.SITE_NAME, address or "noreply@localhost"


def conference_ics(
    *,
    conference,
    title: str,
    location: str,
    attendee_email: str,
    attendee_name: str = "",
    method: str = "REQUEST",
    stamp: datetime.datetime,
) -> str:
    """The calendar file inviting one person to a conference (or cancelling it).

    ``title`` and ``location`` are the conference's texts as they may leave the champion's
    hands (`conferences.text_sources.conference_text`).
    """
    cancelled = method == "CANCEL"
    page = settings.SITE_URL + reverse("conferences:detail", args=[conference.pk])
    organizer_name, organizer_address = _organizer()
    description = [f"Peer-learning conference: {title}", f"Details: {page}"]
    if conference.virtual_url:
        description.insert(1, f"Join online: {conference.virtual_url}")
    location = location or conference.virtual_url

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{conference.ical_uid}",
        f"DTSTAMP:{utc(stamp)}",
        f"SEQUENCE:{conference.sequence}",
        f"DTSTART:{utc(conference.starts_at)}",
        f"DTEND:{utc(conference.ends_at)}",
        f"SUMMARY:{escape_text(title)}",
    ]
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    # URL is a URI value, not TEXT: it is not escaped.
    lines.append(f"URL:{conference.virtual_url or page}")
    lines.append(f"DESCRIPTION:{escape_text(chr(10).join(description))}")
    lines.append(f"ORGANIZER;CN={param_value(organizer_name)}:mailto:{organizer_address}")
    attendee_params = ["ROLE=REQ-PARTICIPANT", "PARTSTAT=NEEDS-ACTION", "RSVP=FALSE"]
    if attendee_name:
        attendee_params.insert(0, f"CN={param_value(attendee_name)}")
    lines.append(f"ATTENDEE;{';'.join(attendee_params)}:mailto:{attendee_email}")
    lines.append(f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}")
    lines.append("TRANSP:OPAQUE")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return CRLF.join(fold(line) for line in lines) + CRLF

"""The values inside attendance reports: names, dates and times, durations.

Used by `files.py`; see its docstring for what the reader tolerates.
"""

import datetime
import re
import unicodedata

from django.utils import timezone

MAX_BYTES = 10 * 1024 * 1024
MAX_DURATION = 24 * 3600


class ReportError(Exception):
    """The file cannot be imported; `problems` says why, one message each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def norm(value: str) -> str:
    """Lower case, no accents, punctuation turned into single spaces."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split())


# Times and durations -------------------------------------------------------------------

DATE_TIME = re.compile(
    r"^\s*(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4})"
    r"(?:\s*,?\s*|T)"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?(?:[.,]\d+)?"
    r"\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?\s*$"
)


def _date_parts(text: str) -> tuple[int, int, int] | None:
    match = DATE_TIME.match(text)
    if not match:
        return None
    return int(match["a"]), int(match["b"]), int(match["c"])


def _year(value: int) -> int:
    return value + 2000 if value < 100 else value


def _date_in(order: str, parts: tuple[int, int, int]) -> datetime.date | None:
    a, b, c = parts
    try:
        if order == "ymd":
            return datetime.date(_year(a), b, c)
        if order == "mdy":
            return datetime.date(_year(c), a, b)
        return datetime.date(_year(c), b, a)
    except ValueError:
        return None


def date_order(texts: list[str], *, near: datetime.date | None = None) -> tuple[str, bool]:
    """Which of year-, month- or day-first fits every date in the file; (order, was it a guess)."""
    parts = [p for p in (_date_parts(t) for t in texts) if p]
    if not parts:
        return "mdy", False
    if all(p[0] > 31 for p in parts):
        return "ymd", False
    fitting = [o for o in ("mdy", "dmy") if all(_date_in(o, p) for p in parts)]
    if len(fitting) == 1:
        return fitting[0], False
    if not fitting:
        return "mdy", False  # each bad date is reported on its own line
    if all(_date_in("mdy", p) == _date_in("dmy", p) for p in parts):
        return "mdy", False
    if near is not None:
        first = parts[0]
        return min(fitting, key=lambda o: abs((_date_in(o, first) - near).days)), False
    twelve_hour = any(re.search(r"[AaPp]\.?\s?[Mm]\.?\s*$", t) for t in texts)
    return ("mdy" if twelve_hour else "dmy"), True


def parse_moment(text: str, order: str, tz) -> datetime.datetime | None:
    match = DATE_TIME.match(text)
    if not match:
        return None
    day = _date_in(order, (int(match["a"]), int(match["b"]), int(match["c"])))
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    if match["ampm"]:
        pm = match["ampm"][0] in "Pp"
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if pm else 0)
    if day is None or hour > 23 or minute > 59 or second > 59:
        return None
    naive = datetime.datetime.combine(day, datetime.time(hour, minute, second))
    zone = match["zone"]
    if zone in ("Z", "UTC", "GMT"):
        return naive.replace(tzinfo=datetime.UTC)
    if zone:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return naive.replace(tzinfo=datetime.timezone(sign * offset))
    return timezone.make_aware(naive, tz)


UNIT_SECONDS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "std": 3600,
    "stunde": 3600, "stunden": 3600, "heure": 3600, "heures": 3600, "hora": 3600,
    "horas": 3600, "uur": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuten": 60,
    "minuto": 60, "minutos": 60, "mn": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "sek": 1, "sekunde": 1,
    "sekunden": 1, "seg": 1, "segundo": 1, "segundos": 1, "seconde": 1, "secondes": 1,
}  # fmt: skip
DURATION_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([^\W\d_]+)\.?", re.UNICODE)


def parse_duration(text: str, unit: int = 60) -> int | None:
    """Seconds in `1h 1m 5s`, `1:01:05`, `61` (in `unit` seconds); None if unreadable."""
    value = text.strip().lower()
    if not value:
        return None
    if re.fullmatch(r"\d+(?:[.,]\d+)?", value):
        return round(float(value.replace(",", ".")) * unit)
    if re.fullmatch(r"\d{1,3}:\d{2}(?::\d{2})?", value):
        numbers = [int(n) for n in value.split(":")]
        if len(numbers) == 2:  # h:mm, as a spreadsheet writes a length of time
            numbers.append(0)
        hours, minutes, seconds = numbers
        if minutes > 59 or seconds > 59:
            return None
        return hours * 3600 + minutes * 60 + seconds
    total, position = 0.0, 0
    for match in DURATION_PART.finditer(value):
        if value[position : match.start()].strip(" ,"):
            return None
        seconds = UNIT_SECONDS.get(match[2])
        if seconds is None:
            return None
        total += float(match[1].replace(",", ".")) * seconds
        position = match.end()
    if position == 0 or value[position:].strip(" ,."):
        return None
    return round(total)

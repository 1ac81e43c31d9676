"""Calendar months as the programme counts them: a month is its first day, in the site's time
zone. Targets, monitoring, reminders and the reports all read months through these helpers."""

import calendar
import datetime
import functools

from django.utils import timezone


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def days_in(month: datetime.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_start_at(month: datetime.date) -> datetime.datetime:
    """Midnight on the month's first day in the site's time zone."""
    return datetime.datetime.combine(month, datetime.time(), tzinfo=timezone.get_current_timezone())


def parse_month(text: str | None) -> datetime.date | None:
    """'2026-03' -> date(2026, 3, 1); None for anything else."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        return None


def month_key(month: datetime.date) -> str:
    return f"{month:%Y-%m}"


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


@functools.lru_cache(maxsize=256)
def as_month(value) -> datetime.date:
    """A TruncMonth value as the month's first day in the site's time zone.

    Cached: a grouped query returns the same dozen months on thousands of rows, and the
    time-zone conversion was a tenth of the dashboards' Python time.
    """
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def default_report_year(today: datetime.date | None = None) -> int:
    """Early in the year the report is about the year just ended; later, about this one."""
    today = today or timezone.localdate()
    return today.year - 1 if today.month <= 3 else today.year

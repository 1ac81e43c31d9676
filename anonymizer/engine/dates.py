"""Date shifting for the Retain Longitudinal Temporal Information with Modified Dates option.

Every date of one case moves by the same whole number of days, so intervals between the
studies of a case are kept while the real dates are not. Times of day are left as they are
(a whole-day shift never moves a time across midnight). The offset is derived from the
installation secret and the case key, so it is the same in every process and is never
stored or reported: knowing it would undo the shift.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from functools import lru_cache

from .uids import case_key_bytes

# Offsets fall between one and ten years into the past.
MIN_OFFSET_DAYS = 365
MAX_OFFSET_DAYS = 3650

_DA = re.compile(r"^(\d{4})(?:(\d{2})(\d{2})?)?$")
_DA_LEGACY = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(.*)$")


@lru_cache(maxsize=64)
def case_date_offset(*, secret: str | bytes, case_key: str) -> int:
    """The case's shift in days (always negative)."""
    mac = hmac.new(case_key_bytes(secret=secret, case_key=case_key), b"date-offset", hashlib.sha256)
    span = MAX_OFFSET_DAYS - MIN_OFFSET_DAYS + 1
    return -(MIN_OFFSET_DAYS + int.from_bytes(mac.digest()[:8], "big") % span)


def _shift_parts(year: str, month: str | None, day: str | None, days: int) -> str | None:
    """Shift a date given at year, month or day precision; same precision out.

    A partial date is taken at the middle of its month or year, so a short shift does not
    move it into the previous one.
    """
    try:
        if day is not None:
            base = dt.date(int(year), int(month), int(day))
        elif month is not None:
            base = dt.date(int(year), int(month), 15)
        else:
            base = dt.date(int(year), 7, 2)
        shifted = base + dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    if day is not None:
        return shifted.strftime("%Y%m%d")
    if month is not None:
        return shifted.strftime("%Y%m")
    return shifted.strftime("%Y")


def shift_da(value: str, days: int) -> str | None:
    """Shift one DA value; None when it is not a date we can read."""
    value = value.strip()
    match = _DA.match(value) or _DA_LEGACY.match(value)
    if match is None:
        return None
    return _shift_parts(*match.groups(), days)


def shift_dt(value: str, days: int) -> str | None:
    """Shift the date part of one DT value, keeping time, fraction and UTC offset."""
    value = value.strip()
    match = _DT.match(value)
    if match is None:
        return None
    year, month, day, rest = match.groups()
    if rest and (day is None or not re.fullmatch(r"(\d{2}){0,3}(\.\d{1,6})?([+-]\d{4})?", rest)):
        return None
    date_part = _shift_parts(year, month, day, days)
    return None if date_part is None else date_part + rest

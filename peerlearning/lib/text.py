"""Text that must stay on one line: titles and names that end up in e-mail subjects.

A line break in a header is refused by Django (`BadHeaderError`) and, unchecked, would let
text start a header of its own. Forms refuse it with `validate_single_line`; the e-mail
builder folds whatever still arrives with `single_line`.
"""

import re

from django.core.exceptions import ValidationError

# Everything Python's str.splitlines() breaks on, and the other control characters.
LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_single_line(value: str) -> None:
    """Refuse line breaks and control characters in a one-line field."""
    if LINE_BREAKS.search(value or ""):
        raise ValidationError("Keep this on one line (no line breaks).", code="line_break")
    if CONTROL.search((value or "").replace("\t", "")):
        raise ValidationError("This holds a control character; please retype it.", code="control")


def single_line(value: str, *, max_length: int | None = None) -> str:
    """`value` on one line: breaks and control characters become single spaces."""
    text = " ".join(CONTROL.sub(" ", LINE_BREAKS.sub(" ", value or "")).split())
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text

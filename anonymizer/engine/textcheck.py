"""Free text through the scrubber, then the detector: what every text gate calls.

The scrubber replaces what it knows (the case's and the roster's names, its identifiers,
patterns); the detector then flags what is left, on the scrubbed text. Flags carry kinds
and offsets into the scrubbed text, never its words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from anonymizer.engine.text import KnownIdentifiers, Replacement, scrub_text

from .detect import Flag, detect


@dataclass(frozen=True)
class TextCheck:
    original: str
    text: str  # the scrubbed text
    replacements: tuple[Replacement, ...]  # spans of the original
    written: tuple[tuple[int, int], ...]  # spans of the scrubbed text the engine wrote
    flags: tuple[Flag, ...]  # spans of the scrubbed text

    @property
    def clean(self) -> bool:
        return not self.flags

    def original_offset(self, position: int) -> int:
        """Where a position of the scrubbed text was in the original."""
        shift = 0
        for (start, end), replacement in zip(self.written, self.replacements, strict=True):
            if position < start:
                break
            if position < end:
                return replacement.start
            shift = replacement.end - end
        return position + shift


def check_text(
    text: str,
    *,
    known: KnownIdentifiers | None = None,
    roster: Iterable[str] = (),
    date_offset_days: int | None = None,
    dates: bool = True,
) -> TextCheck:
    """Scrub ``text`` with what is known, then flag what might still identify someone.

    ``dates=False`` leaves dates to the detector (text whose dates were shifted already).
    """
    result = scrub_text(
        text or "", known=known, roster=roster, date_offset_days=date_offset_days, dates=dates
    )
    written = []
    shift = 0
    for replacement in result.replacements:
        start = replacement.start + shift
        length = replacement.written
        written.append((start, start + length))
        shift += length - (replacement.end - replacement.start)
    flags = detect(result.text, ignore=written)
    return TextCheck(text or "", result.text, result.replacements, tuple(written), tuple(flags))

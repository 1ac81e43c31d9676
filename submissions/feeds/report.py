"""A result as the feed understands it, whatever format it came in."""

import datetime
import re
from dataclasses import dataclass, field


class MessageRefused(Exception):
    """A message the feed cannot use; `code` is the HL7 acknowledgment code (AE or AR)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Signer:
    """Who signed the result, as the sender names them: matched to a user by NPI, id, name."""

    npi: str = ""
    ris_id: str = ""
    family_name: str = ""
    given_name: str = ""

    @property
    def label(self) -> str:
        name = " ".join(part for part in (self.given_name, self.family_name) if part)
        ids = ", ".join(
            f"{kind} {value}" for kind, value in (("NPI", self.npi), ("id", self.ris_id)) if value
        )
        return " · ".join(part for part in (name, ids) if part)


@dataclass(frozen=True)
class ResultReport:
    source: str
    sender: str
    control_id: str
    accession_number: str
    status: str  # P, F or C (ResultMessage.Status)
    signer: Signer = field(default_factory=Signer)
    impression: str = ""
    message_time: datetime.datetime | None = None


# Dictation noise that does not change what an impression says.
_NOISE = re.compile(
    r"\b(impression|conclusion|end of (report|impression)|preliminary( report)?|final( report)?|"
    r"addendum|electronically signed by\b.*|dictated by\b.*|transcribed by\b.*|signed by\b.*)\b",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"(^|\s)(\d{1,2}[.)]|[-*•])(?=\s)")
_NON_WORD = re.compile(r"[^\w.]+|(?<!\d)\.|\.(?!\d)")


def impression_normalised(text: str) -> str:
    """The impression's words, lower case, without labels, list markers, punctuation or
    signature lines: two dictations of the same impression compare equal."""
    text = _NOISE.sub(" ", text or "")
    text = _LIST_MARKER.sub(" ", text)
    text = _NON_WORD.sub(" ", text.lower())
    return " ".join(text.split())


def impressions_differ(earlier: str, later: str) -> bool:
    return impression_normalised(earlier) != impression_normalised(later)

"""Matching the names and addresses in an attendance report to people.

In order: the e-mail address (anyone with an account); a display name the assistant
matched by hand before in this section; the name among the section's current members
("First Last", "Last, First", any accents, case, titles such as "Dr." and degrees, and
Zoom's "Display name (original name)"); the same tokens in another order; finally the name
among everyone else, if exactly one person has it. Two people with one name match nobody:
the assistant picks by hand.
"""

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from peerlearning.models import Membership, Section, User

TITLES = {
    "dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "mx", "md", "do", "phd", "mbbs",
    "mbchb", "frcr", "frcpc", "facr", "fracr", "rn", "rt", "pa", "np", "jr", "sr", "ii",
    "iii", "med", "univ", "priv", "doz", "pd",
}  # fmt: skip


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'", "").replace("’", "")
    return [t for t in re.split(r"[^a-z0-9]+", folded) if t and t not in TITLES]


def name_key(text: str) -> str:
    """A name without accents, case, punctuation or titles: "Dr. José García" → "jose garcia"."""
    return " ".join(_tokens(text))


def person_key(first_name: str, last_name: str) -> str:
    return name_key(f"{first_name} {last_name}")


def name_forms(raw: str) -> list[str]:
    """The names a platform's display name may stand for, the likeliest first."""
    candidates = []
    # Zoom: "Display name (original name)"; the original is the account's real name.
    match = re.fullmatch(r"\s*(.+?)\s*\((.+)\)\s*", raw)
    if match:
        candidates += [match[2], match[1]]
    candidates.append(raw)
    forms = []
    for candidate in candidates:
        parts = [p for p in candidate.split(",") if name_key(p)]
        if len(parts) == 2:
            # "Last, First" (degrees after a second comma were dropped with the titles).
            candidate = f"{parts[1]} {parts[0]}"
        key = name_key(candidate)
        if key and key not in forms:
            forms.append(key)
    return forms


def alias_key(raw: str) -> str:
    """How a display name is remembered once matched by hand: the whole name, normalized."""
    return name_key(raw)[:200]


def _sorted_key(key: str) -> str:
    return " ".join(sorted(key.split()))


@dataclass
class Match:
    user_id: int | None
    how: str  # "email", "alias", "name" or "unmatched"
    note: str = ""


@dataclass
class PeopleIndex:
    """Everyone a report line may name, loaded in a few queries for the whole file."""

    by_email: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    section_names: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    section_sorted: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    all_names: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def for_section(cls, section: Section) -> "PeopleIndex":
        from conferences.attendance.models import AttendeeAlias

        index = cls()
        members = set(
            Membership.objects.current().filter(section=section).values_list("user_id", flat=True)
        )
        for user_id, email, first, last in User.objects.values_list(
            "id", "email", "first_name", "last_name"
        ):
            index.by_email[email.lower()] = user_id
            key = person_key(first, last)
            if not key:
                continue
            index.all_names[key].add(user_id)
            if user_id in members:
                index.section_names[key].add(user_id)
                index.section_sorted[_sorted_key(key)].add(user_id)
        index.aliases = dict(
            AttendeeAlias.objects.filter(section=section).values_list("name_key", "user_id")
        )
        return index

    def match(self, name: str, email: str) -> Match:
        email = email.strip().lower()
        if email and email in self.by_email:
            return Match(self.by_email[email], "email")
        forms = name_forms(name)
        alias = alias_key(name)
        if alias in self.aliases:
            return Match(self.aliases[alias], "alias")
        missing_email = f"No one has the e-mail {email}. " if email else ""
        ambiguous = ""
        for table in (self.section_names, self.section_sorted, self.all_names):
            for form in forms:
                key = _sorted_key(form) if table is self.section_sorted else form
                found = table.get(key, set())
                if len(found) == 1:
                    return Match(next(iter(found)), "name", missing_email.strip())
                if len(found) > 1 and not ambiguous:
                    ambiguous = f"{len(found)} people are named “{form}”: pick the right one."
        if ambiguous:
            return Match(None, "unmatched", missing_email + ambiguous)
        if not forms:
            return Match(None, "unmatched", missing_email + "The line has no name to match.")
        return Match(
            None,
            "unmatched",
            missing_email + f"No member of the section is named “{name}”.",
        )

"""Free-text scrubber for clinical history, findings, teaching text and DICOM descriptors.

Offline and deterministic: regular expressions plus the identifiers known for the case
(names from the DICOM header, a roster of the installation's people, IDs, accession
numbers, institutions). Every replacement is marked (``[NAME]``, ``[DATE]``, ``[ID]``,
``[PHONE]``, ``[EMAIL]``, ``[ADDRESS]``, ``[AGE]``) or, for dates when the case's offset is
given, shifted; everything else is left exactly as written, so no clinical content goes
missing without a mark. The result lists what was replaced by kind and span, never the
replaced text, so it can be logged.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .wordlists import COMMON_WORDS, STOP_WORDS

NAME, DATE, ID, PHONE, EMAIL, ADDRESS, AGE = (
    "NAME",
    "DATE",
    "ID",
    "PHONE",
    "EMAIL",
    "ADDRESS",
    "AGE",
)
KINDS = (NAME, DATE, ID, PHONE, EMAIL, ADDRESS, AGE)

MIN_NAME_LENGTH = 2
MIN_ID_LENGTH = 4

# Letters and digits, but not "_" (so "SMITH_JOHN" still splits into two names).
_B_BEFORE = r"(?<![^\W_])"
_B_AFTER = r"(?![^\W_])"


@dataclass(frozen=True)
class Replacement:
    kind: str
    start: int
    end: int
    shifted: bool = False
    written: int = 0  # the length of what replaced it

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "span": [self.start, self.end], "shifted": self.shifted}


@dataclass(frozen=True)
class ScrubResult:
    text: str
    replacements: tuple[Replacement, ...]

    @property
    def changed(self) -> bool:
        return bool(self.replacements)

    def summary(self) -> list[dict]:
        return [r.as_dict() for r in self.replacements]


# --- known identifiers -------------------------------------------------------------------

_TITLE_WORDS = frozenset(
    re.split(
        r"\s+",
        "dr drs doctor mr mrs ms mx miss prof professor sir dame md m.d. do phd rn np pa pa-c "
        "mbbs frcr frcpc facr jr sr ii iii iv",
    )
)


def name_tokens(value: str) -> set[str]:
    """Name parts of a DICOM PN ("FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX") or a written name."""
    tokens: set[str] = set()
    for group in str(value).split("="):
        if "^" in group:
            # Prefix and suffix ("Dr", "Jr") identify no one.
            group = " ".join(group.split("^")[:3])
        for word in re.split(r"[\s,;/()\"]+", group):
            word = word.strip(".'’-")
            if not word or word.lower() in _TITLE_WORDS:
                continue
            for part in {word, *re.split(r"[-'’.]", word)}:
                if len(part) >= MIN_NAME_LENGTH and any(ch.isalpha() for ch in part):
                    tokens.add(part)
                    if part.upper().lower() != part.lower():
                        # "Größe" is written "GRÖSSE" in capitals: match both spellings.
                        tokens.add(part.upper())
                    # MÜLLER is also written Mueller and Muller, NUÑEZ Nunez.
                    tokens |= _transliterations(part)
    return tokens


_GERMAN_SPELLING = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def _transliterations(word: str) -> set[str]:
    """The ways a name with accents is written on a keyboard without them."""
    if word.isascii():
        return set()
    stripped = (
        "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))
        .replace("ß", "ss")
        .replace("ı", "i")
        .replace("ł", "l")
        .replace("ø", "o")
        .replace("Ø", "O")
    )
    german = word.translate(_GERMAN_SPELLING)
    variants = {german.upper() if word.isupper() else german, stripped}
    return {v for v in variants if v != word and len(v) >= MIN_NAME_LENGTH}


@dataclass(frozen=True)
class KnownIdentifiers:
    """What is known to identify the case's patient or its people."""

    names: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    birth_dates: frozenset[dt.date] = frozenset()
    places: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()  # digits only

    @classmethod
    def build(
        cls,
        *,
        person_names: Iterable[str] = (),
        ids: Iterable[str] = (),
        birth_dates: Iterable[dt.date] = (),
        places: Iterable[str] = (),
        phones: Iterable[str] = (),
    ) -> KnownIdentifiers:
        names: set[str] = set()
        for value in person_names:
            names |= name_tokens(value)
        clean_ids = {str(i).strip() for i in ids}
        clean_places = {" ".join(str(p).split()) for p in places}
        return cls(
            names=frozenset(names),
            ids=frozenset(i for i in clean_ids if len(i) >= MIN_ID_LENGTH),
            birth_dates=frozenset(birth_dates),
            places=frozenset(p for p in clean_places if len(p) >= 3),
            phones=frozenset(d for d in (re.sub(r"\D", "", str(p)) for p in phones) if len(d) >= 7),
        )

    def merge(self, other: KnownIdentifiers) -> KnownIdentifiers:
        return KnownIdentifiers(
            names=self.names | other.names,
            ids=self.ids | other.ids,
            birth_dates=self.birth_dates | other.birth_dates,
            places=self.places | other.places,
            phones=self.phones | other.phones,
        )

    def __bool__(self) -> bool:
        return bool(self.names or self.ids or self.birth_dates or self.places or self.phones)


_UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


@lru_cache(maxsize=64)
def _known_patterns(known: KnownIdentifiers) -> list[tuple[str, re.Pattern[str]]]:
    patterns: list[tuple[str, re.Pattern[str]]] = []
    if known.places:
        phrases = (r"\s+".join(re.escape(w) for w in p.split()) for p in known.places)
        patterns.append(
            (ADDRESS, re.compile(f"{_B_BEFORE}(?:{_alternation(phrases)}){_B_AFTER}", re.I))
        )
    if known.ids:
        variants = {re.escape(i) for i in known.ids}
        for value in known.ids:
            digits = re.sub(r"\D", "", value)
            if digits != value and len(digits) >= 5:
                variants.add(digits)
        patterns.append(
            (ID, re.compile(f"{_B_BEFORE}(?:{_alternation(variants)}){_B_AFTER}", re.I))
        )
    if known.birth_dates:
        forms = set()
        for d in known.birth_dates:
            forms |= {
                d.strftime("%Y%m%d"),
                d.strftime("%Y-%m-%d"),
                d.strftime("%Y/%m/%d"),
                d.strftime("%m/%d/%Y"),
                f"{d.month}/{d.day}/{d.year}",
                d.strftime("%d.%m.%Y"),
                d.strftime("%d/%m/%Y"),
            }
        escaped = (re.escape(f) for f in forms)
        patterns.append(
            (DATE, re.compile(f"(?<![\\d/.\\-])(?:{_alternation(escaped)})(?![\\d/\\-]|\\.\\d)"))
        )
    if known.phones:
        # Any punctuation between the digits: 555-014-2397, (555) 014 2397, 555.014.2397
        phones = (r"[\s.\-()]*".join(p) for p in known.phones)
        patterns.append((PHONE, re.compile(f"(?<!\\d)\\(?(?:{_alternation(phones)})(?!\\d)")))
    spaced = {n for n in known.names if not _UNSPACED_SCRIPT.search(n)}
    if spaced:
        names = (re.escape(n) for n in spaced)
        patterns.append((NAME, re.compile(f"{_B_BEFORE}(?:{_alternation(names)}){_B_AFTER}", re.I)))
    if known.names - spaced:
        # Han, kana and Hangul are written without spaces (山田太郎様): no word boundaries.
        names = (re.escape(n) for n in known.names - spaced)
        patterns.append((NAME, re.compile(f"(?:{_alternation(names)})")))
    return patterns


# --- patterns ----------------------------------------------------------------------------

_STOP = rf"(?!(?i:{_alternation(STOP_WORDS)}){_B_AFTER})"
# Latin letters with their accents ("Özdemir", "Nuñez", "Weiß"); Latin Extended-A mixes
# capitals and small letters, so it counts as both.
_UP = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
_LOW = "a-zß-öø-ÿ\u0100-\u017f\u0300-\u036f"
_CAP = (
    rf"(?:[{_UP}]['’][{_UP}][{_LOW}]+|[{_UP}][{_LOW}]*[{_LOW}](?:[{_UP}][{_LOW}]+)?)"
    rf"(?:[-'’][{_UP}]?[{_LOW}]+)*"
)
_UPPER = rf"[{_UP}]{{2,}}(?:[-'’][{_UP}]+)*"
_INITIAL = rf"[{_UP}]\."
_NAME_MIXED = rf"(?:{_INITIAL}\s*)?{_STOP}{_CAP}(?:\s+(?:{_INITIAL}\s*)?{_STOP}{_CAP}){{0,2}}"
_NAME_UPPER = rf"{_STOP}{_UPPER}(?:\s+(?:{_INITIAL}\s*)?{_STOP}{_UPPER}){{0,2}}"
_NAME_SEQ = rf"(?:{_NAME_MIXED}|{_NAME_UPPER})"
_TITLE = (
    r"(?:(?:Dr|Drs|Mr|Mrs|Ms|Mx|Miss|Prof|Doctor|Professor)\b\.?"
    r"|(?:DR|DRS|MRS|MISS|PROF|DOCTOR)\b\.?|(?:MR|MS)\.)"
)
_CREDENTIAL = r"(?:,?\s+(?:MD|M\.D\.|MBBS|PhD|RN|NP|PA-C|FRCR|FRCPC|FACR)|,\s*(?:DO|D\.O\.))"
_TITLE_BEFORE = re.compile(rf"{_B_BEFORE}{_TITLE}\s*$")
_LABEL_COLON = (
    r"patient|pt|patient\s+name|name|attending|attending\s+physician|resident|fellow"
    r"|technologist|tech|radiologist|reader|referring|referring\s+physician|referred\s+by"
    r"|ordering\s+physician|ordered\s+by|cc|interpreting\s+physician|physician|provider"
)
_LABEL_BY = r"dictated|signed|electronically\s+signed|read|reported|reviewed|transcribed|verified"

_NAME_RULES = [
    re.compile(rf"{_B_BEFORE}{_TITLE}\s*(?P<v>{_NAME_SEQ})"),
    re.compile(rf"(?<![\w^])(?P<v>{_NAME_SEQ}){_CREDENTIAL}{_B_AFTER}"),
    re.compile(rf"{_B_BEFORE}(?i:{_LABEL_COLON})\s*:\s*(?P<v>{_NAME_SEQ})"),
    re.compile(rf"{_B_BEFORE}(?i:(?:{_LABEL_BY})\s+by)\s*:?\s*(?P<v>{_NAME_SEQ})"),
    # A DICOM person name pasted into text: SMITH^JOHN
    re.compile(r"(?<![\w^])(?P<v>[A-Za-z][A-Za-z'\-]*(?:\^[A-Za-z'\-.]*)+)"),
]

_EMAIL = re.compile(
    r"(?<![\w.+-])(?P<v>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
)

_PHONE_RULES = [
    re.compile(
        r"(?<![\w+])(?P<v>(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s*|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
        r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?)(?!\d)"
    ),
    re.compile(r"(?<![\w+])(?P<v>\+\d{1,3}(?:[\s.\-]?\(?\d{1,4}\)?){2,5})(?!\d)"),
    re.compile(
        r"(?i:\b(?:phone|tel|telephone|pager|pgr|cell|mobile|fax|beeper|ext|extension)\b\.?"
        r"\s*(?:#|no\.?|number)?\s*[:#]?\s*)(?P<v>\+?\d[\d\s.\-()]{2,}\d)"
    ),
]

_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Close|Crescent|Trail)"
)
_ADDRESS_RULES = [
    re.compile(
        rf"(?<![\w.])(?P<v>\d{{1,6}}[A-Za-z]?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?"
        rf"(?:[A-Z][A-Za-z0-9'\-]*\.?\s+){{1,4}}{_STREET_SUFFIX}\.?{_B_AFTER}"
        r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Floor|#)\.?\s*#?[\w\-]+)?"
        r"(?:,\s*[A-Z][A-Za-z .'\-]+?,\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?)?)"
    ),
    re.compile(r"(?P<v>(?i:\bP\.?\s?O\.?\s+Box\s+\d+))"),
    re.compile(
        r"(?<!\w)(?P<v>[A-Z][a-zA-Z]+(?:\s[A-Z][a-zA-Z]+){0,2},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?)(?!\d)"
    ),
]

_ID_RULES = [
    re.compile(
        r"(?i:(?<![^\W_])(?:MRN|MR\s?\#|MR\s?No\.?|medical\s+record(?:\s+(?:number|no\.?|\#))?"
        r"|acc(?:ession)?(?:\s*(?:number|no\.?|\#))?|accn|patient\s+id|pt\s+id|id|ssn"
        r"|nhs\s+(?:number|no\.?)|csn|fin|encounter(?:\s+(?:number|no\.?|\#))?"
        r"|visit\s+(?:number|no\.?|\#)|record\s+(?:number|no\.?|\#))(?![^\W_])"
        r"\s*[:#.]?\s*(?:is\s+)?)"
        r"(?P<v>(?=[A-Za-z0-9\-/]*\d)[A-Za-z0-9][A-Za-z0-9\-/]*)"
    ),
    re.compile(r"(?<!\d)(?P<v>\d{3}-\d{2}-\d{4})(?!\d)"),
    re.compile(r"(?<![\d.,])(?P<v>\d{7,})(?![\d.,])"),
    re.compile(rf"{_B_BEFORE}(?P<v>[A-Z]{{1,4}}-?\d{{5,}}(?:-\d+)*){_B_AFTER}"),
]

_AGE_RULES = [
    re.compile(
        r"(?<![\d.])(?P<v>9\d|1[0-4]\d)\s*-?\s*(?i:years?[\s-]*old|years?|yrs?|y\.?o\.?|y/o)"
        + _B_AFTER
    ),
    # "Age 95." ends a sentence; "age 95.5" is a measurement of something else.
    re.compile(r"(?i:\baged?\s*:?\s*)(?P<v>9\d|1[0-4]\d)(?!\d|[.,]\d)"),
    re.compile(r"(?<![\w.])(?P<v>0?(?:9\d|1[0-4]\d))Y(?![^\W_])"),
]

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MON = (
    r"(?P<mon>(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?))"
)
_ORD = r"(?:st|nd|rd|th)?"

_DOB_CONTEXT = re.compile(
    r"(?i)(?:\bDOB|\bD\.O\.B\.?|date\s+of\s+birth|\bborn(?:\s+on)?|birth\s*date)\W{0,3}$"
)


@dataclass(frozen=True)
class _DateForm:
    pattern: re.Pattern[str]
    # group dict -> (date, formatter) or None when it is not a real date
    parse: Callable[[dict[str, str]], tuple[dt.date, Callable[[dt.date], str]] | None]
    needs_capital_month: bool = False


def _pad(value: int, like: str) -> str:
    return str(value).zfill(len(like))


def _month_name(month: int, like: str) -> str:
    name = dt.date(2000, month, 1).strftime("%B" if len(like.rstrip(".")) > 3 else "%b")
    if like.isupper():
        return name.upper()
    return name


def _full_year(y: str) -> int:
    if len(y) == 4:
        return int(y)
    year = int(y)
    return 2000 + year if year <= dt.date.today().year % 100 else 1900 + year  # noqa: DTZ011


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _iso(g: dict[str, str]):
    date = _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))
    if date is None:
        return None
    sep = g["sep"]
    return date, lambda x: f"{x.year:04d}{sep}{_pad(x.month, g['m'])}{sep}{_pad(x.day, g['d'])}"


def _compact(g: dict[str, str]):
    date = _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))
    if date is None:
        return None
    return date, lambda x: x.strftime("%Y%m%d")


def _numeric(g: dict[str, str]):
    a, b = int(g["a"]), int(g["b"])
    day_first = a > 12
    month, day = (b, a) if day_first else (a, b)
    date = _safe_date(_full_year(g["y"]), month, day)
    if date is None:
        return None
    sep, y = g["sep"], g["y"]

    def fmt(x: dt.date) -> str:
        year = f"{x.year:04d}" if len(y) == 4 else f"{x.year % 100:02d}"
        first, second = (x.day, x.month) if day_first else (x.month, x.day)
        return f"{_pad(first, g['a'])}{sep}{_pad(second, g['b'])}{sep}{year}"

    return date, fmt


def _dotted(g: dict[str, str]):
    date = _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))
    if date is None:
        return None
    return date, lambda x: f"{_pad(x.day, g['d'])}.{_pad(x.month, g['m'])}.{x.year:04d}"


def _month_day_year(g: dict[str, str]):
    date = _safe_date(int(g["y"]), _MONTHS[g["mon"].lower().rstrip(".")], int(g["d"]))
    if date is None:
        return None
    return date, lambda x: f"{_month_name(x.month, g['mon'])} {x.day}, {x.year}"


def _day_month_year(g: dict[str, str]):
    date = _safe_date(int(g["y"]), _MONTHS[g["mon"].lower().rstrip(".")], int(g["d"]))
    if date is None:
        return None
    return date, lambda x: f"{x.day} {_month_name(x.month, g['mon'])} {x.year}"


def _month_year(g: dict[str, str]):
    # The middle of the month, so a short shift keeps the month.
    date = dt.date(int(g["y"]), _MONTHS[g["mon"].lower()], 15)
    return date, lambda x: f"{_month_name(x.month, g['mon'])} {x.year}"


def _no_year(g: dict[str, str]):
    # Without a year there is nothing to shift: the date is replaced.
    if _safe_date(2000, _MONTHS[g["mon"].lower()], int(g["d"])) is None:
        return None
    return None, None


_DATE_FORMS = [
    _DateForm(
        re.compile(
            r"(?<![\w/.\-])(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d/\-])"
        ),
        _iso,
    ),
    _DateForm(
        re.compile(
            r"(?<![\w.])(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?!\w|\.\d)"
        ),
        _compact,
    ),
    _DateForm(
        re.compile(
            r"(?<![\w/.\-])(?P<a>\d{1,2})(?P<sep>[/\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})(?![\d/\-])"
        ),
        _numeric,
    ),
    _DateForm(
        re.compile(r"(?<![\w.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?!\d|\.\d)"),
        _dotted,
    ),
    _DateForm(
        re.compile(
            rf"{_B_BEFORE}{_MON}\.?\s+(?P<d>\d{{1,2}}){_ORD}(?:,\s*|\s+)(?P<y>\d{{4}})(?!\d)"
        ),
        _month_day_year,
    ),
    _DateForm(
        re.compile(
            rf"(?<![\w.])(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MON}\.?,?\s+(?P<y>\d{{4}})(?!\d)"
        ),
        _day_month_year,
    ),
    _DateForm(
        re.compile(rf"{_B_BEFORE}{_MON}\.?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)"),
        _month_year,
        needs_capital_month=True,
    ),
    _DateForm(
        re.compile(rf"{_B_BEFORE}{_MON}\.?\s+(?P<d>\d{{1,2}}){_ORD}(?![\d:]|\.\d)"),
        _no_year,
        needs_capital_month=True,
    ),
    _DateForm(
        re.compile(rf"(?<![\w.])(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MON}{_B_AFTER}"),
        _no_year,
        needs_capital_month=True,
    ),
]


# --- the scrubber ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    kind: str
    priority: int
    new_text: str | None = None  # a shifted date; None means the kind's marker


_PRIORITY = {ADDRESS: 7, EMAIL: 6, PHONE: 5, DATE: 4, ID: 3, NAME: 2, AGE: 1}


def _spans(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    for match in pattern.finditer(text):
        yield match.span("v") if "v" in pattern.groupindex else match.span()


@lru_cache(maxsize=64)
def _known_any(known: KnownIdentifiers) -> re.Pattern[str] | None:
    """One pattern that finds whether any known identifier is in a text at all."""
    sources = [f"(?:{p.pattern})" for _, p in _known_patterns(known)]
    return re.compile("|".join(sources), re.I) if sources else None


# Something that any pattern rule needs: a digit, "@", a PN caret, a label colon, "by",
# a title or a credential. Text without one (most descriptors) skips the rules.
_TRIGGER = re.compile(
    r"[\d@^:]|(?<![^\W_])(?i:by|dr|drs|mr|mrs|ms|mx|miss|prof|doctor|professor"
    r"|md|m\.d|mbbs|phd|rn|np|pa-c|frcr|frcpc|facr|do|d\.o)(?![^\W_])"
)


def _known_candidates(
    text: str, known: KnownIdentifiers
) -> tuple[list[_Candidate], list[_Candidate]]:
    """Known identifiers found in text: (certain, weak).

    A known name that is also a common word ("White") is weak: it counts only next to
    another name ("Peter White", "Dr. White"), so "White matter" stays.
    """
    certain: list[_Candidate] = []
    weak: list[_Candidate] = []
    any_known = _known_any(known)
    if any_known is None or any_known.search(text) is None:
        return certain, weak
    for kind, pattern in _known_patterns(known):
        for match in pattern.finditer(text):
            # Known identifiers outrank patterns covering the same span.
            cand = _Candidate(*match.span(), kind, 10 + _PRIORITY[kind])
            if kind == NAME and match.group().lower() in COMMON_WORDS:
                weak.append(cand)
            else:
                certain.append(cand)
    return certain, weak


def _next_to_name(text: str, cand: _Candidate, names: list[_Candidate]) -> bool:
    for other in names:
        if other.end <= cand.start and _NAME_GAP.fullmatch(text, other.end, cand.start):
            return True
        if cand.end <= other.start and _NAME_GAP.fullmatch(text, cand.end, other.start):
            return True
    return False


def _confirm_weak(text: str, certain: list[_Candidate], weak: list[_Candidate]) -> list[_Candidate]:
    names = [c for c in certain if c.kind == NAME]
    confirmed: list[_Candidate] = []
    pending = []
    whole = text.strip(" ^,.")
    for cand in weak:
        # The whole value ("WHITE" in a name field) or after a title ("Mr White").
        alone = text[cand.start : cand.end] == whole
        if alone or _TITLE_BEFORE.search(text, max(0, cand.start - 12), cand.start):
            confirmed.append(cand)
        else:
            pending.append(cand)
    # Two known names side by side, each with a capital ("Holly Green"), are a name even
    # when both are common words; in small letters ("holly green") they stay text.
    for cand in list(pending):
        if text[cand.start].isupper() and _next_to_name(
            text, cand, [c for c in pending if c is not cand and text[c.start].isupper()]
        ):
            confirmed.append(cand)
    pending = [c for c in pending if c not in confirmed]
    changed = True
    while changed:
        changed = False
        for cand in list(pending):
            if _next_to_name(text, cand, names + confirmed):
                confirmed.append(cand)
                pending.remove(cand)
                changed = True
    return confirmed


def _date_candidates(
    text: str, known: KnownIdentifiers, offset_days: int | None
) -> Iterator[_Candidate]:
    for form in _DATE_FORMS:
        for match in form.pattern.finditer(text):
            groups = match.groupdict()
            month = groups.get("mon")
            if month and month.islower() and (form.needs_capital_month or month == "may"):
                continue
            parsed = form.parse(groups)
            if parsed is None:
                continue
            date, fmt = parsed
            start, end = match.span()
            replace = (
                offset_days is None
                or date is None
                or date in known.birth_dates
                or _DOB_CONTEXT.search(text[max(0, start - 20) : start]) is not None
            )
            new_text = None if replace else fmt(date + dt.timedelta(days=offset_days))
            yield _Candidate(start, end, DATE, _PRIORITY[DATE], new_text)


@dataclass(frozen=True)
class _Features:
    """Cheap facts about a text that tell which rules cannot match it."""

    text: str
    words: frozenset[str]
    digits: int

    @classmethod
    def of(cls, text: str) -> _Features:
        words = frozenset(re.findall(r"[a-z]+", text.lower()))
        return cls(text, words, sum(ch.isdigit() for ch in text))


def _words(words: str) -> Callable[[_Features], bool]:
    wanted = frozenset(words.split())
    return lambda f: not wanted.isdisjoint(f.words)


def _has(*chars: str) -> Callable[[_Features], bool]:
    return lambda f: any(char in f.text for char in chars)


def _digits(n: int) -> Callable[[_Features], bool]:
    return lambda f: f.digits >= n


def _any(*guards: Callable[[_Features], bool]) -> Callable[[_Features], bool]:
    return lambda f: any(guard(f) for guard in guards)


_TITLE_RULE, _CREDENTIAL_RULE, _LABEL_RULE, _BY_RULE, _CARET_RULE = _NAME_RULES
_NANP_PHONE, _INTERNATIONAL_PHONE, _LABELLED_PHONE = _PHONE_RULES
_STREET, _PO_BOX, _CITY_ZIP = _ADDRESS_RULES
_LABELLED_ID, _SSN, _LONG_NUMBER, _LETTERS_DIGITS = _ID_RULES

# (kind, pattern, guard, fewest digits in a match). A guard is a cheap test that the
# pattern could match at all; most text fails every guard and costs no regex search.
_RULES: list[tuple[str, re.Pattern[str], Callable[[_Features], bool], int]] = [
    (NAME, _TITLE_RULE, _words("dr drs mr mrs ms mx miss prof doctor professor"), 0),
    (
        NAME,
        _CREDENTIAL_RULE,
        _any(_words("md mbbs phd rn np pa frcr frcpc facr do"), _has("M.D.", "D.O.")),
        0,
    ),
    (NAME, _LABEL_RULE, _has(":"), 0),
    (NAME, _BY_RULE, _words("by"), 0),
    (NAME, _CARET_RULE, _has("^"), 0),
    (PHONE, _NANP_PHONE, _digits(10), 10),
    (PHONE, _INTERNATIONAL_PHONE, _has("+"), 8),
    (
        PHONE,
        _LABELLED_PHONE,
        _words("phone tel telephone pager pgr cell mobile fax beeper ext extension"),
        4,
    ),
    (
        ADDRESS,
        _STREET,
        _words(
            "street st avenue ave road rd boulevard blvd lane ln drive dr court ct way place pl "
            "terrace ter parkway pkwy highway hwy circle cir square sq close crescent trail"
        ),
        0,
    ),
    (ADDRESS, _PO_BOX, _words("box"), 0),
    (ADDRESS, _CITY_ZIP, _digits(5), 0),
    (
        ID,
        _LABELLED_ID,
        _words(
            "mrn mr medical acc accession accn patient pt id ssn nhs csn fin encounter visit record"
        ),
        0,
    ),
    (ID, _SSN, _digits(9), 0),
    (ID, _LONG_NUMBER, _digits(7), 0),
    (ID, _LETTERS_DIGITS, _digits(5), 0),
    *((AGE, pattern, _digits(2), 0) for pattern in _AGE_RULES),
]


def _pattern_candidates(text: str) -> Iterator[_Candidate]:
    features = _Features.of(text)
    if "@" in text:
        for span in _spans(_EMAIL, text):
            yield _Candidate(*span, EMAIL, _PRIORITY[EMAIL])
    for kind, pattern, guard, min_digits in _RULES:
        if not guard(features):
            continue
        for start, end in _spans(pattern, text):
            if sum(ch.isdigit() for ch in text[start:end]) >= min_digits:
                yield _Candidate(start, end, kind, _PRIORITY[kind])


def _select(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates: earliest first, then longest, then most specific."""
    ordered = sorted(candidates, key=lambda c: (c.start, -(c.end - c.start), -c.priority))
    chosen: list[_Candidate] = []
    last_end = 0
    for cand in ordered:
        if cand.start >= last_end and cand.end > cand.start:
            chosen.append(cand)
            last_end = cand.end
    return chosen


_NAME_GAP = re.compile(r"[\s,^]*|\s+[A-Z]\.?\s+")


_INITIAL_AFTER = re.compile(r",?\s+[A-Z]\.(?![^\W_])")
_INITIAL_BEFORE = re.compile(r"(?<![^\W_])[A-Z]\.\s+$")


def _merge_names(text: str, chosen: list[_Candidate]) -> list[_Candidate]:
    """Adjacent names ("John", "Smith") become one [NAME], with their initials."""
    merged: list[_Candidate] = []
    for cand in chosen:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev.kind == NAME
            and cand.kind == NAME
            and _NAME_GAP.fullmatch(text, prev.end, cand.start)
        ):
            merged[-1] = _Candidate(prev.start, cand.end, NAME, prev.priority)
        else:
            merged.append(cand)
    for i, cand in enumerate(merged):
        if cand.kind != NAME:
            continue
        start, end = cand.start, cand.end
        limit = merged[i + 1].start if i + 1 < len(merged) else len(text)
        after = _INITIAL_AFTER.match(text, end, limit)
        if after:
            end = after.end()
        floor = merged[i - 1].end if i else 0
        before = _INITIAL_BEFORE.search(text, floor, start)
        if before:
            start = before.start()
        merged[i] = _Candidate(start, end, NAME, cand.priority)
    return merged


def forget_cases() -> None:
    """Drop the cached texts and identifier patterns of past cases from memory."""
    _scrub.cache_clear()
    _known_patterns.cache_clear()
    _known_any.cache_clear()


def scrub_text(
    text: str,
    *,
    known: KnownIdentifiers | None = None,
    roster: Iterable[str] = (),
    date_offset_days: int | None = None,
    patterns: bool = True,
    dates: bool = True,
) -> ScrubResult:
    """Scrub identifiers from free text.

    ``known`` are the case's identifiers and ``roster`` more names to remove. Dates are
    shifted by ``date_offset_days`` when it is given (birth dates are always replaced) and
    replaced by ``[DATE]`` otherwise. ``patterns=False`` looks for known identifiers only;
    ``dates=False`` leaves dates as written (for text whose dates were shifted already:
    the detector flags them for a person to decide).
    """
    known = known or KnownIdentifiers()
    roster = tuple(roster)
    if roster:
        known = known.merge(KnownIdentifiers.build(person_names=roster))
    if not text:
        return ScrubResult(text, ())
    return _scrub(text, known, date_offset_days, patterns, dates)


# The images of a series repeat the same descriptions: scrub each text once.
@lru_cache(maxsize=4096)
def _scrub(
    text: str, known: KnownIdentifiers, date_offset_days: int | None, patterns: bool, dates: bool
) -> ScrubResult:
    candidates, weak = _known_candidates(text, known)
    if patterns and _TRIGGER.search(text):
        if dates and any(ch.isdigit() for ch in text):
            candidates += _date_candidates(text, known, date_offset_days)
        candidates += _pattern_candidates(text)
    candidates += _confirm_weak(text, candidates, weak)
    chosen = _merge_names(text, _select(candidates))
    if not chosen:
        return ScrubResult(text, ())
    pieces: list[str] = []
    replacements: list[Replacement] = []
    pos = 0
    for cand in chosen:
        pieces.append(text[pos : cand.start])
        new_text = cand.new_text if cand.new_text is not None else f"[{cand.kind}]"
        pieces.append(new_text)
        replacements.append(
            Replacement(cand.kind, cand.start, cand.end, cand.new_text is not None, len(new_text))
        )
        pos = cand.end
    pieces.append(text[pos:])
    return ScrubResult("".join(pieces), tuple(replacements))

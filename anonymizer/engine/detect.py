"""The recall-first detector: it flags what it cannot prove harmless in free text.

It shares no rule with the scrubber (``text.py``). The scrubber replaces what it knows; the
detector then looks at what is left and flags every span that might identify someone:

- name-shaped words that no vocabulary vouches for (a capital in mid-sentence, a word in
  capitals, a sentence's first word that is no common or medical word), any word next to a
  title ("Dr. özdemir") or a kinship or role word ("wife Elinor"), a name in a script
  without capitals (Han, kana, Arabic …);
- digit runs and letter-digit codes that are not a measurement, a score or an anatomic
  level;
- every date-like and time-like form, in several languages and orders;
- phone numbers, e-mail addresses, URLs and host names, IP addresses, UIDs;
- ages of 90 and over, in digits or in words.

A flag is a kind and a span of the text, never the text itself, so flags can be logged.
The kinds are guesses for the reader; what matters is that the span is flagged. Pure
Python, no Django.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .vocabulary import (
    AGE_WORDS_PATTERN,
    AMBIGUOUS_EPONYMS,
    EPONYM_NOUNS,
    MEDICAL_WORDS,
    NAME_PARTICLES,
    PERSON_WORDS,
    SAFE_CAPITALISED,
    SCALE_WORDS,
    STOP_WORDS,
    TERM_ENDINGS,
    TITLES,
    UNITS,
    english_words,
)

NAME, PLACE, DATE, ID, PHONE, EMAIL, URL, IP, UID, AGE = (
    "NAME",
    "PLACE",
    "DATE",
    "ID",
    "PHONE",
    "EMAIL",
    "URL",
    "IP",
    "UID",
    "AGE",
)


@dataclass(frozen=True, order=True)
class Flag:
    start: int
    end: int
    kind: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end}


# --- patterns ----------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_URL = re.compile(
    r"(?i:\b(?:https?|ftp|dicom|wado)://[^\s<>\"')\]]+|\bwww\.[^\s<>\"')\]]+)"
    r"|(?<![\w.@])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.){1,}(?:[a-z]{2,24})(?:/[^\s<>\"')\]]*)?"
    r"(?![\w@])"
)
_IP = re.compile(
    r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])|(?i:\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b)"
)
_UID = re.compile(r"(?<![\d.])\d+(?:\.\d+){4,}(?![\d])")

_MONTHS = (
    # English
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    # German
    r"|januar|jänner|februar|märz|mai|juni|juli|oktober|dezember"
    # French
    r"|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre"
    r"|décembre|decembre"
    # Spanish, Italian
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre"
    r"|dicembre"
    # Turkish
    r"|ocak|şubat|subat|mart|nisan|mayıs|mayis|haziran|temmuz|ağustos|agustos|eylül|eylul"
    r"|ekim|kasım|kasim|aralık|aralik"
)
_MON = rf"(?:{_MONTHS})\.?"
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th|er|º|°)?"
_YEAR = r"(?:\d{4}|'?\d{2})"
_DSEP = r"[\s./\-,]*"
_DE = r"(?:\s+de\s+|\s+of\s+)?"
_JP_ERA = r"(?:令和|平成|昭和|大正|明治)"
_CJK_NUM = r"[\d〇一二三四五六七八九十百元]"
_DATES = [
    # 2021-03-14, 14.03.2021, 3/14/21, 21.1.2021, 2021/4/8, 20-03-21
    re.compile(r"(?<![\w.])\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}(?![\w]|\.\d)"),
    # 3/14, 14/03
    re.compile(r"(?<![\w./])(?:[0-3]?\d)/(?:[0-3]?\d)(?![\w/]|\.\d)"),
    # 14-Mar-2021, 14MAR2021, 14 mars 2021, 3 de abril de 2020, 14th of March
    re.compile(
        rf"(?i)(?<![\w]){_DAY}{_DE}{_DSEP}(?<![^\W\d_])(?:{_MONTHS})\.?(?![^\W\d_])"
        rf"(?:{_DE}{_DSEP}{_YEAR}(?!\d))?"
    ),
    # Mar-14-2021, April 30, 2021, March 2021, Apr 9
    re.compile(
        rf"(?i)(?<![^\W\d_])(?:{_MONTHS})\.?(?:{_DSEP}{_DAY}(?!\d))?(?:{_DSEP}{_YEAR}(?!\d))?"
        r"(?<=\d)"
    ),
    # 2021年3月14日, 令和2年4月8日, 3月14日
    re.compile(
        rf"(?:{_JP_ERA}?{_CJK_NUM}{{1,4}}年\s*)?{_CJK_NUM}{{1,2}}月(?:\s*{_CJK_NUM}{{1,3}}日)?"
        rf"|{_JP_ERA}?{_CJK_NUM}{{1,4}}年"
    ),
    # Times: 03:42, 9:15, 14h20, 0215h, 7:30 a.m., 16:45 Uhr
    re.compile(r"(?<![\w:.])\d{1,2}[:h]\d{2}(?::\d{2})?(?![\w:])|(?<![\w])\d{3,4}h(?![\w])"),
    re.compile(r"(?i)(?<![\w.])\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.)(?![\w])"),
    # Weekday with a date next to it is still flagged by the others; years alone below.
]
_YEAR_ALONE = re.compile(r"(?<![\w.])(?:19|20)\d{2}(?![\w]|\.\d)")

_AGE_AFTER = (
    r"(?:-|\s)*(?i:years?(?:[\s-]*old)?|yrs?|y/?o|y\.o\.|y\b|yo\b|-?year-old|j\.|jahre?n?|jährig\w*"
    r"|ans?\b|años|anos|yaş\w*|yasinda|歳|岁|세)"
)
_AGES = [
    re.compile(rf"(?<![\w.,])(?:9\d|1[0-4]\d)(?={_AGE_AFTER})"),
    re.compile(r"(?i:\b(?:age|aged|alter|âge|edad|yaşı)\s*:?\s*)(?P<v>9\d|1[0-4]\d)(?!\d|[.,]\d)"),
    re.compile(rf"(?i)(?<![^\W\d_])(?:{AGE_WORDS_PATTERN})(?![^\W\d_])"),
    re.compile(r"九十[一二三四五六七八九]?|百[一二三四五六七八九十]*"),
]

_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?)?(?:\(0?\d{1,4}\)[\s.\-]?)?\d{1,5}(?:[\s.\-]\d{1,5}){1,5}"
    r"(?![\w])"
)

# A token with a digit in it.
_DIGIT_TOKEN = re.compile(r"[#\w]*\d[\w]*(?:[\-/.:#][\w]+)*")

# Medical codes with digits that identify no one: vertebral and cranial levels, TNM,
# sequences, genes, tumour markers, isotopes, dimensions of a machine.
_MEDICAL_CODE = re.compile(
    r"(?i)(?:[CTLS]\d{1,2}(?:-[CTLS]?\d{1,2})?|[TNM][0-4][a-cx]?|T[12]W?I?|T2\*"
    r"|BRCA[12]|HLA-[A-Z]{1,3}\d{1,3}|CA-?(?:19-9|125|15-3)|Ki-?67|p53|99m|Tc-?99m|F-?18"
    r"|[1-4][DT]|COVID-19|H1N1|FEV1|G\d|P\d|V[1-6]|S[1-8]|IV[ab]?|[1-9]x)"
)

# Codes that are harmless only after their name: "CA 19-9", "HLA B27".
_CODE_AFTER_WORD = re.compile(r"(?i)\b(?:CA\s?(?:19-9|125|15-3)|HLA\s?-?B27)$")

_UNIT_AFTER = re.compile(r"\s*(?:(?:x|×|by|-|–|to)\s*[\d.,]+\s*)*(?P<unit>[%°]|[^\s\d,;:()\[\]]+)")
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f]|['’\-.](?=[^\W\d_]))*")

_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
# After a name in Japanese, Chinese or Korean: honorifics and roles.
_CJK_HONORIFIC = re.compile(
    r"(?P<name>[\u4e00-\u9fff\u3400-\u4dbf\uac00-\ud7af]{1,5}?)"
    r"(?=様|さま|さん|くん|君|ちゃん|殿|氏|先生|医師|医生|教授|女士|小姐|老师|护士|患者|님|씨)"
)
# Before a name: "患者张伟", "医師 鈴木".
_CJK_BEFORE = re.compile(
    r"(?:患者|病人|医师|医生|主任|教授|担当|氏名|姓名|主治医)\s*(?P<name>[\u4e00-\u9fff]{2,4}?)"
    r"(?=[\s,，、。:：()（）]|$|[0-9]|医|于|入|先)"
)
_CJK_INSTITUTION = re.compile(
    r"[\u4e00-\u9fff\u30a0-\u30ff]{1,12}(?:医院|病院|大学|クリニック|中心|診療所|诊所|卫生院)"
)
_CJK_NAME_CHARS = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf]{2,4}$")
_HANGUL_NAME = re.compile(r"^[\uac00-\ud7af]{2,4}$")

_SENTENCE_END = re.compile(r"(?:^|[.!?:;•\n]|\s-\s|[(\[\"“])\s*$")
_STATE_ZIP = re.compile(r"\b[A-Z]{2}(?=\s+\d{5}(?:-\d{4})?\b)")

# Letters that no case distinguishes (Arabic, Hebrew, Thai, Devanagari …); Han and kana are
# handled apart.
_CASELESS_SCRIPT = re.compile(
    r"[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u0900-\u097f\u0e00-\u0e7f\u10a0-\u10ff]+"
)


# --- helpers -----------------------------------------------------------------------------


def _lower(word: str) -> str:
    return word.lower().rstrip(".").replace("’", "'")


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _is_all_caps(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _common(word: str) -> bool:
    """A word the vocabularies vouch for, in any case."""
    low = _lower(word)
    if low in MEDICAL_WORDS or low in STOP_WORDS or low in SAFE_CAPITALISED:
        return True
    words = english_words()
    if low in words:
        return True
    # Plurals, possessives and hyphenated compounds of known words.
    base = low.removesuffix("'s")
    if base in words or base in MEDICAL_WORDS:
        return True
    if base.endswith("s") and (base[:-1] in words or base[:-1] in MEDICAL_WORDS):
        return True
    if "-" in low:
        return all(part and _common(part) for part in low.split("-"))
    return False


_ROMAN = re.compile(r"(?:[IVX]{1,4}[a-dA-D]?|[A-Z])")


def _safe_capitalised(word: str, next_word: str | None) -> bool:
    low = _lower(word).removesuffix("'s")
    if low in SAFE_CAPITALISED or low in MEDICAL_WORDS or low in PERSON_WORDS:
        return True
    # Roman numerals and single letters ("type I", "4B", "U/L") name no one alone.
    if _ROMAN.fullmatch(word.rstrip(".")):
        return True
    if len(low) >= 8 and low.endswith(TERM_ENDINGS):
        return True
    parts = low.split("-")
    if len(parts) > 1 and all(p in SAFE_CAPITALISED or p in MEDICAL_WORDS for p in parts):
        return True
    if low in AMBIGUOUS_EPONYMS and next_word is not None:
        return _lower(next_word) in EPONYM_NOUNS
    return False


@dataclass
class _Token:
    start: int
    end: int
    text: str
    sentence_start: bool


def _title_case_lines(text: str) -> list[tuple[int, int]]:
    """Lines written in title case ("Neuroradiology Peer Learning Conference")."""
    spans = []
    pos = 0
    for line in text.splitlines(keepends=True):
        words = [w for w in _WORD.findall(line) if len(w) >= 4 and not _is_all_caps(w)]
        capitalised = sum(1 for w in words if w[:1].isupper())
        if 2 <= len(words) <= 12 and capitalised >= 0.75 * len(words):
            spans.append((pos, pos + len(line)))
        pos += len(line)
    return spans


def _tokens(text: str) -> list[_Token]:
    # In a title-case line a capital says nothing: every word there is judged like a
    # sentence's first word (flagged unless a common or medical word vouches for it).
    titles = _title_case_lines(text)
    tokens = []
    for match in _WORD.finditer(text):
        before = text[max(0, match.start() - 4) : match.start()]
        at_start = (
            bool(_SENTENCE_END.search(before))
            or match.start() == 0
            or any(a <= match.start() < b for a, b in titles)
        )
        tokens.append(_Token(match.start(), match.end(), match.group(), at_start))
    return tokens


def _is_latin_word(word: str) -> bool:
    for ch in word:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            if not name.startswith(("LATIN", "GREEK", "CYRILLIC")):
                return False
    return True


# --- rules -------------------------------------------------------------------------------


def _pattern_flags(text: str) -> Iterator[Flag]:
    for match in _EMAIL.finditer(text):
        yield Flag(*match.span(), EMAIL)
    for match in _URL.finditer(text):
        value = match.group()
        # "e.g", "i.e", "approx.", decimals: a host has a letter label of two or more.
        if (
            re.fullmatch(r"(?i)(?:[a-z]\.)+[a-z]?", value)
            or text[match.end() : match.end() + 1] == "@"
        ):
            continue
        yield Flag(*match.span(), URL)
    for match in _IP.finditer(text):
        yield Flag(*match.span(), IP)
    for match in _UID.finditer(text):
        yield Flag(*match.span(), UID)
    for pattern in _DATES:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                yield Flag(*match.span(), DATE)
    for match in _YEAR_ALONE.finditer(text):
        yield Flag(*match.span(), DATE)
    for pattern in _AGES:
        for match in pattern.finditer(text):
            span = match.span("v") if "v" in pattern.groupindex else match.span()
            yield Flag(*span, AGE)
    for match in _PHONE.finditer(text):
        digits = sum(ch.isdigit() for ch in match.group())
        if digits >= 7 and not _is_measurement(text, match.start(), match.end()):
            yield Flag(*match.span(), PHONE)
    for match in _STATE_ZIP.finditer(text):
        yield Flag(*match.span(), PLACE)


def _previous_words(text: str, start: int, count: int = 3) -> list[str]:
    window = text[max(0, start - 40) : start]
    return [_lower(w) for w in re.findall(r"[^\W\d_][\w\-]*", window)[-count:]]


def _is_measurement(text: str, start: int, end: int) -> bool:
    """A number followed by a unit (``9 mm``, ``3.1 x 2.2 cm``, ``60%``)."""
    match = _UNIT_AFTER.match(text, end)
    if match is None:
        return False
    unit = match["unit"].lower().rstrip(".")
    return unit in UNITS or unit.split("/")[0] in UNITS


_NUMBER = re.compile(r"[<>≤≥~±+\-]?\d+(?:[.,]\d+)?%?")


def _digit_flags(text: str) -> Iterator[Flag]:
    for match in _DIGIT_TOKEN.finditer(text):
        start, end = match.span()
        value = match.group().rstrip(".:-/")
        end = start + len(value)
        if not value:
            continue
        if _MEDICAL_CODE.fullmatch(value) or _CODE_AFTER_WORD.search(text, 0, end):
            continue
        if "/" in value and all(
            _MEDICAL_CODE.fullmatch(part) or (part.isalpha() and _common(part))
            for part in value.split("/")
        ):
            continue
        if _NUMBER.fullmatch(value):
            number = value.rstrip("%")
            small = len(number.split(".")[0].split(",")[0].lstrip("<>≤≥~±+-0")) <= 3
            if value.endswith("%") or (small and _is_measurement(text, start, end)):
                continue
            if small and set(_previous_words(text, start, 2)) & SCALE_WORDS:
                continue
            # Decimals are measurements or results; identifiers are whole numbers.
            if small and re.fullmatch(r"[<>≤≥~±+\-]?\d{1,3}[.,]\d{1,2}", value):
                continue
            # A part of a dimension or a range ("32 x 28 mm", "4-5 mm").
            if small and re.match(r"\s*(?:x|×|-|–)\s*\d", text[end : end + 4]):
                continue
            if small and re.search(r"\d\s*(?:x|×|-|–)\s*$", text[max(0, start - 6) : start]):
                continue
            # "Radiographics 2015;35:1234", "score 4B": handled as IDs only when long.
            if small and re.fullmatch(r"\d", value) and not re.search(r"[:/]\s*$", text[:start]):
                # A single digit identifies no one, unless it is part of a longer code.
                continue
        elif re.fullmatch(r"\d(?:st|nd|rd|th)", value) or (
            re.fullmatch(r"\d{1,2}[A-Za-z]", value)
            and set(_previous_words(text, start, 2)) & SCALE_WORDS
        ):
            continue
        yield Flag(start, end, ID)


_INSTITUTION_WORDS = frozenset({"hospital", "clinic", "center", "centre", "medical"})


def _name_flags(text: str, tokens: list[_Token]) -> Iterator[Flag]:
    flagged = [False] * len(tokens)
    kinds = [NAME] * len(tokens)

    def nxt(i: int) -> str | None:
        return tokens[i + 1].text if i + 1 < len(tokens) else None

    for i, token in enumerate(tokens):
        word = token.text
        low = _lower(word)
        if not _is_latin_word(word):
            continue
        if _ROMAN.fullmatch(word.rstrip(".")):
            continue
        if _is_all_caps(word):
            flagged[i] = not _common(word) and not _safe_capitalised(word, nxt(i))
        elif _is_capitalised(word):
            if token.sentence_start:
                flagged[i] = not _common(word) and not _safe_capitalised(word, nxt(i))
            else:
                flagged[i] = not _safe_capitalised(word, nxt(i))
        elif low not in STOP_WORDS and not _common(word) and len(low) > 2:
            # A lowercase word that no vocabulary knows ("özdemir", "nuñez"): flag only
            # beside a title or person word, below.
            pass

    # Beside titles and kinship or role words, any name-like word is a name.
    for i, token in enumerate(tokens):
        low = _lower(token.text)
        is_title = low in TITLES or (token.text == "M" and text[token.end : token.end + 1] == ".")
        if not (is_title or low in PERSON_WORDS):
            continue
        j = i + 1
        taken = 0
        while j < len(tokens) and taken < 3:
            gap = text[tokens[j - 1].end : tokens[j].start]
            if not re.fullmatch(r"[\s.,]*", gap) or "\n" in gap:
                break
            candidate = tokens[j]
            clow = _lower(candidate.text)
            if clow in {"med", "dr", "prof", "rer", "nat"}:
                j += 1
                continue
            if clow in STOP_WORDS or clow in TITLES:
                break
            if not _is_capitalised(candidate.text) and (_common(candidate.text) or not is_title):
                break
            if low in PERSON_WORDS and not is_title and _safe_capitalised(candidate.text, nxt(j)):
                break
            flagged[j] = True
            taken += 1
            j += 1
        # "(Jaroslav, grandson)": a capitalised word just before a kinship word.
        if low in PERSON_WORDS and i > 0:
            before = tokens[i - 1]
            gap = text[before.end : token.start]
            if (
                re.fullmatch(r",\s*", gap)
                and _is_capitalised(before.text)
                and not _common(before.text)
            ):
                flagged[i - 1] = True

    # A flagged word pulls in the capitalised words and particles around it.
    changed = True
    while changed:
        changed = False
        for i in range(len(tokens) - 1):
            a, b = tokens[i], tokens[i + 1]
            gap = text[a.end : b.start]
            if not re.fullmatch(r" ?|\s", gap) and not re.fullmatch(r"\.\s", gap):
                continue
            b_low = _lower(b.text)
            if (
                flagged[i]
                and not flagged[i + 1]
                and _is_capitalised(b.text)
                and b_low not in TITLES
                and (not _safe_capitalised(b.text, nxt(i + 1)) or b_low in _INSTITUTION_WORDS)
            ):
                flagged[i + 1] = changed = True
            # "Grace Hall", "Wen Jie Zhou": a name's first word may be a common one.
            if (
                flagged[i + 1]
                and not flagged[i]
                and _is_capitalised(a.text)
                and _lower(a.text) not in TITLES
                and not _safe_capitalised(a.text, b.text)
            ):
                flagged[i] = changed = True
        # "Centre Hospitalier de Roubaix", "Praxis am Marktplatz"
        for i in range(1, len(tokens) - 1):
            if (
                not flagged[i]
                and flagged[i - 1]
                and flagged[i + 1]
                and _lower(tokens[i].text) in NAME_PARTICLES
            ):
                flagged[i] = changed = True

    for i, token in enumerate(tokens):
        if flagged[i]:
            yield Flag(token.start, token.end, kinds[i])


# Letters or digits glued to the engine's marker: the rest of a half-replaced word
# ("[NAME]ñez", "[ID]-7").
_GLUED = re.compile(
    r"(?<=\])(?:[^\W\d_][\w'’\-]*|-?\d[\w\-]*)|[\w'’\-]*[^\W\d_](?=\[(?:NAME|DATE|ID|PHONE|EMAIL|AGE|ADDRESS)\])"
)


def _script_flags(text: str) -> Iterator[Flag]:
    for match in _GLUED.finditer(text):
        yield Flag(*match.span(), NAME)
    for pattern in (_CJK_HONORIFIC, _CJK_BEFORE):
        for match in pattern.finditer(text):
            yield Flag(*match.span("name"), NAME)
    for match in _CJK_INSTITUTION.finditer(text):
        yield Flag(*match.span(), PLACE)
    for match in _CJK_RUN.finditer(text):
        run = match.group()
        start, end = match.span()
        before = text[start - 1 : start] if start else ""
        after = text[end : end + 1]
        standalone = not _CJK_RUN.match(before or "a") and not _CJK_RUN.match(after or "a")
        # A short run of Han or Hangul on its own (in Latin text, or between punctuation)
        # is most likely a name or a place.
        if standalone and (_CJK_NAME_CHARS.match(run) or _HANGUL_NAME.match(run)):
            yield Flag(start, end, NAME)
    for match in _CASELESS_SCRIPT.finditer(text):
        yield Flag(*match.span(), NAME)


def _merge(text: str, flags: Iterable[Flag]) -> list[Flag]:
    """Overlapping flags, and flags one space apart ("Grace Hall"), become one span."""
    merged: list[Flag] = []
    for flag in sorted(flags, key=lambda f: (f.start, -(f.end - f.start))):
        if merged and (
            flag.start < merged[-1].end
            or (flag.start - merged[-1].end == 1 and text[merged[-1].end] in " -")
        ):
            last = merged[-1]
            if flag.end > last.end:
                merged[-1] = Flag(last.start, flag.end, last.kind)
            continue
        merged.append(flag)
    return merged


def detect(text: str, *, ignore: Iterable[tuple[int, int]] = ()) -> list[Flag]:
    """Spans of ``text`` that might identify someone, as (start, end, kind).

    ``ignore`` are spans the engine wrote itself (its ``[NAME]`` markers, shifted dates):
    a flag wholly inside one is dropped.
    """
    if not text:
        return []
    ignored = sorted(ignore)
    tokens = _tokens(text)
    flags = [
        *_pattern_flags(text),
        *_digit_flags(text),
        *_name_flags(text, tokens),
        *_script_flags(text),
    ]
    kept = [
        f
        for f in flags
        if not any(a <= f.start and f.end <= b for a, b in ignored) and not _is_marker(text, f)
    ]
    return _merge(text, kept)


_MARKER = re.compile(r"\[(?:NAME|DATE|ID|PHONE|EMAIL|ADDRESS|AGE|URL|IP|UID|PLACE|TEXT)\]")


def _is_marker(text: str, flag: Flag) -> bool:
    for match in _MARKER.finditer(text, max(0, flag.start - 8), min(len(text), flag.end + 8)):
        if match.start() <= flag.start and flag.end <= match.end():
            return True
    return False

"""The DICOM de-identification engine: PS3.15 Annex E Basic profile, driven by Table E.1-1.

``deidentify_dataset`` walks every element, at every nesting depth, and applies the table's
action under the chosen options. Attributes the table does not list get safety nets by VR:
any person name is blanked, instance UIDs are replaced, dates are shifted, free text is
scrubbed and short text is swept for the case's known identifiers; private and unknown
public attributes are removed. The report names attributes and actions, never values.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pydicom.valuerep import MAX_VALUE_LEN

from . import dates
from .encoding import give_elements_their_vr
from .pixels import pixel_review_reasons
from .profile import Options, Profile, ProfileRow, load_profile, resolve_action
from .text import KnownIdentifiers, ScrubResult, scrub_text
from .uids import UIDMapper, is_class_uid_keyword, is_standard_uid

ENGINE_NAME = "peerlearning anonymizer"
ENGINE_VERSION = "1"
IMPLEMENTATION_VERSION_NAME = "PEERLEARN_ANON1"

DUMMY_TEXT = "ANONYMIZED"
_DUMMY_BY_VR: dict[str, object] = {
    "AE": DUMMY_TEXT,
    "AS": "000D",
    "CS": DUMMY_TEXT,
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "DS": "0",
    "IS": "0",
    "LO": DUMMY_TEXT,
    "LT": DUMMY_TEXT,
    "PN": DUMMY_TEXT,
    "SH": DUMMY_TEXT,
    "ST": DUMMY_TEXT,
    "UC": DUMMY_TEXT,
    "UT": DUMMY_TEXT,
    "UR": "",
}
_NUMERIC_VRS = frozenset({"FL", "FD", "SL", "SS", "UL", "US", "SV", "UV", "AT"})
_FREE_TEXT_VRS = frozenset({"ST", "LT", "UT"})
_SHORT_TEXT_VRS = frozenset({"AE", "CS", "LO", "SH", "UC", "UR"})
_UNSPLIT_VRS = frozenset({"ST", "LT", "UT", "UR"})

# Identifying numbers whose values are swept out of every other attribute and text.
ID_KEYWORDS = frozenset(
    {
        "PatientID",
        "OtherPatientIDs",
        "AccessionNumber",
        "StudyID",
        "AdmissionID",
        "ServiceEpisodeID",
        "RequestedProcedureID",
        "PerformedProcedureStepID",
        "ScheduledProcedureStepID",
        "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest",
        "MedicalRecordLocator",
        "InsurancePlanIdentification",
        "ClinicalTrialSubjectID",
        "ClinicalTrialSubjectReadingID",
    }
)
PHONE_KEYWORDS = frozenset(
    {"PatientTelephoneNumbers", "ReferringPhysicianTelephoneNumbers", "PersonTelephoneNumbers"}
)
PLACE_KEYWORDS = frozenset(
    {
        "InstitutionName",
        "InstitutionAddress",
        "PatientAddress",
        "ReferringPhysicianAddress",
        "PersonAddress",
    }
)
# Every attribute other than person names and UIDs whose value identifies someone: what a
# caller keeps of an original header to recognize its identifiers after the file is gone.
IDENTIFYING_KEYWORDS = ID_KEYWORDS | PHONE_KEYWORDS | PLACE_KEYWORDS | {"PatientBirthDate"}
_COLLECTED_TAGS = {
    "ids": {tag_for_keyword(k) for k in ID_KEYWORDS},
    "places": {tag_for_keyword(k) for k in PLACE_KEYWORDS},
    "phones": {tag_for_keyword(k) for k in PHONE_KEYWORDS},
    "births": {tag_for_keyword("PatientBirthDate")},
}


class Action(NamedTuple):
    """One thing done to one attribute: where (keyword path or tag) and what (a code)."""

    path: str
    action: str


@dataclass
class DeidentificationReport:
    actions: list[Action] = field(default_factory=list)
    pixel_review_reasons: list[str] = field(default_factory=list)
    method_codes: list[str] = field(default_factory=list)

    @property
    def needs_pixel_review(self) -> bool:
        return bool(self.pixel_review_reasons)

    def to_dict(self) -> dict:
        return {
            "actions": {a.path: a.action for a in self.actions},
            "needs_pixel_review": self.needs_pixel_review,
            "pixel_review_reasons": list(self.pixel_review_reasons),
            "method_codes": list(self.method_codes),
        }


# --- reading and writing values ----------------------------------------------------------

# VRs whose values are text: a new value in plain ASCII is written as raw bytes.
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI"}
    | {"UR", "UT"}
)
_DEFAULT_ENCODING = (False, True)  # explicit VR little endian, for datasets built in memory


def _values(elem: DataElement) -> list[str]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value if v is not None and str(v) != ""]
    return [str(value)]


def _read(
    ds: Dataset, tag: int, vr: str, raw: DataElement | RawDataElement | None = None
) -> list[str]:
    """The string values of an element, decoding plain ASCII itself.

    Elements left as pydicom read them are written back byte for byte, which is much
    cheaper than converting and re-encoding every value the engine only looks at.
    """
    if raw is None:
        raw = ds.get_item(tag)
        if raw is None:
            return []
    if type(raw) is RawDataElement:
        data = raw.value
        if type(data) is bytes and data.isascii() and b"\x1b" not in data:
            text = data.decode("ascii").rstrip(" \x00")
            if not text:
                return []
            if vr in _UNSPLIT_VRS:
                return [text]
            if "\\" not in text:
                text = text.strip(" \x00")
                return [text] if text else []
            return [v.strip(" \x00") for v in text.split("\\") if v.strip(" \x00")]
    return _values(ds[tag])


def _encoding(raw: object, ds: Dataset) -> tuple[bool, bool]:
    if type(raw) is RawDataElement and raw.is_implicit_VR is not None:
        return raw.is_implicit_VR, raw.is_little_endian
    implicit, little = ds.original_encoding
    return _DEFAULT_ENCODING if implicit is None else (implicit, little)


def _write(ds: Dataset, tag: int, vr: str, values: list[str], raw: object = None) -> None:
    """Store new text values; plain ASCII is stored encoded, as if it had been read.

    A raw element is written as it stands, which saves pydicom's conversion and
    re-encoding on writing; anything else becomes an ordinary element.
    """
    text = "\\".join(values)
    if text.isascii():
        data = text.encode("ascii")
        if len(data) & 1:
            data += b"\x00" if vr == "UI" else b" "
        implicit, little = _encoding(raw, ds)
        ds._dict[BaseTag(tag)] = RawDataElement(
            BaseTag(tag), vr, len(data), data, 0, implicit, little
        )
        return
    value: object = values[0] if len(values) == 1 else values
    ds[tag] = DataElement(tag, vr, value if values else empty_value_for_VR(vr))


def _parse_da(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value.strip()[:8], "%Y%m%d").date()  # noqa: DTZ007
    except ValueError:
        return None


# --- sequences kept as read ----------------------------------------------------------------
#
# pydicom turns a sequence into Dataset items, and writes them back element by element,
# which costs more than all the rest of de-identifying a typical header. Sequences read
# with defined lengths are parsed here into items that hold their elements as read, walked
# like any dataset, and encoded back into one value. Anything unusual (an item or value of
# undefined length, a value that is not plain ASCII, an element the engine must create in
# pydicom's own form) sends the sequence back to pydicom's handling, from the start.

# VRs whose length takes 4 bytes (after 2 reserved ones) in explicit VR encodings.
_LONG_LENGTH_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_SHORT_LENGTH_VRS = frozenset(
    {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "PN", "SH", "SL"}
    | {"SS", "ST", "TM", "UI", "UL", "US"}
)
_VR_BY_BYTES = {vr.encode("ascii"): vr for vr in _LONG_LENGTH_VRS | _SHORT_LENGTH_VRS}
_ITEM_TAG = 0xFFFEE000
_UNDEFINED = 0xFFFFFFFF


class _NeedsDataset(Exception):
    """An item kept as read needs pydicom's full handling."""


class _RawItem:
    """A sequence item kept as read: its elements, undecoded, by tag (an int)."""

    __slots__ = ("_dict", "_private_blocks", "original_encoding")

    def __init__(self, elements: dict, encoding: tuple[bool, bool]) -> None:
        self._dict = elements
        self.original_encoding = encoding
        self._private_blocks: dict = {}

    def __contains__(self, tag: int) -> bool:
        return tag in self._dict

    def __getitem__(self, tag: int) -> DataElement:
        raise _NeedsDataset

    def __setitem__(self, tag: int, elem: DataElement) -> None:
        raise _NeedsDataset


class _Codec(NamedTuple):
    tag_length: Callable  # (group, element, 4-byte length)
    explicit: Callable  # (group, element, VR, 2-byte length)
    long: Callable
    pack_tag: Callable
    pack_short: Callable
    pack_long: Callable


@lru_cache(maxsize=2)
def _codec(little: bool) -> _Codec:
    order = "<" if little else ">"
    return _Codec(
        struct.Struct(f"{order}HHL").unpack_from,
        struct.Struct(f"{order}HH2sH").unpack_from,
        struct.Struct(f"{order}L").unpack_from,
        struct.Struct(f"{order}HH").pack,
        struct.Struct(f"{order}H").pack,
        struct.Struct(f"{order}L").pack,
    )


def _raw_items(raw: object) -> list[_RawItem] | None:
    """The items of a sequence as read; None when it is not simple enough to parse here."""
    if type(raw) is not RawDataElement:
        return None
    data, implicit, little = raw.value, raw.is_implicit_VR, raw.is_little_endian
    if (
        type(data) is not bytes
        or raw.is_buffered
        or raw.length == _UNDEFINED
        or implicit is None
        or not (raw.VR == "SQ" or (raw.VR is None and implicit))
    ):
        return None
    codec = _codec(little)
    tag_length, explicit, long = codec.tag_length, codec.explicit, codec.long
    items = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8:
            return None
        group, element, length = tag_length(data, pos)
        if (group << 16 | element) != _ITEM_TAG or length == _UNDEFINED:
            return None
        pos += 8
        stop = pos + length
        if stop > end:
            return None
        elements = {}
        while pos < stop:
            if stop - pos < 8:
                return None
            if implicit:
                group, element, length = tag_length(data, pos)
                vr = None
                pos += 8
            else:
                group, element, vr_bytes, length = explicit(data, pos)
                vr = _VR_BY_BYTES.get(vr_bytes)
                if vr is None:
                    return None
                if vr in _LONG_LENGTH_VRS:
                    if stop - pos < 12:
                        return None
                    length = long(data, pos + 8)[0]
                    pos += 12
                else:
                    pos += 8
            if length == _UNDEFINED or pos + length > stop or group == 0xFFFE:
                return None
            tag = group << 16 | element
            # Keys are plain ints (cheap to compare and sort); the elements carry BaseTags.
            elements[tag] = RawDataElement(
                BaseTag(tag),
                vr,
                length,
                data[pos : pos + length],
                raw.value_tell + pos,
                implicit,
                little,
            )
            pos += length
        items.append(_RawItem(elements, (implicit, little)))
    return items


def _encode_sequence(ds: Dataset, tag: BaseTag, items: list) -> bool:
    """Store a walked sequence encoded, as if it had been read, when every value allows.

    Writing one raw value costs pydicom far less than writing each item element by
    element. Items holding anything but values as read (or our ASCII replacements) stay
    as they are and are written the ordinary way (False).
    """
    implicit, little = _encoding(None, ds)
    codec = _codec(little)
    pack_tag, pack_short, pack_long = codec.pack_tag, codec.pack_short, codec.pack_long
    parts = []
    for item in items:
        body = []
        for elem_tag, raw in sorted(item._dict.items()):
            if (
                type(raw) is not RawDataElement
                or type(raw.value) is not bytes
                or raw.is_implicit_VR is not implicit
                or raw.is_little_endian is not little
                or raw.is_buffered
            ):
                return False
            data = raw.value
            length = len(data)
            head = pack_tag(elem_tag >> 16, elem_tag & 0xFFFF)
            if implicit:
                head += pack_long(length)
            elif raw.VR in _LONG_LENGTH_VRS:
                head += raw.VR.encode("ascii") + b"\x00\x00" + pack_long(length)
            elif raw.VR in _SHORT_LENGTH_VRS and length <= 0xFFFF:
                head += raw.VR.encode("ascii") + pack_short(length)
            else:
                return False
            body.append(head)
            body.append(data)
        encoded = b"".join(body)
        parts.append(pack_tag(0xFFFE, 0xE000) + pack_long(len(encoded)) + encoded)
    value = b"".join(parts)
    ds._dict[tag] = RawDataElement(tag, "SQ", len(value), value, 0, implicit, little)
    return True


_GATHERED_BY_TAG = {tag: key for key, tags in _COLLECTED_TAGS.items() for tag in tags}


class _Gatherer:
    """Collects the identifiers in original elements, before anything is changed."""

    def __init__(self, roster: Iterable[str] = ()) -> None:
        self.found: dict[str, list[str]] = {
            "names": list(roster),
            "ids": [],
            "places": [],
            "phones": [],
            "births": [],
        }

    def walk(self, ds: Dataset) -> None:
        found = self.found
        for tag, raw in list(ds._dict.items()):
            vr = raw.VR
            if vr is None or vr == "UN":
                vr = _vr_of(tag, vr)
            if vr == "SQ":
                self.sequence(ds, tag, raw)
            elif vr == "PN":
                found["names"].extend(_read(ds, tag, vr, raw))
            else:
                key = _GATHERED_BY_TAG.get(tag)
                if key is not None:
                    found[key].extend(_read(ds, tag, vr, raw))

    def sequence(self, ds: Dataset, tag: BaseTag, raw: object) -> None:
        items = _raw_items(raw)
        if items is not None:
            sizes = {key: len(values) for key, values in self.found.items()}
            try:
                for item in items:
                    self.walk(item)
            except _NeedsDataset:
                if type(ds) is _RawItem:
                    raise
                for key, size in sizes.items():
                    del self.found[key][size:]
            else:
                return
        for item in ds[tag].value or ():
            self.walk(item)

    def known(self) -> KnownIdentifiers:
        found = self.found
        return _known(*(tuple(found[k]) for k in ("names", "ids", "places", "phones", "births")))


@lru_cache(maxsize=64)
def _known(
    names: tuple[str, ...],
    ids: tuple[str, ...],
    places: tuple[str, ...],
    phones: tuple[str, ...],
    births: tuple[str, ...],
) -> KnownIdentifiers:
    # The images of a case carry the same identifiers: build them once (and hand the
    # scrubber the same object, whose compiled patterns are cached).
    return KnownIdentifiers.build(
        person_names=names,
        ids=ids,
        birth_dates=[d for d in map(_parse_da, births) if d],
        places=places,
        phones=phones,
    )


@lru_cache(maxsize=64)
def _with_roster(known: KnownIdentifiers, roster: tuple[str, ...]) -> KnownIdentifiers:
    return known.merge(KnownIdentifiers.build(person_names=roster))


# The images of a series repeat their texts: each distinct text of a case is scrubbed once.
_SCRUB_MEMO_LIMIT = 4096


@lru_cache(maxsize=16)
def _scrub_memo(known: KnownIdentifiers, offset_days: int) -> dict[tuple[str, bool], ScrubResult]:
    return {}


def forget_identifiers() -> None:
    """Drop the cached identifiers and scrubbed texts of past cases from memory."""
    _known.cache_clear()
    _with_roster.cache_clear()
    _scrub_memo.cache_clear()


def collect_identifiers(
    datasets: Iterable[Dataset], *, roster: Iterable[str] = ()
) -> KnownIdentifiers:
    """Identifiers found in original datasets: every person name, IDs, birth date, places."""
    gatherer = _Gatherer(roster)
    for ds in datasets:
        gatherer.walk(ds)
    return gatherer.known()


# --- the engine --------------------------------------------------------------------------


@dataclass
class _Context:
    options: Options
    profile: Profile
    uids: UIDMapper
    offset_days: int
    known: KnownIdentifiers
    allowed_person_names: frozenset[str]
    actions: list[Action]
    decisions: dict[int, _Decision]
    scrubbed: dict[tuple[str, bool], ScrubResult]

    def record(self, path: str, action: str) -> None:
        self.actions.append(Action(path, action))


@lru_cache(maxsize=8192)
def _dictionary(tag: int) -> tuple[str, str | None]:
    """(keyword, VR) from the data dictionary; ("", None) for tags it does not know."""
    try:
        return keyword_for_tag(tag), dictionary_VR(tag)
    except KeyError:
        return "", None


def _vr_of(tag: BaseTag, raw_vr: str | None) -> str:
    if raw_vr and raw_vr != "UN":
        return raw_vr
    return _dictionary(tag)[1] or raw_vr or "UN"


def _name(tag: BaseTag) -> str:
    return _dictionary(tag)[0] or f"({tag.group:04X},{tag.element:04X})"


def _fit(text: str, vr: str) -> str:
    limit = MAX_VALUE_LEN.get(vr)
    return text[:limit] if limit else text


def deidentify_dataset(
    ds: Dataset,
    *,
    case_key: str,
    secret: str | bytes,
    options: Options | None = None,
    known: KnownIdentifiers | None = None,
) -> tuple[Dataset, DeidentificationReport]:
    """De-identify ``ds`` in place and return it with a report of what was done.

    ``known`` are the identifiers of the whole case (see ``collect_identifiers``); without
    it they are collected from ``ds`` alone.
    """
    options = options or Options()
    as_read = ds._dict.copy()
    if known is None:
        known = collect_identifiers([ds], roster=options.roster)
    elif options.roster:
        known = _with_roster(known, tuple(options.roster))
    offset_days = dates.case_date_offset(secret=secret, case_key=case_key)
    reasons = pixel_review_reasons(ds)
    # Looking at values converts them; nothing has changed yet, so put back the values
    # as read (sequences apart, which are walked next), which are cheaper to write.
    elements = ds._dict
    for tag, elem in elements.items():
        if type(elem) is not RawDataElement and elem.VR != "SQ":
            before = as_read.get(tag)
            if type(before) is RawDataElement:
                elements[tag] = before
    ctx = _Context(
        options=options,
        profile=load_profile(),
        uids=UIDMapper.for_case(secret=secret, case_key=case_key),
        offset_days=offset_days,
        known=known,
        allowed_person_names=frozenset({DUMMY_TEXT, options.patient_label} - {""}),
        actions=[],
        decisions=_decisions_for(options),
        scrubbed=_scrub_memo(known, offset_days),
    )
    _process(ds, ctx, "")
    _restore_inert(ds, as_read, ctx.decisions)
    _mark_deidentified(ds, ctx)
    _rebuild_file_meta(ds, ctx)
    report = DeidentificationReport(
        actions=ctx.actions,
        pixel_review_reasons=reasons,
        method_codes=[code for code, _ in _method_codes(options)],
    )
    return ds, report


# VRs that no safety net looks at: an attribute the table does not list keeps them.
_INERT_VRS = frozenset(
    {
        "AS",
        "AT",
        "DS",
        "FD",
        "FL",
        "IS",
        "OD",
        "OF",
        "OL",
        "OV",
        "SL",
        "SS",
        "SV",
        "TM",
        "UL",
        "US",
        "UV",
        "US or SS",
        "OB or OW",
        "US or OW",
        "US or SS or OW",
    }
)


@lru_cache(maxsize=8192)
def _table(options: Options, tag: int) -> tuple[ProfileRow | None, str]:
    """The table row covering a tag and its action under the options (cached)."""
    row = load_profile().row_for(tag)
    if row is None:
        return None, ""
    return row, resolve_action(row, _dictionary(tag)[0], options)


# What to do with an element, decided once per tag (and VR) and options.
_INERT, _PRIVATE, _DROP, _OVERLAY, _LISTED, _UNLISTED = range(6)


class _Decision(NamedTuple):
    kind: int
    raw_vr: str | None = None
    vr: str = ""
    name: str = ""
    row: ProfileRow | None = None
    action: str = ""
    keyword: str = ""
    class_uid: bool = False


_DECISIONS: dict[Options, dict[int, _Decision]] = {}


def _decisions_for(options: Options) -> dict[int, _Decision]:
    decisions = _DECISIONS.get(options)
    if decisions is None:
        if len(_DECISIONS) >= 32:
            _DECISIONS.clear()
        decisions = _DECISIONS[options] = {}
    return decisions


def _decide(options: Options, tag: int, raw_vr: str | None) -> _Decision:
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return _Decision(_PRIVATE, raw_vr)
    if element == 0 or group == 0x0002:
        # Group lengths are recomputed on writing; file meta lives in ds.file_meta.
        return _Decision(_DROP, raw_vr)
    if group & 0xFF00 == 0x6000:
        # Overlays (Clean Graphics is not offered): the whole overlay goes.
        return _Decision(_OVERLAY, raw_vr, name=f"({group:04X},xxxx)")
    vr = _vr_of(BaseTag(tag), raw_vr)
    row, action = _table(options, tag)
    keyword = _dictionary(tag)[0]
    if row is None and vr in _INERT_VRS and keyword:
        return _Decision(_INERT, raw_vr)
    name = keyword or f"({group:04X},{element:04X})"
    return _Decision(
        _LISTED if row is not None else _UNLISTED,
        raw_vr,
        vr,
        name,
        row,
        action,
        keyword,
        is_class_uid_keyword(keyword),
    )


def _restore_inert(ds: Dataset, as_read: dict, decisions: dict[int, _Decision]) -> None:
    """Elements the engine never changes but pydicom converted on the way: back as read."""
    elements = ds._dict
    for tag, elem in elements.items():
        if type(elem) is not RawDataElement:
            before = as_read.get(tag)
            decision = decisions.get(int(tag))
            if (
                type(before) is RawDataElement
                and decision is not None
                and decision.kind == _INERT
                and decision.raw_vr == before.VR
            ):
                elements[tag] = before


_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, UnicodeError, OverflowError)


def _process(ds: Dataset, ctx: _Context, prefix: str) -> None:
    elements = ds._dict
    decisions = ctx.decisions
    private_blocks: set[str] = set()
    for tag, raw in list(elements.items()):
        raw_vr = raw.VR
        decision = decisions.get(int(tag))
        if decision is None or decision.raw_vr != raw_vr:
            decision = decisions[int(tag)] = _decide(ctx.options, tag, raw_vr)
        kind = decision.kind
        if kind == _INERT:
            continue
        if kind == _PRIVATE:
            if not _keep_private(ds, tag, ctx):
                del elements[tag]
                block = f"{prefix}({tag >> 16:04X},{(tag & 0xFFFF) >> 8:02X}xx)"
                if block not in private_blocks:
                    private_blocks.add(block)
                    ctx.record(block, "X")
            continue
        if kind == _DROP:
            del elements[tag]
            continue
        if kind == _OVERLAY:
            del elements[tag]
            ctx.record(prefix + decision.name, "X")
            continue
        path = prefix + decision.name
        try:
            if kind == _LISTED:
                _apply(ds, tag, raw, decision, ctx, path)
            else:
                _unlisted(ds, tag, raw, decision, ctx, path)
        except _UNREADABLE:
            # A value we cannot read cannot be shown to be safe.
            elements.pop(tag, None)
            ctx.record(path, "X:unreadable")
    if private_blocks:
        # pydicom caches private blocks by creator; some creators are gone.
        ds._private_blocks = {}


def _keep_private(ds: Dataset, tag: BaseTag, ctx: _Context) -> bool:
    options = ctx.options
    if not (options.retain_safe_private and options.safe_private):
        return False
    tag = BaseTag(tag)
    if tag.element < 0x0100:
        creator_tag, low = tag, None
    else:
        creator_tag, low = BaseTag((tag.group << 16) | (tag.element >> 8)), tag.element & 0xFF
    if creator_tag not in ds:
        return False
    creator = str(ds[creator_tag].value).strip()
    safe = [s for s in options.safe_private if s[0] == creator and s[1] == tag.group]
    if low is None:
        return bool(safe)
    return any(s[2] == low for s in safe)


def _empty(ds: Dataset, tag: BaseTag, vr: str, raw: object) -> None:
    if vr in _TEXT_VRS:
        _write(ds, tag, vr, [], raw)
    else:
        ds[tag] = DataElement(tag, vr, empty_value_for_VR(vr))


def _apply(
    ds: Dataset, tag: BaseTag, raw: object, decision: _Decision, ctx: _Context, path: str
) -> None:
    action, vr = decision.action, decision.vr
    if action == "X":
        del ds._dict[tag]
        ctx.record(path, "X")
    elif action == "Z":
        _empty(ds, tag, vr, raw)
        ctx.record(path, "Z")
    elif action == "D":
        _dummy(ds, tag, vr, raw, ctx, path)
    elif action == "U":
        _replace_uids(ds, tag, vr, raw, ctx, path)
    elif action == "C":
        _clean(ds, tag, vr, raw, decision.row, ctx, path)
    else:
        _keep(ds, tag, vr, raw, ctx, path, decision.keyword)


def _dummy(ds: Dataset, tag: BaseTag, vr: str, raw: object, ctx: _Context, path: str) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        ctx.record(path, "D:cleaned")
        return
    if vr == "UI":
        _replace_uids(ds, tag, vr, raw, ctx, path)
        return
    if vr in _NUMERIC_VRS:
        ds[tag] = DataElement(tag, vr, 0)
    elif vr in _DUMMY_BY_VR:
        dummy = _DUMMY_BY_VR[vr]
        _write(ds, tag, vr, [dummy] if dummy else [], raw)
    else:
        ds[tag] = DataElement(tag, vr, b"\x00\x00")
    ctx.record(path, "D")


def _replace_uids(
    ds: Dataset, tag: BaseTag, vr: str, raw: object, ctx: _Context, path: str
) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        return
    if vr != "UI":
        del ds._dict[tag]
        ctx.record(path, "X")
        return
    values = _read(ds, tag, vr, raw)
    if values:
        _write(ds, tag, vr, [ctx.uids.map_value(v) for v in values], raw)
    ctx.record(path, "U")


def _clean(
    ds: Dataset,
    tag: BaseTag,
    vr: str,
    raw: object,
    row: ProfileRow,
    ctx: _Context,
    path: str,
) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        ctx.record(path, "C:cleaned")
    elif "retain_long_modified_dates" in row.options and vr in {"DA", "DT"}:
        _shift_dates(ds, tag, vr, raw, ctx, path, "C:shifted")
    elif "retain_long_modified_dates" in row.options:
        # Times and UTC offsets stay: a whole-day shift moves no time of day.
        ctx.record(path, "C:kept")
    elif vr in _FREE_TEXT_VRS or vr in _SHORT_TEXT_VRS:
        _scrub(ds, tag, vr, raw, ctx, path, patterns=True, label="C")
    else:
        ctx.record(path, "C:kept")


def _keep(
    ds: Dataset, tag: BaseTag, vr: str, raw: object, ctx: _Context, path: str, keyword: str
) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        return
    if keyword == "PatientAge":
        _cap_age(ds, tag, vr, raw, ctx, path)
        return
    ctx.record(path, "K")


def _cap_age(ds: Dataset, tag: BaseTag, vr: str, raw: object, ctx: _Context, path: str) -> None:
    """Ages over 89 are reported as 90 (the HIPAA Safe Harbor rule)."""
    values = _read(ds, tag, vr, raw)
    value = values[0] if values else ""
    if len(value) == 4 and value[3] == "Y" and value[:3].isdigit() and int(value[:3]) > 89:
        _write(ds, tag, vr, ["090Y"], raw)
        ctx.record(path, "C:age-capped")
    else:
        ctx.record(path, "K")


def _shift_dates(
    ds: Dataset,
    tag: BaseTag,
    vr: str,
    raw: object,
    ctx: _Context,
    path: str,
    label: str,
    values: list[str] | None = None,
) -> None:
    if values is None:
        values = _read(ds, tag, vr, raw)
    if not values:
        ctx.record(path, label)
        return
    shift = dates.shift_da if vr == "DA" else dates.shift_dt
    shifted = [shift(v, ctx.offset_days) for v in values]
    if any(s is None for s in shifted):
        _write(ds, tag, vr, [], raw)
        ctx.record(path, "Z:unreadable-date")
        return
    _write(ds, tag, vr, shifted, raw)
    ctx.record(path, label)


def _scrub(
    ds: Dataset,
    tag: BaseTag,
    vr: str,
    raw: object,
    ctx: _Context,
    path: str,
    *,
    patterns: bool,
    label: str,
) -> None:
    values = _read(ds, tag, vr, raw)
    changed = False
    new_values = []
    memo = ctx.scrubbed
    for value in values:
        result = memo.get((value, patterns))
        if result is None:
            result = scrub_text(
                value, known=ctx.known, date_offset_days=ctx.offset_days, patterns=patterns
            )
            if len(memo) >= _SCRUB_MEMO_LIMIT:
                memo.clear()
            memo[value, patterns] = result
        changed = changed or result.changed
        new_values.append(_fit(result.text, vr))
    if changed:
        _write(ds, tag, vr, new_values, raw)
        ctx.record(path, f"{label}:scrubbed")
    elif label == "C":
        ctx.record(path, "C:passed")


def _unlisted(
    ds: Dataset, tag: BaseTag, raw: object, decision: _Decision, ctx: _Context, path: str
) -> None:
    """Safety nets for attributes Table E.1-1 does not list."""
    vr = decision.vr
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        return
    keyword = decision.keyword
    if not keyword:
        del ds._dict[tag]
        ctx.record(path, "X:unknown-public")
        return
    if vr == "PN":
        values = _read(ds, tag, vr, raw)
        if any(v not in ctx.allowed_person_names for v in values):
            _write(ds, tag, vr, [], raw)
            ctx.record(path, "Z:person-name")
    elif vr == "UI":
        if not decision.class_uid:
            values = _read(ds, tag, vr, raw)
            if any(not is_standard_uid(v) for v in values):
                _write(ds, tag, vr, [ctx.uids.map_value(v) for v in values], raw)
                ctx.record(path, "U:uid")
    elif vr in {"DA", "DT"}:
        if ctx.options.retain_longitudinal_modified_dates:
            values = _read(ds, tag, vr, raw)
            if values:
                _shift_dates(ds, tag, vr, raw, ctx, path, "C:shifted", values)
        else:
            _write(ds, tag, vr, [], raw)
            ctx.record(path, "Z:date")
    elif vr in _FREE_TEXT_VRS:
        _scrub(ds, tag, vr, raw, ctx, path, patterns=True, label="C")
    elif vr in _SHORT_TEXT_VRS:
        _scrub(ds, tag, vr, raw, ctx, path, patterns=False, label="C:known")


def _recurse(ds: Dataset, tag: BaseTag, ctx: _Context, path: str) -> None:
    as_read = ds._dict[tag]
    items = _raw_items(as_read)
    if items is not None:
        mark = len(ctx.actions)
        try:
            for index, item in enumerate(items):
                _process(item, ctx, f"{path}[{index}].")
            if _encode_sequence(ds, tag, items):
                return
        except _NeedsDataset:
            pass
        if type(ds) is _RawItem:
            raise _NeedsDataset
        # Start again the ordinary way (the report is rewound; nothing else was changed).
        del ctx.actions[mark:]
        ds._dict[tag] = as_read
    items = ds[tag].value or ()
    for index, item in enumerate(items):
        _process(item, ctx, f"{path}[{index}].")
    if items:
        _encode_sequence(ds, tag, items)


@lru_cache(maxsize=32)
def _method_codes(options: Options) -> tuple[tuple[str, str], ...]:
    return tuple(options.method_codes())


_IDENTITY_REMOVED = BaseTag(0x00120062)
_METHOD = BaseTag(0x00120063)
_METHOD_CODES = BaseTag(0x00120064)
_LONGITUDINAL = BaseTag(0x00280303)
_PATIENT_NAME = BaseTag(0x00100010)
_PATIENT_ID = BaseTag(0x00100020)


@lru_cache(maxsize=32)
def _method_code_sequence(
    codes: tuple[tuple[str, str], ...], implicit: bool, little: bool
) -> RawDataElement:
    """De-identification Method Code Sequence, encoded once per options and encoding."""
    order = "<" if little else ">"

    def element(tag: int, vr: str, text: str) -> bytes:
        data = text.encode("ascii")
        data += b" " * (len(data) & 1)
        head = struct.pack(f"{order}HH", tag >> 16, tag & 0xFFFF)
        if implicit:
            return head + struct.pack(f"{order}L", len(data)) + data
        return head + vr.encode("ascii") + struct.pack(f"{order}H", len(data)) + data

    items = b""
    for value, meaning in codes:
        body = (
            element(0x00080100, "SH", value)
            + element(0x00080102, "SH", "DCM")
            + element(0x00080104, "LO", meaning)
        )
        items += struct.pack(f"{order}HHL", 0xFFFE, 0xE000, len(body)) + body
    return RawDataElement(_METHOD_CODES, "SQ", len(items), items, 0, implicit, little)


def _mark_deidentified(ds: Dataset, ctx: _Context) -> None:
    options = ctx.options
    codes = _method_codes(options)
    _write(ds, _IDENTITY_REMOVED, "CS", ["YES"])
    _write(
        ds,
        _METHOD,
        "LO",
        [f"{ENGINE_NAME} {ENGINE_VERSION}", *(meaning[:64] for _, meaning in codes)],
    )
    ds._dict[_METHOD_CODES] = _method_code_sequence(codes, *_encoding(None, ds))
    _write(
        ds,
        _LONGITUDINAL,
        "CS",
        ["MODIFIED" if options.retain_longitudinal_modified_dates else "REMOVED"],
    )
    if options.patient_label:
        _write(ds, _PATIENT_NAME, "PN", [options.patient_label])
        _write(ds, _PATIENT_ID, "LO", [options.patient_label])


def _transfer_syntax(ds: Dataset) -> str:
    """For a file without file meta: the encoding it was read with."""
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit:
        return ImplicitVRLittleEndian
    if little is False:
        return ExplicitVRBigEndian
    return ExplicitVRLittleEndian


_META_KEPT = frozenset({0x00020000, 0x00020001, 0x00020002, 0x00020010})


def _rebuild_file_meta(ds: Dataset, ctx: _Context) -> None:
    """Keep only the file meta that describes the file; nothing of the sender's survives.

    Source and receiving AE titles, private information and the old instance UID go; the
    elements kept are left as read, which keeps writing cheap.
    """
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    for tag in list(meta.keys()):
        if tag not in _META_KEPT:
            if tag not in (0x00020003, 0x00020012, 0x00020013):
                ctx.record(f"FileMeta.{_name(BaseTag(tag))}", "X")
            del meta[tag]

    def put(tag: int, vr: str, value: object) -> None:
        if isinstance(value, str) and value.isascii():
            # Stored encoded, as if read (file meta is always explicit VR little endian).
            data = value.encode("ascii")
            data += (b"\x00" if vr == "UI" else b" ") * (len(data) & 1)
            meta._dict[BaseTag(tag)] = RawDataElement(
                BaseTag(tag), vr, len(data), data, 0, False, True
            )
        else:
            meta[tag] = DataElement(tag, vr, value)

    if 0x00020001 not in meta:
        put(0x00020001, "OB", b"\x00\x01")
    # Read without converting, so that both stay as read (and cheap to write).
    sop_class = next(iter(_read(ds, 0x00080016, "UI")), "")
    if sop_class and next(iter(_read(meta, 0x00020002, "UI")), "") != sop_class:
        put(0x00020002, "UI", sop_class)
    put(0x00020003, "UI", next(iter(_read(ds, 0x00080018, "UI")), ""))
    if 0x00020010 not in meta:
        put(0x00020010, "UI", _transfer_syntax(ds))
    put(0x00020012, "UI", PYDICOM_IMPLEMENTATION_UID)
    put(0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)
    if not meta.TransferSyntaxUID.is_implicit_VR and any(
        elem.VR is None for elem in ds._dict.values()
    ):
        give_elements_their_vr(ds)
    if hasattr(ds, "preamble"):
        ds.preamble = b"\x00" * 128
    ctx.record("FileMeta.MediaStorageSOPInstanceUID", "U")


# --- writing -------------------------------------------------------------------------------

_PIXEL_DATA = 0x7FE00010
_SEQUENCE_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"
_ITEM_START = b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00"
# Values of converted elements that are simple to encode: text, and bytes for OB.
# (VRs of the default repertoire only: other text may need the character set's encoding.)
_SIMPLE_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI"})


def _value_bytes(elem: object, implicit: bool, little: bool) -> tuple[str | None, bytes] | None:
    """(VR, value bytes) of an element as pydicom would write them; None if not simple."""
    if type(elem) is RawDataElement:
        if (
            type(elem.value) is not bytes
            or elem.is_buffered
            or elem.is_implicit_VR is not implicit
            or elem.is_little_endian is not little
        ):
            return None
        return elem.VR, elem.value
    vr, value = elem.VR, elem.value
    if vr in _SIMPLE_TEXT_VRS:
        if isinstance(value, str):
            text = value
        elif isinstance(value, MultiValue) and all(isinstance(v, str) for v in value):
            text = "\\".join(value)
        else:
            return None
        if not text.isascii():
            return None
        data = text.encode("ascii")
        return vr, data + ((b"\x00" if vr == "UI" else b" ") * (len(data) & 1))
    if vr == "OB" and isinstance(value, bytes):
        return vr, value + b"\x00" * (len(value) & 1)
    return None


def _encode_elements(
    elements: dict, implicit: bool, little: bool, *, compressed: bool
) -> bytes | None:
    """Elements (sorted by tag) encoded as pydicom writes them; None if one is not simple."""
    codec = _codec(little)
    pack_tag, pack_short, pack_long = codec.pack_tag, codec.pack_short, codec.pack_long
    parts = []
    for tag, elem in sorted(elements.items()):
        if tag & 0xFFFF == 0 and tag >> 16 > 6:
            continue  # retired group lengths, which pydicom does not write either
        encoded = _value_bytes(elem, implicit, little)
        if encoded is None:
            return None
        vr, data = encoded
        length = len(data)
        undefined = type(elem) is RawDataElement and elem.length == _UNDEFINED
        if tag == _PIXEL_DATA and undefined is not compressed:
            return None  # pydicom adjusts, or refuses, pixel data of the other form
        if undefined and not (tag == _PIXEL_DATA and data.startswith(_ITEM_START[not little])):
            return None
        head = pack_tag(tag >> 16, tag & 0xFFFF)
        if implicit:
            head += pack_long(_UNDEFINED if undefined else length)
        elif vr in _LONG_LENGTH_VRS:
            head += (
                vr.encode("ascii") + b"\x00\x00" + pack_long(_UNDEFINED if undefined else length)
            )
        elif vr in _SHORT_LENGTH_VRS and length <= 0xFFFF and not undefined:
            head += vr.encode("ascii") + pack_short(length)
        else:
            return None
        parts.append(head)
        parts.append(data)
        if undefined:
            parts.append(_SEQUENCE_END[not little])
    return b"".join(parts)


def _file_meta_bytes(meta: FileMetaDataset) -> bytes | None:
    required = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012)
    if any(tag not in meta._dict for tag in required):
        return None  # pydicom would add them
    body = _encode_elements(
        {tag: elem for tag, elem in meta._dict.items() if tag != 0x00020000},
        False,
        True,
        compressed=False,
    )
    if body is None:
        return None
    return b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<L", len(body)) + body


def deidentified_file_bytes(ds: Dataset) -> bytes:
    """The de-identified dataset as a DICOM file, as ``ds.save_as(…, enforce_file_format=True)``
    writes it, byte for byte.

    When every element is as read (or replaced by the engine in plain ASCII) the file is
    encoded here, with far less per-element work than pydicom's writer; anything else
    (a value pydicom converted to something other than text, a sequence of pydicom items,
    deflate or an unusual transfer syntax) is left to pydicom.
    """
    fast = _fast_file_bytes(ds)
    if fast is not None:
        return fast
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _fast_file_bytes(ds: Dataset) -> bytes | None:
    meta = getattr(ds, "file_meta", None)
    if meta is None or ds.original_character_set != ds._character_set:
        return None
    syntax = meta.get("TransferSyntaxUID")
    if syntax is None or not syntax.is_transfer_syntax or syntax.is_private or syntax.is_deflated:
        return None
    implicit, little = syntax.is_implicit_VR, syntax.is_little_endian
    compressed = syntax.is_compressed
    # pydicom would bring the file meta in line with the dataset; here it must already be.
    for meta_tag, tag in ((0x00020002, 0x00080016), (0x00020003, 0x00080018)):
        in_meta, in_ds = _read(meta, meta_tag, "UI"), _read(ds, tag, "UI")
        if not in_meta or (in_ds and in_ds != in_meta):
            return None  # (pydicom refuses a file meta without them)
    if any(tag >> 16 in (0, 2) for tag in ds._dict):
        return None
    meta_bytes = _file_meta_bytes(meta)
    if meta_bytes is None:
        return None
    body = _encode_elements(ds._dict, implicit, little, compressed=compressed)
    if body is None:
        return None
    preamble = getattr(ds, "preamble", None) or b"\x00" * 128
    if len(preamble) != 128:
        return None
    return preamble + b"DICM" + meta_bytes + body

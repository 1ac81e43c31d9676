"""The DICOM de-identification engine: PS3.15 Annex E Basic profile, driven by Table E.1-1.

``deidentify_dataset`` walks every element, at every nesting depth, and applies the table's
action under the chosen options. Attributes the table does not list get safety nets by VR:
any person name is blanked, instance UIDs are replaced, dates are shifted, free text is
scrubbed and short text is swept for the case's known identifiers; private and unknown
public attributes are removed. The report names attributes and actions, never values.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from anonymizer.engine.text import KnownIdentifiers, ScrubResult, scrub_text

from .. import dates
from ..pixels import pixel_review_reasons
from ..profile import Options, Profile, ProfileRow, load_profile
from ..uids import UIDMapper, is_standard_uid
from .decisions import (
    _DROP,
    _INERT,
    _LISTED,
    _OVERLAY,
    _PRIVATE,
    _decide,
    _Decision,
    _decisions_for,
    _restore_inert,
)
from .elements import (
    _CODED_VRS,
    _DUMMY_BY_VR,
    _FREE_TEXT_VRS,
    _NUMERIC_VRS,
    _SHORT_TEXT_VRS,
    _TEXT_VRS,
    CODE_KEYWORDS,
    DUMMY_TEXT,
    _dictionary,
    _encoding,
    _fit,
    _read,
    _write,
)
from .identifiers import _SCRUB_MEMO_LIMIT, _scrub_memo, _with_roster, collect_identifiers
from .raw import _encode_sequence, _NeedsDataset, _raw_items, _RawItem
from .writer import _rebuild_file_meta

ENGINE_NAME = "peerlearning anonymizer"
ENGINE_VERSION = "1"


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
    _keep_animal_attributes(ds, as_read, ctx)
    _restore_inert(ds, as_read, ctx.decisions)
    _mark_deidentified(ds, ctx)
    _rebuild_file_meta(ds, ctx.record)
    report = DeidentificationReport(
        actions=ctx.actions,
        pixel_review_reasons=reasons,
        method_codes=[code for code, _ in _method_codes(options)],
    )
    return ds, report


_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, UnicodeError, OverflowError)


_SPECIES = (0x00102201, 0x00102202)  # Patient Species Description, Code Sequence
# Type 2C for an animal (Patient module), which the table removes: kept present, the
# person as the dummy (Responsible Person Role, 1C, needs a value there), the organization
# empty.
_ANIMAL_TYPE_2C = (
    (0x00102297, "PN", "ResponsiblePerson", DUMMY_TEXT),
    (0x00102299, "LO", "ResponsibleOrganization", ""),
)


def _keep_animal_attributes(ds: Dataset, as_read: dict, ctx: _Context) -> None:
    if not any(tag in as_read for tag in _SPECIES):
        return
    for tag, vr, keyword, dummy in _ANIMAL_TYPE_2C:
        if tag in as_read and tag not in ds._dict:
            _write(ds, tag, vr, [dummy] if dummy else [])
            ctx.record(keyword, "D:required-for-animals" if dummy else "Z:required-for-animals")


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
    if vr in _CODED_VRS or _dictionary(tag)[0] in CODE_KEYWORDS:
        _check_code(ds, tag, vr, raw, ctx, path, listed=label == "C")
        return
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


def _check_code(
    ds: Dataset, tag: BaseTag, vr: str, raw: object, ctx: _Context, path: str, *, listed: bool
) -> None:
    """A code is kept unless it is, whole, one of the case's identifiers."""
    codes = _known_codes(ctx.known)
    if any(value.upper() in codes for value in _read(ds, tag, vr, raw)):
        _write(ds, tag, vr, [], raw)
        ctx.record(path, "Z:known-code")
    elif listed:
        ctx.record(path, "C:passed")


@lru_cache(maxsize=64)
def _known_codes(known: KnownIdentifiers) -> frozenset[str]:
    return frozenset(value.upper() for value in known.ids | known.places)


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
        if _text_kept(ctx.options, path):
            _scrub(ds, tag, vr, raw, ctx, path, patterns=True, label="C")
        elif _read(ds, tag, vr, raw):
            # Removed as the Basic profile removes descriptors, but kept present (Text
            # Value is required in a TEXT content item).
            _write(ds, tag, vr, [DUMMY_TEXT], raw)
            ctx.record(path, "D:free-text")
    elif vr in _SHORT_TEXT_VRS:
        _scrub(ds, tag, vr, raw, ctx, path, patterns=False, label="C:known")


def _text_kept(options: Options, path: str) -> bool:
    """Whether free text the table does not list is kept cleaned, or removed."""
    if "ContentSequence[" in path:
        return options.clean_structured_content
    return options.clean_descriptors


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

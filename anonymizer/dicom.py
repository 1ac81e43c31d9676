"""The DICOM de-identification engine: PS3.15 Annex E Basic profile, driven by Table E.1-1.

``deidentify_dataset`` walks every element, at every nesting depth, and applies the table's
action under the chosen options. Attributes the table does not list get safety nets by VR:
any person name is blanked, instance UIDs are replaced, dates are shifted, free text is
scrubbed and short text is swept for the case's known identifiers; private and unknown
public attributes are removed. The report names attributes and actions, never values.
"""

from __future__ import annotations

import datetime as dt
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
from .text import KnownIdentifiers, scrub_text
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


def _values(elem: DataElement) -> list[str]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value if v is not None and str(v) != ""]
    return [str(value)]


def _read(ds: Dataset, tag: int, vr: str) -> list[str]:
    """The string values of an element, decoding plain ASCII itself.

    Elements left as pydicom read them are written back byte for byte, which is much
    cheaper than converting and re-encoding every value the engine only looks at.
    """
    raw = ds.get_item(tag)
    if isinstance(raw, RawDataElement):
        data = raw.value
        if isinstance(data, bytes) and data.isascii() and b"\x1b" not in data:
            text = data.decode("ascii").rstrip(" \x00")
            if not text:
                return []
            if vr in _UNSPLIT_VRS:
                return [text]
            return [v.strip(" \x00") for v in text.split("\\") if v.strip(" \x00")]
    return _values(ds[tag])


def _write(ds: Dataset, tag: int, vr: str, values: list[str]) -> None:
    value: object = values[0] if len(values) == 1 else values
    ds[tag] = DataElement(tag, vr, value if values else empty_value_for_VR(vr))


def _parse_da(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value.strip()[:8], "%Y%m%d").date()  # noqa: DTZ007
    except ValueError:
        return None


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

    def element(self, ds: Dataset, tag: int, vr: str) -> None:
        if vr == "PN":
            self.found["names"].extend(_read(ds, tag, vr))
        elif tag in _GATHERED_BY_TAG:
            self.found[_GATHERED_BY_TAG[tag]].extend(_read(ds, tag, vr))

    def walk(self, ds: Dataset) -> None:
        for tag in list(ds.keys()):
            vr = _vr_of(tag, ds.get_item(tag).VR)
            if vr == "SQ":
                for item in ds[tag].value or ():
                    self.walk(item)
            else:
                self.element(ds, tag, vr)

    def known(self) -> KnownIdentifiers:
        found = self.found
        return KnownIdentifiers.build(
            person_names=found["names"],
            ids=found["ids"],
            birth_dates=[d for d in map(_parse_da, found["births"]) if d],
            places=found["places"],
            phones=found["phones"],
        )


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
    if known is None:
        known = collect_identifiers([ds], roster=options.roster)
    elif options.roster:
        known = known.merge(KnownIdentifiers.build(person_names=options.roster))
    reasons = pixel_review_reasons(ds)
    ctx = _Context(
        options=options,
        profile=load_profile(),
        uids=UIDMapper.for_case(secret=secret, case_key=case_key),
        offset_days=dates.case_date_offset(secret=secret, case_key=case_key),
        known=known,
        allowed_person_names=frozenset({DUMMY_TEXT, options.patient_label} - {""}),
        actions=[],
    )
    _process(ds, ctx, "")
    _mark_deidentified(ds, ctx)
    _rebuild_file_meta(ds, ctx)
    report = DeidentificationReport(
        actions=ctx.actions,
        pixel_review_reasons=reasons,
        method_codes=[code for code, _ in options.method_codes()],
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


def _process(ds: Dataset, ctx: _Context, prefix: str) -> None:
    private_blocks: set[str] = set()
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if tag.is_private:
            if not _keep_private(ds, tag, ctx):
                del ds[tag]
                block = f"{prefix}({tag.group:04X},{tag.element >> 8:02X}xx)"
                if block not in private_blocks:
                    private_blocks.add(block)
                    ctx.record(block, "X")
            continue
        if tag.element == 0 or tag.group == 0x0002:
            # Group lengths are recomputed on writing; file meta lives in ds.file_meta.
            del ds[tag]
            continue
        if tag.group & 0xFF00 == 0x6000:
            # Overlays (Clean Graphics is not offered): the whole overlay goes.
            del ds[tag]
            ctx.record(f"{prefix}({tag.group:04X},xxxx)", "X")
            continue
        vr = _vr_of(tag, raw.VR)
        row, action = _table(ctx.options, tag)
        if row is None and vr in _INERT_VRS and _dictionary(tag)[0]:
            continue
        path = prefix + _name(tag)
        if row is not None:
            _guarded(ds, tag, ctx, path, _apply, ds, tag, vr, row, action, ctx, path)
        else:
            _guarded(ds, tag, ctx, path, _unlisted, ds, tag, vr, ctx, path)


def _guarded(
    ds: Dataset, tag: BaseTag, ctx: _Context, path: str, work: Callable[..., None], *args: object
) -> None:
    """Run one step on one element; a value that cannot be read is removed."""
    try:
        work(*args)
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeError, OverflowError):
        # A value we cannot read cannot be shown to be safe.
        ds.pop(tag, None)
        ctx.record(path, "X:unreadable")


def _keep_private(ds: Dataset, tag: BaseTag, ctx: _Context) -> bool:
    options = ctx.options
    if not (options.retain_safe_private and options.safe_private):
        return False
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


def _apply(
    ds: Dataset, tag: BaseTag, vr: str, row: ProfileRow, action: str, ctx: _Context, path: str
) -> None:
    if action == "X":
        del ds[tag]
        ctx.record(path, "X")
    elif action == "Z":
        ds[tag] = DataElement(tag, vr, empty_value_for_VR(vr))
        ctx.record(path, "Z")
    elif action == "D":
        _dummy(ds, tag, vr, ctx, path)
    elif action == "U":
        _replace_uids(ds, tag, vr, ctx, path)
    elif action == "C":
        _clean(ds, tag, vr, row, ctx, path)
    else:
        _keep(ds, tag, vr, ctx, path, _dictionary(tag)[0])


def _dummy(ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        ctx.record(path, "D:cleaned")
        return
    if vr == "UI":
        _replace_uids(ds, tag, vr, ctx, path)
        return
    if vr in _NUMERIC_VRS:
        value: object = 0
    else:
        value = _DUMMY_BY_VR.get(vr, b"\x00\x00")
    ds[tag] = DataElement(tag, vr, value)
    ctx.record(path, "D")


def _replace_uids(ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        return
    if vr != "UI":
        del ds[tag]
        ctx.record(path, "X")
        return
    values = _read(ds, tag, vr)
    if values:
        _write(ds, tag, vr, [ctx.uids.map_value(v) for v in values])
    ctx.record(path, "U")


def _clean(ds: Dataset, tag: BaseTag, vr: str, row: ProfileRow, ctx: _Context, path: str) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        ctx.record(path, "C:cleaned")
    elif "retain_long_modified_dates" in row.options and vr in {"DA", "DT"}:
        _shift_dates(ds, tag, vr, ctx, path, "C:shifted")
    elif "retain_long_modified_dates" in row.options:
        # Times and UTC offsets stay: a whole-day shift moves no time of day.
        ctx.record(path, "C:kept")
    elif vr in _FREE_TEXT_VRS | _SHORT_TEXT_VRS:
        _scrub(ds, tag, vr, ctx, path, patterns=True, label="C")
    else:
        ctx.record(path, "C:kept")


def _keep(ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str, keyword: str) -> None:
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        return
    if keyword == "PatientAge":
        _cap_age(ds, tag, vr, ctx, path)
        return
    ctx.record(path, "K")


def _cap_age(ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str) -> None:
    """Ages over 89 are reported as 90 (the HIPAA Safe Harbor rule)."""
    values = _read(ds, tag, vr)
    value = values[0] if values else ""
    if len(value) == 4 and value[3] == "Y" and value[:3].isdigit() and int(value[:3]) > 89:
        _write(ds, tag, vr, ["090Y"])
        ctx.record(path, "C:age-capped")
    else:
        ctx.record(path, "K")


def _shift_dates(ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str, label: str) -> None:
    values = _read(ds, tag, vr)
    if not values:
        ctx.record(path, label)
        return
    shift = dates.shift_da if vr == "DA" else dates.shift_dt
    shifted = [shift(v, ctx.offset_days) for v in values]
    if any(s is None for s in shifted):
        _write(ds, tag, vr, [])
        ctx.record(path, "Z:unreadable-date")
        return
    _write(ds, tag, vr, shifted)
    ctx.record(path, label)


def _scrub(
    ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str, *, patterns: bool, label: str
) -> None:
    values = _read(ds, tag, vr)
    changed = False
    new_values = []
    for value in values:
        result = scrub_text(
            value, known=ctx.known, date_offset_days=ctx.offset_days, patterns=patterns
        )
        changed = changed or result.changed
        new_values.append(_fit(result.text, vr))
    if changed:
        _write(ds, tag, vr, new_values)
        ctx.record(path, f"{label}:scrubbed")
    elif label == "C":
        ctx.record(path, "C:passed")


def _unlisted(ds: Dataset, tag: BaseTag, vr: str, ctx: _Context, path: str) -> None:
    """Safety nets for attributes Table E.1-1 does not list."""
    if vr == "SQ":
        _recurse(ds, tag, ctx, path)
        return
    keyword = _dictionary(tag)[0]
    if not keyword:
        del ds[tag]
        ctx.record(path, "X:unknown-public")
        return
    if vr == "PN":
        values = _read(ds, tag, vr)
        if any(v not in ctx.allowed_person_names for v in values):
            _write(ds, tag, vr, [])
            ctx.record(path, "Z:person-name")
    elif vr == "UI":
        if not is_class_uid_keyword(keyword):
            values = _read(ds, tag, vr)
            if any(not is_standard_uid(v) for v in values):
                _write(ds, tag, vr, [ctx.uids.map_value(v) for v in values])
                ctx.record(path, "U:uid")
    elif vr in {"DA", "DT"}:
        if ctx.options.retain_longitudinal_modified_dates:
            if _read(ds, tag, vr):
                _shift_dates(ds, tag, vr, ctx, path, "C:shifted")
        else:
            ds[tag] = DataElement(tag, vr, empty_value_for_VR(vr))
            ctx.record(path, "Z:date")
    elif keyword == "EncapsulatedDocument":
        # A PDF or CDA report inside the file cannot be checked here.
        del ds[tag]
        ctx.record(path, "X:encapsulated-document")
    elif vr in _FREE_TEXT_VRS:
        _scrub(ds, tag, vr, ctx, path, patterns=True, label="C")
    elif vr in _SHORT_TEXT_VRS:
        _scrub(ds, tag, vr, ctx, path, patterns=False, label="C:known")


def _recurse(ds: Dataset, tag: BaseTag, ctx: _Context, path: str) -> None:
    for index, item in enumerate(ds[tag].value or ()):
        _process(item, ctx, f"{path}[{index}].")


def _mark_deidentified(ds: Dataset, ctx: _Context) -> None:
    options = ctx.options
    ds.PatientIdentityRemoved = "YES"
    codes = options.method_codes()
    ds.DeidentificationMethod = [
        f"{ENGINE_NAME} {ENGINE_VERSION}",
        *(meaning[:64] for _, meaning in codes),
    ]
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    ds.LongitudinalTemporalInformationModified = (
        "MODIFIED" if options.retain_longitudinal_modified_dates else "REMOVED"
    )
    if options.patient_label:
        ds.PatientName = options.patient_label
        ds.PatientID = options.patient_label


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
        meta[tag] = DataElement(tag, vr, value)

    if 0x00020001 not in meta:
        put(0x00020001, "OB", b"\x00\x01")
    sop_class = ds.get("SOPClassUID", "")
    if sop_class and meta.get("MediaStorageSOPClassUID") != sop_class:
        put(0x00020002, "UI", sop_class)
    put(0x00020003, "UI", ds.get("SOPInstanceUID", ""))
    if 0x00020010 not in meta:
        put(0x00020010, "UI", _transfer_syntax(ds))
    put(0x00020012, "UI", PYDICOM_IMPLEMENTATION_UID)
    put(0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)
    if not meta.TransferSyntaxUID.is_implicit_VR:
        give_elements_their_vr(ds)
    if hasattr(ds, "preamble"):
        ds.preamble = b"\x00" * 128
    ctx.record("FileMeta.MediaStorageSOPInstanceUID", "U")

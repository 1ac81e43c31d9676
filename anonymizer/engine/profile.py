"""PS3.15 Table E.1-1 kept as data, the options we offer, and how a row becomes one action.

Action codes are the standard's: X remove, Z empty (or dummy), D dummy, K keep, C clean,
U replace UID; compound codes (X/Z, X/D, X/Z/D, Z/D, X/Z/U*) are resolved here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_PATH = Path(__file__).resolve().parent / "data" / "confidentiality_profile.json"

# CID 7050 De-identification Method codes (scheme DCM).
CODE_BASIC = ("113100", "Basic Application Confidentiality Profile")
CODE_CLEAN_PIXEL_DATA = ("113101", "Clean Pixel Data Option")
CODE_CLEAN_STRUCTURED_CONTENT = ("113104", "Clean Structured Content Option")
CODE_CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option")
CODE_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
CODE_PATIENT_CHARACTERISTICS = ("113108", "Retain Patient Characteristics Option")
CODE_SAFE_PRIVATE = ("113111", "Retain Safe Private Option")

PATIENT_CHARACTERISTICS = frozenset(
    {
        "PatientAge",
        "PatientSex",
        "PatientSize",
        "PatientWeight",
        "PatientSexNeutered",
        "EthnicGroup",
        "PregnancyStatus",
        "SmokingStatus",
        "Allergies",
        "PatientState",
        "PreMedication",
        "SpecialNeeds",
    }
)
DEFAULT_PATIENT_CHARACTERISTICS = frozenset(
    {"PatientAge", "PatientSex", "PatientSize", "PatientWeight"}
)

# Which attributes must stay present (empty, or with a dummy) to keep common IODs valid
# (they are Type 2 or Type 1 somewhere). Everything else that may be removed is removed.
# Emptying is as safe as removing, so this also applies where the table says plain X.
KEEP_PRESENT_EMPTY = frozenset(
    {
        "AcquisitionContextSequence",
        "OperatorsName",
        "TreatmentMachineName",
    }
)
KEEP_PRESENT_DUMMY = frozenset(
    {"DeviceSerialNumber", "ContentDate", "ContentTime", "AcquisitionDateTime"}
)
# Reference sequences that some modules require to hold an item (General Series asks for
# one in Referenced Performed Procedure Step Sequence): kept, walked, their UIDs replaced.
KEEP_REFERENCE = frozenset({"ReferencedPerformedProcedureStepSequence"})
# Where the table asks for a dummy but a dummy would leave a file pretending to hold a
# document: a PDF or CDA report inside the file cannot be checked, so it goes.
REMOVE_NOT_DUMMY = frozenset({"EncapsulatedDocument"})


@dataclass(frozen=True)
class ProfileRow:
    tag: str
    name: str
    basic: str
    options: Mapping[str, str]
    # None for the rows only the newer published copy has (it lacks that column).
    in_std_comp_iod: bool | None

    @property
    def tag_int(self) -> int | None:
        """The tag as an int, or None for the pattern rows (curves, overlays, private)."""
        digits = self.tag.strip("()").replace(",", "")
        try:
            return int(digits, 16)
        except ValueError:
            return None


@dataclass(frozen=True)
class Profile:
    rows: tuple[ProfileRow, ...]
    source: Mapping[str, Mapping[str, str]]
    row_count: int
    by_tag: Mapping[int, ProfileRow] = field(repr=False)
    curve_row: ProfileRow = field(repr=False)
    overlay_rows: Mapping[int, ProfileRow] = field(repr=False)
    private_row: ProfileRow = field(repr=False)

    def row_for(self, tag: int) -> ProfileRow | None:
        """The Table E.1-1 row covering a tag, including the repeating-group rows."""
        row = self.by_tag.get(tag)
        if row is not None:
            return row
        group = tag >> 16
        if group & 1:
            return self.private_row
        if group & 0xFF00 == 0x5000:
            return self.curve_row
        if group & 0xFF00 == 0x6000:
            return self.overlay_rows.get(tag & 0xFFFF)
        return None


@cache
def load_profile(path: Path = DATA_PATH) -> Profile:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = tuple(
        ProfileRow(
            tag=r["tag"],
            name=r["name"],
            basic=r["basic"],
            options=dict(r["options"]),
            in_std_comp_iod=r["in_std_comp_iod"],
        )
        for r in data["rows"]
    )
    by_tag = {row.tag_int: row for row in rows if row.tag_int is not None}
    patterns = {row.tag: row for row in rows if row.tag_int is None}
    return Profile(
        rows=rows,
        source=data["source"],
        row_count=data["row_count"],
        by_tag=by_tag,
        curve_row=patterns["(50XX,XXXX)"],
        overlay_rows={0x3000: patterns["(60XX,3000)"], 0x4000: patterns["(60XX,4000)"]},
        private_row=patterns["(GGGG,EEEE) where GGGG is odd"],
    )


@dataclass(frozen=True)
class Options:
    """What the de-identification keeps beyond the Basic profile.

    Retain UIDs, Retain Device Identity, Retain Institution Identity and Retain Full Dates
    are deliberately not offered: conference material never needs them.
    """

    retain_longitudinal_modified_dates: bool = True
    # Off by default, as in the Basic profile: descriptions, comments and histories are
    # removed, and so is the free text of structured reports. On, they are kept cleaned.
    clean_descriptors: bool = False
    clean_structured_content: bool = False
    retain_patient_characteristics: frozenset[str] = DEFAULT_PATIENT_CHARACTERISTICS
    retain_safe_private: bool = False
    # (private creator, group, element low byte) triples that Retain Safe Private keeps.
    safe_private: frozenset[tuple[str, int, int]] = frozenset()
    # Written into Patient's Name and Patient ID (e.g. "PL-2025-017"); empty leaves them empty.
    patient_label: str = ""
    # Names of the installation's people (radiologists, technologists), scrubbed everywhere.
    roster: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.retain_patient_characteristics) - PATIENT_CHARACTERISTICS
        if unknown:
            raise ValueError(f"not a patient characteristic: {sorted(unknown)}")

    def method_codes(self) -> list[tuple[str, str]]:
        codes = [CODE_BASIC]
        if self.retain_longitudinal_modified_dates:
            codes.append(CODE_MODIFIED_DATES)
        if self.clean_structured_content:
            codes.append(CODE_CLEAN_STRUCTURED_CONTENT)
        if self.clean_descriptors:
            codes.append(CODE_CLEAN_DESCRIPTORS)
        if self.retain_patient_characteristics:
            codes.append(CODE_PATIENT_CHARACTERISTICS)
        if self.retain_safe_private:
            codes.append(CODE_SAFE_PRIVATE)
        return codes


def resolve_action(row: ProfileRow, keyword: str, options: Options) -> str:
    """The single action (X, Z, D, K, C, U) for one attribute under the chosen options."""
    opts = row.options
    if options.retain_longitudinal_modified_dates and "retain_long_modified_dates" in opts:
        return opts["retain_long_modified_dates"]
    if (
        "retain_patient_characteristics" in opts
        and keyword in options.retain_patient_characteristics
    ):
        return opts["retain_patient_characteristics"]
    if options.clean_descriptors and "clean_descriptors" in opts:
        return opts["clean_descriptors"]
    if options.clean_structured_content and "clean_structured_content" in opts:
        return opts["clean_structured_content"]
    if options.retain_safe_private and "retain_safe_private" in opts:
        return opts["retain_safe_private"]
    return resolve_basic(row.basic, keyword)


def resolve_basic(code: str, keyword: str) -> str:
    choices = code.rstrip("*").split("/")
    if keyword in REMOVE_NOT_DUMMY:
        return "X"
    if choices == ["X"] and keyword in KEEP_PRESENT_EMPTY:
        return "Z"
    if len(choices) == 1:
        return choices[0]
    if "U" in choices or keyword in KEEP_REFERENCE:
        # X/Z/U*: keep the reference sequences, with their instance UIDs replaced.
        return "U"
    if "D" in choices and keyword in KEEP_PRESENT_DUMMY:
        return "D"
    if "Z" in choices and keyword in KEEP_PRESENT_EMPTY | KEEP_PRESENT_DUMMY:
        return "Z"
    return "X" if "X" in choices else choices[0]

"""The verifier: an independent check that nothing identifying is left.

It shares no logic with the de-identifier on purpose (a bug there must not hide itself
here): it gathers the case's identifiers from the original headers with its own code, then
re-reads every element of the output (every nested item, the file meta, the preamble,
private blocks, binary values) and any scrubbed text, and reports each identifier it finds
by kind and place. A finding never carries the identifying value itself.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from pydicom import dcmread
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from anonymizer.engine.wordlists import COMMON_WORDS

DUMMY_VALUE = "ANONYMIZED"
DEFAULT_ALLOWED_PERSON_NAMES = frozenset({DUMMY_VALUE})
# The marks the scrubber leaves where it replaced something.
_ENGINE_MARK = re.compile(r"\[(?:NAME|ID|DATE|PHONE|EMAIL|ADDRESS|AGE|PLACE|URL|IP|UID|TEXT)\]")
# CID 7050 De-identification Method code meanings, and the engine's own name and version.
_METHOD_WORDS = {
    "Basic Application Confidentiality Profile",
    "Clean Pixel Data Option",
    "Clean Recognizable Visual Features Option",
    "Clean Graphics Option",
    "Clean Structured Content Option",
    "Clean Descriptors Option",
    "Retain Longitudinal Temporal Information Full Dates Option",
    "Retain Longitudinal Temporal Information Modified Dates Option",
    "Retain Patient Characteristics Option",
    "Retain Device Identity Option",
    "Retain UIDs Option",
    "Retain Safe Private Option",
    "Retain Institution Identity Option",
}
_METHOD_WORDS |= {words[:64] for words in _METHOD_WORDS}
_ENGINE = re.compile(r"peerlearning anonymizer \d+\Z")
_METHOD_CODES_PREFIX = "DeidentificationMethodCodeSequence["
_CODE_KEYWORDS = {
    "CodeValue",
    "LongCodeValue",
    "URNCodeValue",
    "CodingSchemeDesignator",
    "CodingSchemeVersion",
    "CodingSchemeName",
    "ContextIdentifier",
    "ContextGroupVersion",
    "MappingResource",
    "MappingResourceName",
}

_PATIENT_NAME_KEYWORDS = {
    "PatientName",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
}
_ID_KINDS = {
    "PatientID": "patient-id",
    "OtherPatientIDs": "patient-id",
    "AccessionNumber": "accession",
    "StudyID": "other-id",
    "AdmissionID": "other-id",
    "ServiceEpisodeID": "other-id",
    "RequestedProcedureID": "other-id",
    "PerformedProcedureStepID": "other-id",
    "ScheduledProcedureStepID": "other-id",
    "FillerOrderNumberImagingServiceRequest": "other-id",
    "PlacerOrderNumberImagingServiceRequest": "other-id",
    "MedicalRecordLocator": "other-id",
    "ClinicalTrialSubjectID": "other-id",
    "ClinicalTrialSubjectReadingID": "other-id",
    "InsurancePlanIdentification": "other-id",
}
_PLACE_KINDS = {
    "InstitutionName": "institution",
    "InstitutionAddress": "institution",
    "PatientAddress": "address",
    "ReferringPhysicianAddress": "address",
    "PersonAddress": "address",
}
_PHONE_KEYWORDS = {
    "PatientTelephoneNumbers",
    "ReferringPhysicianTelephoneNumbers",
    "PersonTelephoneNumbers",
}
_TITLE_BEFORE = re.compile(r"(?i)\b(?:dr|mr|mrs|ms|mx|miss|prof|doctor)\.?\s*$")
_NUMBER_VRS = {"IS", "DS", "FL", "FD", "SL", "SS", "UL", "US", "SV", "UV", "AT", "UI"}
_BINARY_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_MEMO_LIMIT = 20_000
_DEFER_BYTES = 1 << 20
_NOT_A_NAME = {"dr", "mr", "mrs", "ms", "md", "phd", "jr", "sr", "ii", "iii"}


@dataclass(frozen=True)
class Finding:
    kind: str
    where: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "where": self.where}


# What each finding kind means, in words for the champion (the value is never shown).
KIND_LABELS = {
    "patient-name": "a patient's name",
    "person-name": "a person's name from the image headers",
    "roster-name": "the name of someone on the roster",
    "patient-id": "a patient ID",
    "accession": "an accession number",
    "other-id": "an identifying number from the image headers",
    "institution": "an institution's name",
    "address": "an address",
    "phone": "a phone number",
    "birth-date": "the patient's birth date",
    "original-uid": "an original DICOM UID",
    "private-attribute": "a private attribute",
    "overlay-data": "overlay data",
    "curve-data": "curve data",
    "icon-image": "an icon image",
    "person-name-value": "a person's name in a name attribute",
    "identity-flag": "no 'patient identity removed' flag",
    "flagged-text": "words the detector flagged that no champion has released",
    "scrub-pending": "identifiers the scrubber would still replace (save the text again)",
}


def kind_label(kind: str) -> str:
    """A finding kind in words (never the value found)."""
    return KIND_LABELS.get(kind, kind.replace("-", " "))


def _strings(elem: DataElement) -> list[str]:
    value = elem.value
    if not value:
        return []
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value).decode("latin-1")]
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _name_parts(value: str) -> set[str]:
    parts = set()
    for word in re.split(r"[\^=\s,.;/()'\"-]+", value):
        if len(word) >= 2 and word.isalpha() and word.lower() not in _NOT_A_NAME:
            # Capitals can spell a name differently ("Größe", "GRÖSSE"): look for both.
            parts |= {word.lower(), word.upper().lower()}
    return parts


@lru_cache(maxsize=8192)
def _entry(tag: int) -> tuple[str, str]:
    try:
        return keyword_for_tag(tag), dictionary_VR(tag)
    except KeyError:
        return "", "UN"


class _Seen(NamedTuple):
    """One element met on the walk, with the dataset (or item) that holds it."""

    prefix: str
    tag: BaseTag
    vr: str
    keyword: str
    ds: Dataset
    raw: DataElement | RawDataElement

    @property
    def path(self) -> str:
        # Only a finding needs it: most elements never build their path.
        tag = self.tag
        return self.prefix + (self.keyword or f"({tag >> 16:04X},{tag & 0xFFFF:04X})")

    def strings(self) -> list[str]:
        raw = self.raw
        if type(raw) is RawDataElement and type(raw.value) is bytes:
            data = raw.value
            if self.vr in _BINARY_VRS:
                return [data.decode("latin-1")]
            if data.isascii() and b"\x1b" not in data:
                # Plain ASCII needs no character-set handling: read it directly.
                text = data.decode("ascii")
                return [text] if self.vr in ("ST", "LT", "UT", "UR") else text.split("\\")
        return _strings(self.ds[self.tag])


def _walk(ds: Dataset, prefix: str = "") -> Iterator[_Seen]:
    for tag, raw in list(ds._dict.items()):
        if type(raw) is RawDataElement and raw.value is None and raw.length:
            if tag in _PIXEL_TAGS:
                continue  # pixel data is not text; read only what is looked at
            raw = ds[tag]  # a value read later than the rest (deferred)
        keyword, dictionary_vr = _entry(tag)
        vr = raw.VR if raw.VR and raw.VR != "UN" else dictionary_vr
        seen = _Seen(prefix, tag, vr, keyword, ds, raw)
        yield seen
        if vr == "SQ":
            path = seen.path
            for index, item in enumerate(ds[tag].value or []):
                yield from _walk(item, f"{path}[{index}].")


def _is_class_uid(keyword: str) -> bool:
    return keyword.endswith("ClassUID") or keyword in {
        "TransferSyntaxUID",
        "CodingSchemeUID",
        "ContextUID",
        "MappingResourceUID",
        "ContextGroupExtensionCreatorUID",
        "PrivateInformationCreatorUID",
        "ReferencedTransferSyntaxUIDInFile",
    }


@dataclass
class CaseIdentifiers:
    """The identifiers known for a case: its original headers plus a roster of names."""

    names: dict[str, str] = field(default_factory=dict)  # lower-case part -> kind
    ids: dict[str, str] = field(default_factory=dict)  # lower-case id -> kind
    places: dict[str, str] = field(default_factory=dict)  # lower-case phrase -> kind
    phones: set[str] = field(default_factory=set)  # digits only
    birth_dates: set[str] = field(default_factory=set)  # YYYYMMDD
    instance_uids: set[str] = field(default_factory=set)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    # What each distinct text holds (a series repeats its texts); reset with the pattern.
    memo: dict[str, tuple[tuple[str, int, int], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def from_datasets(
        cls, datasets: Iterable[Dataset], *, roster: Iterable[str] = ()
    ) -> CaseIdentifiers:
        found = cls()
        for ds in datasets:
            found.add_dataset(ds)
        found.add_roster(roster)
        return found

    def add_roster(self, roster: Iterable[str]) -> None:
        for name in roster:
            for part in _name_parts(name):
                self.names.setdefault(part, "roster-name")
        self._pattern = None
        self.memo.clear()

    def add_dataset(self, ds: Dataset) -> None:
        meta = getattr(ds, "file_meta", None)
        elements = list(_walk(ds)) + (list(_walk(meta)) if meta is not None else [])
        for elem in elements:
            keyword = elem.keyword
            if elem.vr == "PN":
                kind = "patient-name" if keyword in _PATIENT_NAME_KEYWORDS else "person-name"
                for value in elem.strings():
                    for part in _name_parts(value):
                        if self.names.get(part) != "patient-name":
                            self.names[part] = kind
            elif keyword in _ID_KINDS:
                for value in elem.strings():
                    value = value.strip()
                    if len(value) >= 4:
                        self.ids.setdefault(value.lower(), _ID_KINDS[keyword])
            elif keyword in _PLACE_KINDS:
                for value in elem.strings():
                    value = " ".join(value.split())
                    if len(value) >= 3:
                        self.places.setdefault(value.lower(), _PLACE_KINDS[keyword])
            elif keyword in _PHONE_KEYWORDS:
                for value in elem.strings():
                    digits = re.sub(r"\D", "", value)
                    if len(digits) >= 7:
                        self.phones.add(digits)
            elif keyword == "PatientBirthDate":
                self.birth_dates.update(
                    v.strip()[:8] for v in elem.strings() if len(v.strip()) >= 8
                )
            elif elem.vr == "UI" and not _is_class_uid(keyword):
                self.instance_uids.update(
                    v.strip() for v in elem.strings() if v and not v.startswith("1.2.840.10008.")
                )
        self._pattern = None
        self.memo.clear()

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None:
            alternatives = []
            for group, values in (("p", self.places), ("i", self.ids), ("n", self.names)):
                if values:
                    escaped = sorted(
                        (re.escape(v).replace(r"\ ", r"\s+") for v in values), key=len, reverse=True
                    )
                    alternatives.append(f"(?P<{group}>{'|'.join(escaped)})")
            for date in self.birth_dates:
                y, m, d = date[:4], date[4:6], date[6:8]
                forms = {
                    date,
                    f"{y}-{m}-{d}",
                    f"{y}/{m}/{d}",
                    f"{m}/{d}/{y}",
                    f"{int(m)}/{int(d)}/{y}",
                    f"{d}.{m}.{y}",
                    f"{d}/{m}/{y}",
                }
                alternatives.append(f"(?P<b{date}>{'|'.join(re.escape(f) for f in forms)})")
            if not alternatives:
                return None
            self._pattern = re.compile(
                rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])", re.IGNORECASE
            )
        return self._pattern

    def kind_of(self, match: re.Match[str]) -> str:
        group = match.lastgroup or ""
        found = match.group().lower()
        if group == "p":
            return self.places[" ".join(found.split())]
        if group == "i":
            return self.ids[found]
        if group == "n":
            return self.names[found]
        return "birth-date"


def _name_counts(text: str, match: re.Match[str], ids: CaseIdentifiers) -> bool:
    """A name that is also a common word counts only where it reads as a name."""
    word = match.group()
    if word.lower() not in COMMON_WORDS:
        return True
    if text.strip(" ^,.").lower() == word.lower():
        return True
    if _TITLE_BEFORE.search(text[: match.start()]):
        return True
    neighbours = re.findall(r"[A-Za-z]+", text[max(0, match.start() - 30) : match.start()])[-1:]
    neighbours += re.findall(r"[A-Za-z]+", text[match.end() : match.end() + 30])[:1]
    return any(n.lower() in ids.names and n.lower() not in COMMON_WORDS for n in neighbours)


_DIGIT = re.compile(r"\d")
_PHONE_PUNCTUATION = re.compile(r"[\s\-.()+]")


def find_in_text(text: str, ids: CaseIdentifiers) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of every known identifier in a piece of text."""
    found = ids.memo.get(text)
    if found is None:
        found = tuple(_search_text(text, ids))
        if len(ids.memo) >= _MEMO_LIMIT:
            ids.memo.clear()
        ids.memo[text] = found
    return iter(found)


def _search_text(text: str, ids: CaseIdentifiers) -> Iterator[tuple[str, int, int]]:
    pattern = ids.pattern()
    if pattern is not None and text:
        for match in pattern.finditer(text):
            if match.lastgroup == "n" and not _name_counts(text, match, ids):
                continue
            yield ids.kind_of(match), match.start(), match.end()
    if ids.phones and _DIGIT.search(text):
        compact = _PHONE_PUNCTUATION.sub("", text)
        for phone in ids.phones:
            if phone in compact:
                yield "phone", 0, len(text)


def verify_text(text: str, ids: CaseIdentifiers) -> list[Finding]:
    return [Finding(kind, f"text[{start}:{end}]") for kind, start, end in find_in_text(text, ids)]


def verify_dataset(
    ds: Dataset,
    ids: CaseIdentifiers,
    *,
    allowed_person_names: Iterable[str] = DEFAULT_ALLOWED_PERSON_NAMES,
    allowed_private: Iterable[tuple[str, int, int]] = (),
) -> list[Finding]:
    """Every identifier left anywhere in a de-identified dataset, and structural leaks."""
    allowed_names = set(allowed_person_names)
    allowed_private = set(allowed_private)
    findings: list[Finding] = []
    if str(ds.get("PatientIdentityRemoved", "")).upper() != "YES":
        findings.append(Finding("identity-flag", "PatientIdentityRemoved"))
    meta = getattr(ds, "file_meta", None)
    elements = list(_walk(ds)) + (list(_walk(meta, "FileMeta.")) if meta is not None else [])
    for elem in elements:
        findings.extend(_check_element(elem, ids, allowed_names, allowed_private))
    return findings


def _check_element(
    elem: _Seen,
    ids: CaseIdentifiers,
    allowed_names: set[str],
    allowed_private: set[tuple[str, int, int]],
) -> Iterator[Finding]:
    tag, vr = elem.tag, elem.vr
    group = tag >> 16
    if group & 1 and not _private_allowed(elem, allowed_private):
        yield Finding("private-attribute", elem.path)
    if group & 0xFF00 == 0x6000 and tag & 0xFFFF == 0x3000:
        yield Finding("overlay-data", elem.path)
    if group & 0xFF00 == 0x5000:
        yield Finding("curve-data", elem.path)
    if elem.keyword == "IconImageSequence":
        yield Finding("icon-image", elem.path)
    if vr == "SQ" or tag in _PIXEL_TAGS or (vr in _NUMBER_VRS and vr != "UI"):
        return
    values = elem.strings()
    if vr == "PN" and any(v.strip() and v.strip() not in allowed_names for v in values):
        yield Finding("person-name-value", elem.path)
    if vr == "UI":
        if any(v.strip(" \x00") in ids.instance_uids for v in values):
            yield Finding("original-uid", elem.path)
        return
    if vr in {"DA", "DT"}:
        if any(v.strip()[:8] in ids.birth_dates for v in values):
            yield Finding("birth-date", elem.path)
        return
    if elem.keyword == "DeidentificationMethod" or (
        elem.keyword == "CodeMeaning" and elem.prefix.startswith(_METHOD_CODES_PREFIX)
    ):
        # The method is described in the standard's own words (CID 7050), not the patient's.
        values = [v for v in values if v.strip() not in _METHOD_WORDS and not _ENGINE.match(v)]
    if vr == "CS" or elem.keyword in _CODE_KEYWORDS:
        # A code is an identifier only whole: Modality CT is not the "CT" of a name.
        kinds = {kind for value in values for kind in _whole_identifier(value, ids)}
    else:
        kinds = {
            kind for value in values for kind, _, _ in find_in_text(_without_marks(value), ids)
        }
    for kind in sorted(kinds):
        yield Finding(kind, elem.path)


def _whole_identifier(value: str, ids: CaseIdentifiers) -> Iterator[str]:
    value = value.strip().lower()
    if value in ids.ids:
        yield ids.ids[value]
    if value in ids.places:
        yield ids.places[value]


def _without_marks(value: str) -> str:
    """The text without what the engine itself writes: the dummy, and replacement marks.

    A patient called "Name" or "Anonymized" is not found again in "[NAME]" or in a dummy.
    """
    if value.strip() == DUMMY_VALUE:
        return ""
    return _ENGINE_MARK.sub(" ", value)


def _private_allowed(elem: _Seen, allowed: set[tuple[str, int, int]]) -> bool:
    if not allowed:
        return False
    tag, ds = elem.tag, elem.ds
    if tag.element < 0x0100:
        return any(
            creator == str(ds[tag].value).strip() and group == tag.group
            for creator, group, _ in allowed
        )
    creator_elem = ds.get((tag.group, tag.element >> 8))
    if creator_elem is None:
        return False
    creator = str(creator_elem.value).strip()
    return (creator, tag.group, tag.element & 0xFF) in allowed


def verify_file(
    source: str | os.PathLike[str] | bytes,
    ids: CaseIdentifiers,
    **kwargs: Iterable,
) -> list[Finding]:
    """Read a written file (path or bytes) back and verify all of it, preamble included.

    From a path, values over a megabyte are read only when looked at, so the pixel data
    (which is not text) never is.
    """
    if isinstance(source, (bytes, bytearray)):
        ds = dcmread(io.BytesIO(bytes(source)), force=True)
    else:
        ds = dcmread(Path(source), force=True, defer_size=_DEFER_BYTES)
    findings = verify_dataset(ds, ids, **kwargs)
    preamble = getattr(ds, "preamble", None) or b""
    for kind, _, _ in find_in_text(preamble.decode("latin-1"), ids):
        findings.append(Finding(kind, "preamble"))
    return findings

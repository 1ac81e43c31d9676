"""The identifiers of a case, gathered from the original headers before anything changes."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from anonymizer.engine.text import KnownIdentifiers, ScrubResult

from .elements import _parse_da, _read, _vr_of
from .raw import _NeedsDataset, _raw_items, _RawItem

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
BIRTH_DATE_KEYWORDS = frozenset({"PatientBirthDate"})
# Every attribute (other than person names and instance UIDs) whose value identifies
# someone: what a reduced copy of a case's headers must keep for later text sweeps.
IDENTIFYING_KEYWORDS = ID_KEYWORDS | PHONE_KEYWORDS | PLACE_KEYWORDS | BIRTH_DATE_KEYWORDS
_COLLECTED_TAGS = {
    "ids": {tag_for_keyword(k) for k in ID_KEYWORDS},
    "places": {tag_for_keyword(k) for k in PLACE_KEYWORDS},
    "phones": {tag_for_keyword(k) for k in PHONE_KEYWORDS},
    "births": {tag_for_keyword(k) for k in BIRTH_DATE_KEYWORDS},
}


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

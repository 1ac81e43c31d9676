"""Property-based proof: identifiers planted anywhere in random datasets never survive.

Each example invents a patient, staff and hospital, records them where a real header
would (Patient's Name, Patient ID, Accession Number, Institution Name, physicians' names,
the roster), then plants copies of them in random attributes, listed and unlisted,
nested in random sequences up to three deep and in private blocks, whole or inside text.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from anonymizer.engine.dicom import deidentify_dataset
from anonymizer.engine.profile import Options
from anonymizer.engine.verify import CaseIdentifiers, verify_file
from anonymizer.tests.factories import make_image, to_bytes

word = st.from_regex(
    r"[BDFGKLMNPRSTVZ][aeiou][bdfgklmnprstvz][aeiou][bdfgklmnprstvz]{2}[aeiou]n", fullmatch=True
)
number_id = st.from_regex(r"[A-Z]{2}[0-9]{7}", fullmatch=True)

PERSON_ATTRIBUTES = [
    "OtherPatientNames",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "EvaluatorName",
    "SecondaryReviewerName",
    "ContentCreatorName",
    "VerifyingObserverName",
    "PersonName",
]
TEXT_ATTRIBUTES = [
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "AdditionalPatientHistory",
    "ProtocolName",
    "CodeMeaning",
    "TextValue",
    "InstitutionalDepartmentName",
    "AcquisitionContextDescription",
    "ReasonForStudy",
    "RequestedProcedureDescription",
    "PatientComments",
    "DerivationDescription",
    "ManufacturerModelName",
    "DeviceDescription",
    "SoftwareVersions",
    "FrameComments",
    "ContrastBolusAgent",
    "StudyID",
    "RequestedProcedureID",
    "StationName",
]
SEQUENCES = [
    "RequestAttributesSequence",
    "ReferencedStudySequence",
    "ContentSequence",
    "SourceImageSequence",
    "ReferencedImageSequence",
    "ProcedureCodeSequence",
    "AnatomicRegionSequence",
    "ConceptNameCodeSequence",
    "RequestedProcedureCodeSequence",
    "PerformedProtocolCodeSequence",
    "OtherPatientIDsSequence",
    "AcquisitionContextSequence",
]
TEMPLATES = ["{v}", "seen by {v}", "{v} follow-up", "Re: {v}.", "({v})"]
LIMITS = {"SH": 16, "LO": 64, "CS": 16}


@st.composite
def cases(draw):
    family, given, physician, colleague, hospital = (draw(word) for _ in range(5))
    birth = draw(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(1999, 12, 31)))
    return {
        "family": family,
        "given": given,
        "physician": physician,
        "colleague": colleague,
        "hospital": f"{hospital} Infirmary",
        "patient_id": draw(number_id),
        "accession": draw(number_id),
        "birth": birth.strftime("%Y%m%d"),
    }


def _value_for(keyword: str, identifier: str, template: str) -> str | None:
    vr = dictionary_VR(tag_for_keyword(keyword))
    if vr == "PN":
        return f"{identifier}^Anon"
    value = template.format(v=identifier)
    if len(value) > LIMITS.get(vr, 1024):
        value = identifier
    return value if len(value) <= LIMITS.get(vr, 1024) else None


@st.composite
def planted_items(draw, identifiers, depth):
    item = Dataset()
    for _ in range(draw(st.integers(0, 4))):
        keyword = draw(st.sampled_from(PERSON_ATTRIBUTES + TEXT_ATTRIBUTES))
        value = _value_for(
            keyword, draw(st.sampled_from(identifiers)), draw(st.sampled_from(TEMPLATES))
        )
        if value is not None:
            setattr(item, keyword, value)
    if depth < 3:
        for _ in range(draw(st.integers(0, 2))):
            keyword = draw(st.sampled_from(SEQUENCES))
            children = draw(st.lists(planted_items(identifiers, depth + 1), min_size=1, max_size=2))
            setattr(item, keyword, Sequence(children))
    return item


@st.composite
def planted_datasets(draw):
    case = draw(cases())
    names = [case["family"], case["given"], case["physician"], case["colleague"]]
    identifiers = [*names, case["patient_id"], case["accession"], case["hospital"], case["birth"]]
    ds = make_image()
    ds.PatientName = f"{case['family']}^{case['given']}"
    ds.PatientID = case["patient_id"]
    ds.AccessionNumber = case["accession"]
    ds.PatientBirthDate = case["birth"]
    ds.InstitutionName = case["hospital"]
    # The physician is known only from a name nested deep in a sequence.
    ds.ReferencedPerformedProcedureStepSequence = Sequence([Dataset()])
    ds.ReferencedPerformedProcedureStepSequence[
        0
    ].PerformingPhysicianName = f"{case['physician']}^Ana"
    planted = draw(planted_items(identifiers, 0))
    for elem in planted:
        ds[elem.tag] = elem
    for n in range(draw(st.integers(0, 2))):
        block = ds.private_block(0x0009 + 2 * n, f"CREATOR {n}", create=True)
        block.add_new(0x01, "LO", draw(st.sampled_from(identifiers)))
        block.add_new(0x02, "UT", f"notes on {draw(st.sampled_from(identifiers))}")
        block.add_new(0x03, "UN", draw(st.sampled_from(identifiers)).encode())
    return ds, identifiers, case["colleague"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted_datasets())
def test_no_planted_identifier_survives_deidentification(example):
    ds, identifiers, colleague = example
    checked = CaseIdentifiers.from_datasets([ds], roster=[f"Dr. {colleague}"])
    options = Options(roster=(f"Dr. {colleague}",))
    out, report = deidentify_dataset(ds, case_key="prop", secret="s", options=options)
    data = to_bytes(out)
    lowered = data.lower()
    assert [i for i in identifiers if i.lower().encode() in lowered] == []
    assert verify_file(data, checked) == []
    assert [i for i in identifiers if i.lower() in repr(report.to_dict()).lower()] == []

import json

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from anonymizer.engine.dicom import deidentify_dataset
from anonymizer.engine.profile import Options
from anonymizer.engine.verify import (
    CaseIdentifiers,
    Finding,
    verify_dataset,
    verify_file,
    verify_text,
)
from anonymizer.tests.factories import IDENTITY, make_image, sample_file, to_bytes, uid


@pytest.fixture(scope="module")
def ids():
    return CaseIdentifiers.from_datasets([make_image()], roster=IDENTITY.roster)


def clean_image():
    out, _ = deidentify_dataset(
        make_image(referenced_instance=1),
        case_key="c",
        secret="s",
        options=Options(roster=IDENTITY.roster),
    )
    return out


def kinds(findings):
    return {(f.kind, f.where) for f in findings}


def test_a_deidentified_file_has_no_findings(ids):
    assert verify_file(to_bytes(clean_image()), ids) == []


def test_the_original_file_is_full_of_findings_and_none_echo_a_value(ids):
    findings = verify_dataset(make_image(), ids)
    found = kinds(findings)
    assert ("patient-name", "PatientName") in found
    assert ("person-name", "NameOfPhysiciansReadingStudy") in found
    assert ("patient-id", "OtherPatientIDsSequence[0].PatientID") in found
    assert ("accession", "AccessionNumber") in found
    assert ("birth-date", "PatientBirthDate") in found
    assert ("institution", "InstitutionName") in found
    assert ("phone", "ReferringPhysicianTelephoneNumbers") in found
    assert ("roster-name", "ContentSequence[0].TextValue") in found
    assert ("private-attribute", "(0029,1001)") in found
    assert ("patient-name", "(0029,1003)[0].PatientName") in found
    assert ("original-uid", "SOPInstanceUID") in found
    assert ("original-uid", "FileMeta.MediaStorageSOPInstanceUID") in found
    assert ("identity-flag", "PatientIdentityRemoved") in found
    assert ("person-name-value", "PerformingPhysicianName") in found
    text = json.dumps([f.as_dict() for f in findings]).lower()
    assert [p for p in IDENTITY.planted() if p.lower() in text] == []


def test_identifiers_planted_after_deidentification_are_found(ids):
    out = clean_image()
    out.SeriesDescription = f"CT for {IDENTITY.family.upper()}"
    out.AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0].CodeMeaning = IDENTITY.accession
    out.add_new(0x00181200, "DA", IDENTITY.birth_date)  # DateOfLastCalibration
    out.add_new(0x00400556, "ST", f"at {IDENTITY.institution.lower()}")
    out.add_new(0x00420011, "OB", f"%PDF {IDENTITY.given}".encode())
    out.file_meta.ImplementationVersionName = IDENTITY.family[:16]
    out.preamble = f"{IDENTITY.patient_id}".encode().ljust(128, b"\x00")
    found = kinds(verify_file(to_bytes(out), ids))
    assert found == {
        ("patient-name", "SeriesDescription"),
        ("accession", "AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0].CodeMeaning"),
        ("birth-date", "DateOfLastCalibration"),
        ("institution", "AcquisitionContextDescription"),
        ("patient-name", "EncapsulatedDocument"),
        ("patient-name", "FileMeta.ImplementationVersionName"),
        ("patient-id", "preamble"),
    }


def test_structural_leaks_are_findings(ids):
    out = clean_image()
    out.add_new(0x60003000, "OW", b"\x00\x00")
    out.add_new(0x50000005, "US", 1)
    out.IconImageSequence = Sequence([Dataset()])
    out.add_new(0x00140104, "PN", "Anyone^Else")  # SecondaryReviewerName
    out.PatientIdentityRemoved = "NO"
    found = {f.kind for f in verify_dataset(out, ids)}
    assert {
        "overlay-data",
        "curve-data",
        "icon-image",
        "person-name-value",
        "identity-flag",
    } <= found


def test_allowed_person_names_and_safe_private_attributes_pass(ids):
    out = clean_image()
    out.PatientName = "PL-0001"
    block = out.private_block(0x0019, "SAFE VENDOR", create=True)
    block.add_new(0x10, "DS", "1.5")
    assert (
        verify_dataset(
            out,
            ids,
            allowed_person_names={"PL-0001", "ANONYMIZED"},
            allowed_private={("SAFE VENDOR", 0x19, 0x10)},
        )
        == []
    )
    block.add_new(0x11, "DS", "2.5")
    out.add_new(0x00211010, "LO", "no creator")
    out.add_new(0x00280011, "US", None)  # an element without a value
    found = kinds(
        verify_dataset(
            out,
            ids,
            allowed_person_names={"PL-0001", "ANONYMIZED"},
            allowed_private={("SAFE VENDOR", 0x19, 0x10)},
        )
    )
    assert found == {("private-attribute", "(0019,1011)"), ("private-attribute", "(0021,1010)")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No acute findings.", []),
        ("Seen by Quillfeather", [("patient-name", "text[8:20]")]),
        ("MRN zq4471923", [("patient-id", "text[4:13]")]),
        ("born 03/12/1947", [("birth-date", "text[5:15]")]),
        ("born 1947-03-12", [("birth-date", "text[5:15]")]),
        ("phone (555) 014-2397", [("phone", "text[0:20]")]),
        ("at the LARKSPUR VALE   INFIRMARY", [("institution", "text[7:32]")]),
    ],
)
def test_text_is_verified_by_kind_and_span(ids, text, expected):
    assert [(f.kind, f.where) for f in verify_text(text, ids)] == expected


def test_common_word_names_count_only_where_they_read_as_names():
    ids = CaseIdentifiers.from_datasets([_patient("White^Peter")], roster=["Grace Hall"])
    assert verify_text("White matter disease; grace period; a long hall", ids) == []
    assert [f.kind for f in verify_text("seen by Peter White", ids)] == [
        "patient-name",
        "patient-name",
    ]
    assert [f.kind for f in verify_text("Mr White", ids)] == ["patient-name"]
    assert [f.kind for f in verify_text("WHITE", ids)] == ["patient-name"]
    assert [f.kind for f in verify_text("Grace Hall", ids)] == []  # two common words alone


def _patient(name):
    ds = Dataset()
    ds.PatientName = name
    ds.PatientID = "123"  # too short to be searched for
    ds.AccessionNumber = ""
    ds.PatientBirthDate = "1947"
    ds.InstitutionAddress = "NY"
    ds.PatientTelephoneNumbers = "911"
    return ds


def test_short_or_partial_values_are_not_collected():
    ids = CaseIdentifiers.from_datasets([_patient("White^Peter")])
    assert ids.ids == {} and ids.places == {} and ids.phones == set() and ids.birth_dates == set()


def test_a_case_without_identifiers_has_nothing_to_find():
    ids = CaseIdentifiers()
    assert ids.pattern() is None
    assert verify_text("Zandra Quillfeather", ids) == []


def test_a_patient_name_is_not_downgraded_by_a_later_person_name():
    ds = _patient("Quillfeather^Zandra")
    ds.OperatorsName = "Quillfeather^Arlo"
    ids = CaseIdentifiers.from_datasets([ds])
    assert ids.names["quillfeather"] == "patient-name"
    assert ids.names["arlo"] == "person-name"


def test_findings_serialize_without_values():
    assert Finding("patient-name", "PatientName").as_dict() == {
        "kind": "patient-name",
        "where": "PatientName",
    }


def test_verify_file_reads_paths_and_files_without_a_preamble(tmp_path, ids):
    path = tmp_path / "out.dcm"
    path.write_bytes(to_bytes(clean_image()))
    assert verify_file(path, ids) == []
    sample = pydicom.dcmread(sample_file("rtstruct.dcm"), force=True)
    assert verify_file(sample_file("rtstruct.dcm"), CaseIdentifiers.from_datasets([sample]))


def test_text_in_other_character_sets_is_checked_too():
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Größenwahn^Jörg"
    ids = CaseIdentifiers.from_datasets([ds])
    out = clean_image()
    out.SpecificCharacterSet = "ISO_IR 192"
    out.SeriesDescription = "Kontrolle Größenwahn"
    out.ImageComments = "GRÖSSENWAHN"
    assert kinds(verify_file(to_bytes(out), ids)) == {
        ("patient-name", "SeriesDescription"),
        ("patient-name", "ImageComments"),
    }


def test_uid_values_are_checked_only_against_original_instance_uids(ids):
    out = clean_image()
    out.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    assert verify_dataset(out, ids) == []
    out.add_new(0x00081155, "UI", uid(1, 1, 1))
    assert kinds(verify_dataset(out, ids)) == {("original-uid", "ReferencedSOPInstanceUID")}

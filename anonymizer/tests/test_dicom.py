import json

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from anonymizer.engine.dates import case_date_offset, shift_da
from anonymizer.engine.dicom import DUMMY_TEXT, collect_identifiers, deidentify_dataset
from anonymizer.engine.profile import Options
from anonymizer.engine.text import KnownIdentifiers
from anonymizer.engine.uids import UIDMapper
from anonymizer.tests.factories import IDENTITY, make_image, sample_file, to_bytes, uid

SECRET = "test-secret"
CASE = "case-17"
CLEANED = Options(roster=IDENTITY.roster, clean_descriptors=True, clean_structured_content=True)


def deid(ds=None, **kwargs):
    ds = make_image() if ds is None else ds
    # Most tests here look at how kept text is cleaned, so both cleaning options are on.
    kwargs.setdefault("options", CLEANED)
    return deidentify_dataset(ds, case_key=CASE, secret=SECRET, **kwargs)


@pytest.fixture(scope="module")
def result():
    return deid(make_image(referenced_instance=1))


@pytest.fixture(scope="module")
def out(result):
    return result[0]


@pytest.fixture(scope="module")
def report(result):
    return result[1]


def test_no_planted_identifier_survives_anywhere_in_the_written_file(out):
    data = to_bytes(out).lower()
    assert [p for p in IDENTITY.planted() if p.lower().encode("latin-1") in data] == []


def test_patient_module_is_emptied_not_removed(out):
    assert out.PatientName == ""
    assert out.PatientID == ""
    assert out.PatientBirthDate == ""
    assert "OtherPatientIDsSequence" not in out
    assert "IssuerOfPatientID" not in out


def test_person_names_are_removed_at_every_depth(out):
    for keyword in (
        "PerformingPhysicianName",
        "NameOfPhysiciansReadingStudy",
        "PhysiciansOfRecord",
    ):
        assert keyword not in out
    assert out.ReferringPhysicianName == ""
    assert out.OperatorsName == ""
    # unlisted PN nested two sequences down, and a D (dummy) PN in the content tree
    modifier = out.AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0]
    assert modifier.EvaluatorName == ""
    assert out.ContentSequence[0].VerifyingObserverName == DUMMY_TEXT


def test_institution_and_device_identity_go(out):
    for keyword in ("InstitutionName", "InstitutionAddress", "StationName"):
        assert keyword not in out
    assert out.Manufacturer == "Synthetic Medical Devices"
    assert out.ManufacturerModelName == "Synthetica 64"


def test_private_attributes_are_removed_with_their_creators(out, report):
    assert not any(elem.tag.is_private for elem in out.iterall())
    assert report.to_dict()["actions"]["(0029,10xx)"] == "X"
    assert report.to_dict()["actions"]["(0029,00xx)"] == "X"


def test_uids_are_replaced_consistently_and_references_still_point_to_images():
    mapper = UIDMapper(secret=SECRET, case_key=CASE)
    first, _ = deid(make_image(instance=1))
    second, _ = deid(make_image(instance=2, referenced_instance=1))
    assert first.StudyInstanceUID == second.StudyInstanceUID == mapper(uid(1))
    assert first.SeriesInstanceUID == second.SeriesInstanceUID
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert second.SourceImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert second.SourceImageSequence[0].ReferencedSOPClassUID == first.SOPClassUID
    assert first.FrameOfReferenceUID == mapper(uid(1, 0))
    assert first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"


def test_file_meta_is_rebuilt_around_the_new_sop_instance_uid(out, report):
    meta = out.file_meta
    assert meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert meta.MediaStorageSOPClassUID == out.SOPClassUID
    assert "SourceApplicationEntityTitle" not in meta
    assert meta.ImplementationVersionName == "PEERLEARN_ANON1"
    assert out.preamble == b"\x00" * 128
    assert report.to_dict()["actions"]["FileMeta.SourceApplicationEntityTitle"] == "X"


def test_dates_shift_by_the_case_offset_and_times_stay(out):
    offset = case_date_offset(secret=SECRET, case_key=CASE)
    assert out.StudyDate == shift_da("20240115", offset)
    assert out.InstanceCreationDate == out.StudyDate
    assert out.AcquisitionDateTime == f"{out.StudyDate}101501.123456+0100"
    assert out.StudyTime == "101500"
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_intervals_between_studies_of_a_case_are_kept():
    earlier, _ = deid(make_image(study=1, study_date="20230110"))
    later, _ = deid(make_image(study=2, study_date="20240115"))
    gap = pydicom.valuerep.DA(later.StudyDate) - pydicom.valuerep.DA(earlier.StudyDate)
    assert gap.days == 370


def test_without_the_dates_option_dates_are_emptied():
    ds = make_image()
    ds.ExpiryDate = "20231201"  # not in the table: emptied by the net
    out, report = deid(ds, options=Options(retain_longitudinal_modified_dates=False))
    assert out.StudyDate == ""
    assert "InstanceCreationDate" not in out
    assert "SeriesDate" not in out
    assert out.ContentDate == "19000101"  # Z/D kept present with a dummy
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    assert out.ExpiryDate == ""
    assert report.to_dict()["actions"]["ExpiryDate"] == "Z:date"


def test_descriptors_that_pass_the_scrubber_are_kept_and_others_cleaned(out, report):
    actions = report.to_dict()["actions"]
    assert out.SeriesDescription == "AX 5mm BRAIN"
    assert actions["SeriesDescription"] == "C:passed"
    assert out.StudyDescription == "CT HEAD WITHOUT CONTRAST for [NAME]"
    assert actions["StudyDescription"] == "C:scrubbed"
    history = out.AdditionalPatientHistory
    assert history.startswith("Fall at home. Seen by Dr. [NAME] on ")
    assert "Call [PHONE]. MRN [ID]." in history


def test_without_clean_descriptors_descriptions_are_removed():
    out, _ = deid(options=Options(clean_descriptors=False))
    assert "StudyDescription" not in out
    assert "SeriesDescription" not in out


def test_text_the_table_does_not_list_is_scrubbed(out, report):
    assert out.ContentSequence[0].TextValue == "Discussed with [NAME] and Dr. [NAME]; [ADDRESS]."
    assert out.AnatomicRegionSequence[0].CodeMeaning == "Brain ([NAME])"
    assert (
        report.to_dict()["actions"]["AnatomicRegionSequence[0].CodeMeaning"] == "C:known:scrubbed"
    )


def test_patient_characteristics_are_kept_by_default_and_configurable(out):
    assert (out.PatientSex, out.PatientAge, out.PatientWeight) == ("F", "076Y", 61.5)
    bare, _ = deid(options=Options(retain_patient_characteristics=frozenset()))
    assert "PatientAge" not in bare
    assert bare.PatientSex == ""
    only_sex, _ = deid(options=Options(retain_patient_characteristics=frozenset({"PatientSex"})))
    assert only_sex.PatientSex == "F"
    assert "PatientWeight" not in only_sex


@pytest.mark.parametrize(
    ("age", "expected"), [("095Y", "090Y"), ("089Y", "089Y"), ("006M", "006M"), ("", "")]
)
def test_ages_over_89_are_reported_as_90(age, expected):
    ds = make_image()
    ds.PatientAge = age
    out, _ = deid(ds)
    assert out.PatientAge == expected


def test_the_dataset_says_how_it_was_deidentified(out, report):
    assert out.PatientIdentityRemoved == "YES"
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107", "113104", "113105", "113108"] == report.method_codes
    assert {item.CodingSchemeDesignator for item in out.DeidentificationMethodCodeSequence} == {
        "DCM"
    }
    assert out.DeidentificationMethod[0] == "peerlearning anonymizer 1"


def test_a_patient_label_replaces_name_and_id():
    out, _ = deid(options=Options(patient_label="PL-2025-017"))
    assert out.PatientName == "PL-2025-017"
    assert out.PatientID == "PL-2025-017"


def test_pixel_data_is_byte_identical():
    ds = make_image()
    before = bytes(ds.PixelData)
    out, report = deid(ds)
    assert bytes(out.PixelData) == before
    assert not report.needs_pixel_review


def test_the_report_names_attributes_and_actions_but_never_values(report):
    text = json.dumps(report.to_dict()).lower()
    assert [p for p in IDENTITY.planted() if p.lower() in text] == []
    actions = report.to_dict()["actions"]
    assert actions["PatientName"] == "Z"
    assert actions["SOPInstanceUID"] == "U"
    assert actions["SourceImageSequence[0].ReferencedSOPInstanceUID"] == "U"
    assert actions["ContentSequence"] == "C:cleaned"
    assert actions["RequestAttributesSequence"] == "C:cleaned"


def _with(**elements):
    ds = make_image()
    for keyword, (vr, value) in elements.items():
        ds.add_new(pydicom.datadict.tag_for_keyword(keyword), vr, value)
    return ds


def test_overlays_and_curves_are_removed_whole():
    ds = make_image()
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60003000, "OW", b"\x00" * 8)
    ds.add_new(0x50000005, "US", 1)
    out, report = deid(ds)
    assert not any(0x5000 <= elem.tag.group <= 0x60FF for elem in out)
    assert report.to_dict()["actions"]["(6000,xxxx)"] == "X"
    assert report.to_dict()["actions"]["CurveDimensions"] == "X"


def test_unknown_public_attributes_and_group_lengths_are_removed():
    ds = make_image()
    ds.add_new(0x00091234 - 0x00010000, "LO", "mystery")  # (0008,1234) is not in the dictionary
    ds.add_new(0x00080000, "UL", 0)
    ds.add_new(0x00020016, "AE", "STRAY")
    out, report = deid(ds)
    assert 0x00081234 not in out
    assert 0x00080000 not in out
    assert 0x00020016 not in out
    assert report.to_dict()["actions"]["(0008,1234)"] == "X:unknown-public"


def test_unlisted_dates_uids_and_encapsulated_documents_get_safety_nets():
    ds = _with(
        ExpiryDate=("DA", "20231201"),
        ExpirationDateTime=("DT", "20231201101500"),
        EncapsulatedDocument=("OB", b"%PDF-1.4 Quillfeather"),
        ReferencedFrameOfReferenceUID=("UI", uid(1, 0)),
    )
    ds.ReferencedSeriesSequence = Sequence([Dataset()])
    ds.ReferencedSeriesSequence[0].SeriesInstanceUID = uid(1, 1)
    ds.ReferencedSeriesSequence[0].ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    out, report = deid(ds)
    offset = case_date_offset(secret=SECRET, case_key=CASE)
    assert out.ExpiryDate == shift_da("20231201", offset)
    assert out.ExpirationDateTime.startswith(shift_da("20231201", offset))
    # Listed (D) since the 2024 table; removed rather than given a dummy.
    assert "EncapsulatedDocument" not in out
    assert out.ReferencedSeriesSequence[0].SeriesInstanceUID == out.SeriesInstanceUID
    assert report.to_dict()["actions"]["EncapsulatedDocument"] == "X"


def test_unreadable_dates_are_emptied_and_unreadable_values_removed():
    ds = make_image()
    ds.StudyDate = "2024-01-15"
    ds.add_new(0x00181200, "DA", "bad")  # DateOfLastCalibration, unlisted
    ds.add_new(0x00400556, "ST", "Acquisition context text")  # AcquisitionContextDescription
    out, report = deid(ds)
    actions = report.to_dict()["actions"]
    assert out.StudyDate == ""
    assert actions["StudyDate"] == "Z:unreadable-date"
    assert actions["DateOfLastCalibration"] == "Z:unreadable-date"


def test_a_value_that_cannot_be_read_is_removed(monkeypatch):
    import anonymizer.engine.dicom.walk as engine

    def broken(*args, **kwargs):
        raise ValueError("cannot decode")

    monkeypatch.setattr(engine, "_scrub", broken)
    out, report = deid()
    assert "SeriesDescription" not in out
    assert report.to_dict()["actions"]["SeriesDescription"] == "X:unreadable"


def test_safe_private_attributes_are_kept_only_when_listed():
    ds = make_image()
    block = ds.private_block(0x0019, "SAFE VENDOR", create=True)
    block.add_new(0x10, "DS", "1.5")
    block.add_new(0x11, "LO", "unsafe")
    ds.add_new(0x00211010, "LO", "orphan without creator")
    options = Options(
        retain_safe_private=True, safe_private=frozenset({("SAFE VENDOR", 0x0019, 0x10)})
    )
    out, report = deid(ds, options=options)
    assert out[0x00190010].value == "SAFE VENDOR"
    assert out[0x00191010].value == "1.5"
    assert 0x00191011 not in out
    assert 0x00211010 not in out
    assert not any(e.tag.group == 0x0029 for e in out)
    assert "113111" in report.method_codes
    # without a list, Retain Safe Private keeps nothing
    out, _ = deid(make_image(), options=Options(retain_safe_private=True))
    assert not any(e.tag.is_private for e in out)


def test_compound_dummy_values_follow_the_vr():
    ds = make_image()
    ds.DeviceSerialNumber = "SN-449921"
    ds.ContentCreatorName = "Quillfeather^Zandra"
    ds.add_new(0x00400512, "LO", "CONTAINER-1")  # ContainerIdentifier: D
    ds.add_new(0x00340005, "OB", b"\x01\x02")  # SourceIdentifier: D
    ds.add_new(0x300A0741, "DT", "20240115")  # InterlockDateTime: D, shifted by the option
    ds.add_new(0x0040A124, "UI", uid(5))  # UID: U
    ds.add_new(0x00340001, "SQ", Sequence([Dataset()]))  # FlowIdentifierSequence: D
    out, _ = deid(ds)
    assert out.DeviceSerialNumber == DUMMY_TEXT
    assert out.ContentCreatorName == ""
    assert out.ContainerIdentifier == DUMMY_TEXT
    assert out[0x00340005].value == b"\x00\x00"
    assert out[0x0040A124].value == UIDMapper(secret=SECRET, case_key=CASE)(uid(5))


def test_dummy_values_for_numbers_and_dates_without_the_option():
    ds = Dataset()
    ds.add_new(0x00189371, "US", 7)  # XRayDetectorID (D), here with a numeric VR
    ds.add_new(0x003A0314, "DT", "20240115")  # ImpedanceMeasurementDateTime: D
    ds.add_new(0x0040A123, "PN", "Quillfeather^Zandra")  # PersonName: D
    ds.add_new(0x04000100, "UI", uid(9))  # DigitalSignatureUID: U
    options = Options(retain_longitudinal_modified_dates=False)
    out, report = deidentify_dataset(ds, case_key=CASE, secret=SECRET, options=options)
    assert out[0x00189371].value == 0
    assert out[0x003A0314].value == "19000101000000"
    assert out[0x0040A123].value == DUMMY_TEXT
    assert report.to_dict()["actions"]["PersonName"] == "D"


def test_a_uid_action_on_a_non_uid_value_removes_it():
    ds = Dataset()
    ds.add_new(0x00209161, "LO", "not a uid")  # ConcatenationUID written with the wrong VR
    out, report = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    assert 0x00209161 not in out
    assert report.to_dict()["actions"]["ConcatenationUID"] == "X"


def test_clean_on_an_attribute_that_is_neither_text_nor_date_keeps_it():
    ds = Dataset()
    ds.add_new(0x00081084, "SQ", Sequence([Dataset()]))  # AdmittingDiagnosesCodeSequence: C
    ds.add_new(0x22000002, "UT", "Label Quillfeather")  # LabelText: X/Z -> C with clean descriptors
    ds.add_new(0x00102110, "LO", "")  # Allergies, empty
    ds.add_new(0x00080201, "SH", "+0100")  # TimezoneOffsetFromUTC: C, kept
    ds.add_new(0x00181400, "OB", b"xx")  # AcquisitionDeviceProcessingDescription, wrong VR
    ds.PatientName = "Quillfeather^Zandra"
    out, report = deid(ds, options=Options(clean_descriptors=True))
    actions = report.to_dict()["actions"]
    assert actions["AdmittingDiagnosesCodeSequence"] == "C:cleaned"
    assert out.LabelText == "Label [NAME]"
    assert actions["TimezoneOffsetFromUTC"] == "C:kept"
    assert actions["AcquisitionDeviceProcessingDescription"] == "C:kept"


def test_multi_valued_uids_and_dates_are_each_replaced():
    ds = Dataset()
    ds.add_new(0x00080058, "UI", [uid(1), uid(2)])  # FailedSOPInstanceUIDList
    ds.add_new(0x00181200, "DA", ["20240101", "20240102"])
    ds.add_new(0x00081195, "UI", "")  # TransactionUID, empty
    ds.add_new(0x00181202, "DT", "")  # DateTimeOfLastCalibration, empty
    out, _ = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    mapper = UIDMapper(secret=SECRET, case_key=CASE)
    assert list(out.FailedSOPInstanceUIDList) == [mapper(uid(1)), mapper(uid(2))]
    assert len(out.DateOfLastCalibration) == 2


def test_collect_identifiers_gathers_every_person_id_place_and_birth_date():
    known = collect_identifiers([make_image()], roster=["Seraphine Lindqvorn"])
    assert {"Quillfeather", "Zandra", "Haverkampf", "Szymborak", "Lindqvorn"} <= known.names
    assert {IDENTITY.patient_id, IDENTITY.other_id, IDENTITY.accession} <= known.ids
    assert IDENTITY.institution in known.places
    assert "5550142397" in known.phones
    assert len(known.birth_dates) == 1


def test_case_wide_identifiers_reach_files_that_do_not_carry_them():
    ds = make_image()
    ds.ImageComments = "Ask Dr Zephyrine about it"
    known = KnownIdentifiers.build(person_names=["Zephyrine^Ulla"])
    out, _ = deidentify_dataset(
        ds,
        case_key=CASE,
        secret=SECRET,
        known=known,
        options=Options(roster=("Ulla X",), clean_descriptors=True),
    )
    assert out.ImageComments == "Ask Dr [NAME] about it"


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "rtplan.dcm",
        "test-SR.dcm",
        "JPEG2000.dcm",
        "MR_small_RLE.dcm",
    ],
)
def test_pydicom_sample_files_come_out_clean_and_writable(name):
    ds = pydicom.dcmread(sample_file(name))
    out, _ = deid(ds)
    assert out.PatientIdentityRemoved == "YES"
    assert not any(e.tag.is_private for e in out.iterall())
    assert all(e.value in ("", None, DUMMY_TEXT) for e in out.iterall() if e.VR == "PN")
    assert to_bytes(out)


def test_files_read_as_implicit_vr_under_an_explicit_transfer_syntax_can_be_written():
    ds = pydicom.dcmread(sample_file("SC_rgb_jpeg.dcm"))
    out, _ = deid(ds)
    again = pydicom.dcmread(__import__("io").BytesIO(to_bytes(out)))
    assert again.SOPInstanceUID == out.SOPInstanceUID


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no_meta.dcm", ImplicitVRLittleEndian),
        ("ExplVR_BigEndNoMeta.dcm", ExplicitVRBigEndian),
        ("ExplVR_LitEndNoMeta.dcm", ExplicitVRLittleEndian),
    ],
)
def test_files_without_file_meta_get_the_transfer_syntax_they_were_read_with(name, expected):
    ds = pydicom.dcmread(sample_file(name), force=True)
    out, _ = deid(ds)
    assert out.file_meta.TransferSyntaxUID == expected


def test_a_dataset_built_in_memory_is_written_explicit_little_endian():
    ds = Dataset()
    ds.SOPInstanceUID = uid(3)
    out, _ = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID


def test_an_empty_sequence_element_is_handled():
    ds = Dataset()
    ds[0x00081115] = DataElement(0x00081115, "SQ", None)  # ReferencedSeriesSequence
    out, _ = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    assert 0x00081115 in out


def test_unlisted_instance_uids_are_replaced_and_allowed_person_names_stay():
    ds = Dataset()
    ds.add_new(0x00200242, "UI", uid(4))  # SOPInstanceUIDOfConcatenationSource, not listed
    ds.add_new(0x0008040E, "UI", "1.2.840.10008.1.2.1")  # StoredInstanceTransferSyntaxUID
    ds.add_new(0x00140104, "PN", DUMMY_TEXT)  # SecondaryReviewerName, not listed
    out, report = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    assert out.SOPInstanceUIDOfConcatenationSource == UIDMapper(secret=SECRET, case_key=CASE)(
        uid(4)
    )
    assert out.StoredInstanceTransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert out.SecondaryReviewerName == DUMMY_TEXT
    actions = report.to_dict()["actions"]
    assert actions["SOPInstanceUIDOfConcatenationSource"] == "U:uid"
    assert "StoredInstanceTransferSyntaxUID" not in actions


def test_a_dummy_action_on_a_uid_value_replaces_the_uid():
    ds = Dataset()
    ds.add_new(0x00400512, "UI", uid(8))  # ContainerIdentifier (D) carrying a UID
    out, _ = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    assert out[0x00400512].value == UIDMapper(secret=SECRET, case_key=CASE)(uid(8))


def test_a_kept_sequence_is_still_walked(monkeypatch):
    import anonymizer.engine.dicom.decisions as engine

    # Decisions are cached per options: start from none, and leave none made with "K".
    monkeypatch.setattr(engine, "_DECISIONS", {})
    engine._table.cache_clear()
    monkeypatch.setattr(engine, "resolve_action", lambda row, keyword, options: "K")
    ds = Dataset()
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].add_new(0x00140104, "PN", "Quillfeather^Zandra")
    out, _ = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    engine._table.cache_clear()
    assert out.OtherPatientIDsSequence[0].SecondaryReviewerName == ""


def test_an_unreadable_birth_date_is_not_an_identifier():
    ds = Dataset()
    ds.PatientBirthDate = "19470230"
    assert collect_identifiers([ds]).birth_dates == frozenset()


def test_names_in_other_character_sets_and_capital_spellings_are_removed():
    ds = make_image()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Größenwahn^Jörg"
    ds.SeriesDescription = "Kontrolle GRÖSSENWAHN"
    ds.ImageComments = "für Jörg Größenwahn"
    ds = pydicom.dcmread(__import__("io").BytesIO(to_bytes(ds)))
    out, _ = deid(ds)
    assert out.SeriesDescription == "Kontrolle [NAME]"
    assert out.ImageComments == "für [NAME]"

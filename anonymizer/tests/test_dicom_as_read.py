"""The engine's fast path (sequences walked and written back as read) changes nothing.

Sequences read from a file are parsed by the engine itself, walked with their values
undecoded and encoded back into one value. These tests de-identify the same file twice,
once that way and once with every sequence first turned into pydicom datasets (the
ordinary way), and require the same written result and the same report, in every
encoding, with values that force the ordinary way part way through.
"""

import datetime as dt
import io
import struct
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from pydicom.data import get_testdata_file, get_testdata_files
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from anonymizer.engine.dicom import DUMMY_TEXT, deidentified_file_bytes, deidentify_dataset
from anonymizer.engine.dicom.raw import _encode_sequence, _raw_items
from anonymizer.engine.dicom.writer import _fast_file_bytes
from anonymizer.engine.profile import Options
from anonymizer.engine.uids import UIDMapper
from anonymizer.engine.verify import CaseIdentifiers, verify_file
from anonymizer.tests.factories import IDENTITY, make_image, to_bytes, uid
from anonymizer.tests.test_properties import planted_datasets

SECRET = "test-secret"
CASE = "case-as-read"
OPTIONS = Options(roster=IDENTITY.roster, clean_descriptors=True, clean_structured_content=True)


def encoded(ds: Dataset, transfer_syntax: str) -> bytes:
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    buffer = io.BytesIO()
    # dcmwrite, unlike save_as, writes big endian from a dataset made in memory.
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def both_ways(
    data: bytes, options: Options = OPTIONS
) -> tuple[tuple[Dataset, dict], tuple[Dataset, dict]]:
    """(output bytes re-read, report) of the fast path and of the ordinary way."""
    results = []
    for ordinary in (False, True):
        ds = pydicom.dcmread(io.BytesIO(data))
        if ordinary:
            for _ in ds.iterall():  # every sequence becomes pydicom datasets first
                pass
        out, report = deidentify_dataset(ds, case_key=CASE, secret=SECRET, options=options)
        written = pydicom.dcmread(io.BytesIO(to_bytes(out)))
        results.append((written, report.to_dict()))
    return results[0], results[1]


def assert_same(fast: tuple[Dataset, dict], ordinary: tuple[Dataset, dict]) -> None:
    assert fast[1] == ordinary[1]
    assert fast[0] == ordinary[0]
    assert fast[0].file_meta == ordinary[0].file_meta


@pytest.mark.parametrize(
    "transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
)
def test_sequences_walked_as_read_come_out_as_the_ordinary_way_makes_them(transfer_syntax):
    data = encoded(make_image(referenced_instance=1), transfer_syntax)
    fast, ordinary = both_ways(data)
    assert_same(fast, ordinary)
    out = fast[0]
    mapper = UIDMapper(secret=SECRET, case_key=CASE)
    assert out.SourceImageSequence[0].ReferencedSOPInstanceUID == mapper(uid(1, 1, 1))
    assert out.AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0].EvaluatorName == ""
    assert IDENTITY.family not in out.RequestAttributesSequence[0].RequestedProcedureDescription
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"


def test_a_value_that_is_not_plain_ascii_sends_its_sequence_the_ordinary_way():
    ds = make_image()
    ds.SpecificCharacterSet = "ISO_IR 192"
    item = ds.AnatomicRegionSequence[0]
    item.CodeMeaning = "Gehirn (Größenwahn)"
    item.AnatomicRegionModifierSequence[0].EvaluatorName = "Größenwahn^Jörg"
    ds.ReferencedStudySequence[0].add_new(0x00080104, "LO", "für Jörg")  # CodeMeaning
    fast, ordinary = both_ways(encoded(ds, ExplicitVRLittleEndian))
    assert_same(fast, ordinary)
    region = fast[0].AnatomicRegionSequence[0]
    assert "Größenwahn" not in region.CodeMeaning
    assert region.AnatomicRegionModifierSequence[0].EvaluatorName == ""


def test_items_of_undefined_length_are_walked_the_ordinary_way():
    ds = make_image()
    for item in ds.AnatomicRegionSequence:
        item.is_undefined_length_sequence_item = True
    data = encoded(ds, ExplicitVRLittleEndian)
    fast, ordinary = both_ways(data)
    assert_same(fast, ordinary)
    assert fast[0].AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0].EvaluatorName == ""


def test_an_element_the_engine_creates_in_an_item_sends_it_the_ordinary_way():
    # Emptying a sequence makes a pydicom element, which an item kept as read cannot hold.
    ds = make_image()
    context = Dataset()
    context.ValueType = "TEXT"
    context.TextValue = f"Positioned by {IDENTITY.given} {IDENTITY.family}"
    ds.RequestAttributesSequence[0].AcquisitionContextSequence = Sequence([context])
    # Without Clean Structured Content, the Acquisition Context Sequence is emptied.
    options = Options(roster=IDENTITY.roster, clean_descriptors=True)
    fast, ordinary = both_ways(encoded(ds, ImplicitVRLittleEndian), options)
    assert_same(fast, ordinary)
    assert len(fast[0].RequestAttributesSequence[0].AcquisitionContextSequence) == 0


def test_the_written_file_passes_the_verifier_and_reads_back_in_any_encoding():
    for transfer_syntax in (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian):
        original = make_image(referenced_instance=1)
        data = encoded(original, transfer_syntax)
        checked = CaseIdentifiers.from_datasets(
            [pydicom.dcmread(io.BytesIO(data))], roster=IDENTITY.roster
        )
        out, _ = deidentify_dataset(
            pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
        )
        written = to_bytes(out)
        assert verify_file(written, checked, allowed_person_names={DUMMY_TEXT}) == []
        again = pydicom.dcmread(io.BytesIO(written))
        assert again.file_meta.TransferSyntaxUID == transfer_syntax
        assert again.PixelData == pydicom.dcmread(io.BytesIO(data)).PixelData
        assert again.file_meta.MediaStorageSOPInstanceUID == again.SOPInstanceUID


def test_an_empty_sequence_as_read_stays_empty():
    ds = make_image()
    ds.AnatomicRegionSequence = Sequence([])
    fast, ordinary = both_ways(encoded(ds, ExplicitVRLittleEndian))
    assert_same(fast, ordinary)
    assert len(fast[0].AnatomicRegionSequence) == 0


@pytest.mark.parametrize(
    "transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
)
def test_walked_sequences_are_kept_encoded_and_the_others_as_pydicom_datasets(transfer_syntax):
    ds = make_image()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.RequestAttributesSequence[0].ReasonForTheRequestedProcedure = "Kopfschmerz, Übelkeit"
    read = pydicom.dcmread(io.BytesIO(encoded(ds, transfer_syntax)))
    out, _ = deidentify_dataset(read, case_key=CASE, secret=SECRET, options=OPTIONS)
    # Plain ASCII items: one encoded value, written as it stands.
    assert out.get_item(0x00082218).is_raw  # AnatomicRegionSequence
    # An item with a value that is not plain ASCII went the ordinary way.
    assert not getattr(out.get_item(0x00400275), "is_raw", False)  # RequestAttributesSequence
    assert out.RequestAttributesSequence[0].ReasonForTheRequestedProcedure.startswith("Kopf")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted_datasets())
def test_no_planted_identifier_survives_the_way_as_read_and_it_matches_the_ordinary_way(
    example,
):
    ds, identifiers, colleague = example
    data = to_bytes(ds)
    checked = CaseIdentifiers.from_datasets(
        [pydicom.dcmread(io.BytesIO(data))], roster=[f"Dr. {colleague}"]
    )
    options = Options(roster=(f"Dr. {colleague}",))
    results = []
    for ordinary in (False, True):
        read = pydicom.dcmread(io.BytesIO(data))
        if ordinary:
            for _ in read.iterall():
                pass
        out, report = deidentify_dataset(read, case_key="prop", secret="s", options=options)
        written = deidentified_file_bytes(out)
        assert written == to_bytes(out)
        results.append((written, report.to_dict()))
    (fast, fast_report), (ordinary, ordinary_report) = results
    assert fast_report == ordinary_report
    assert pydicom.dcmread(io.BytesIO(fast)) == pydicom.dcmread(io.BytesIO(ordinary))
    assert [i for i in identifiers if i.lower().encode() in fast.lower()] == []
    assert verify_file(fast, checked) == []


def pydicom_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
)
def test_the_engine_writes_the_bytes_pydicom_would_write(transfer_syntax):
    data = encoded(make_image(referenced_instance=1), transfer_syntax)
    out, _ = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
    )
    assert _fast_file_bytes(out) is not None  # the engine's own encoding is used here
    assert deidentified_file_bytes(out) == pydicom_bytes(out)


@pytest.mark.parametrize("name", sorted(Path(p).name for p in get_testdata_files("*.dcm")))
def test_any_sample_file_is_written_as_pydicom_writes_it_or_refused_the_same(name):
    ds = pydicom.dcmread(get_testdata_file(name), force=True)
    try:
        out, _ = deidentify_dataset(ds, case_key=CASE, secret=SECRET)
    except Exception:  # files the engine cannot take are not this test's
        pytest.skip("not de-identifiable")
    try:
        expected = pydicom_bytes(out)
    except (AttributeError, ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            deidentified_file_bytes(out)
    else:
        assert deidentified_file_bytes(out) == expected


def test_values_pydicom_converted_are_written_by_pydicom():
    ds = make_image()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageComments = "Größe normal"
    read = pydicom.dcmread(io.BytesIO(encoded(ds, ExplicitVRLittleEndian)))
    out, _ = deidentify_dataset(read, case_key=CASE, secret=SECRET, options=OPTIONS)
    out.ImageComments = "Größe normal"  # a converted, non-ASCII value
    assert _fast_file_bytes(out) is None
    assert deidentified_file_bytes(out) == pydicom_bytes(out)


def _deidentified(transfer_syntax: str = ExplicitVRLittleEndian) -> Dataset:
    ds = make_image()
    ds.SpecificCharacterSet = "ISO_IR 192"
    data = encoded(ds, transfer_syntax)
    out, _ = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
    )
    return out


def _set(attribute: str, value: object) -> Callable[[Dataset], None]:
    return lambda ds: setattr(ds, attribute, value)


def _set_meta(attribute: str, value: object) -> Callable[[Dataset], None]:
    return lambda ds: setattr(ds.file_meta, attribute, value)


def _delete_meta(attribute: str) -> Callable[[Dataset], None]:
    return lambda ds: delattr(ds.file_meta, attribute)


def _raw(tag: int, vr: str, value: bytes) -> Callable[[Dataset], None]:
    def put(ds: Dataset) -> None:
        ds._dict[BaseTag(tag)] = RawDataElement(BaseTag(tag), vr, len(value), value, 0, False, True)

    return put


CHANGES = {
    "a date as a date object": _set("DateOfLastCalibration", dt.date(2020, 1, 2)),
    "a converted text value that is not ASCII": _set("Modality", "ÇT"),
    "a short-length value too long for its VR": _raw(0x00081030, "LO", b"A" * 70_000),
    "a VR the encoder does not know": _raw(0x00281101, "US or SS", b"\x00\x00"),
    "file meta that pydicom completes": _delete_meta("ImplementationClassUID"),
    "file meta that pydicom converts": _set_meta("ImplementationVersionName", "OTHER NAME"),
    "file meta naming another instance": _set_meta("MediaStorageSOPInstanceUID", uid(9)),
    "no transfer syntax": _delete_meta("TransferSyntaxUID"),
    "an unknown transfer syntax": _set_meta("TransferSyntaxUID", "1.2.3.4"),
    "a changed character set": _set("SpecificCharacterSet", "ISO_IR 100"),
    "native pixel data under a compressed syntax": _set_meta(
        "TransferSyntaxUID", "1.2.840.10008.1.2.4.50"
    ),
    "a file meta element in the dataset": lambda ds: ds.add_new(0x00020016, "AE", "SENDER"),
    "a short preamble": _set("preamble", b"\x00" * 10),
    "pixel data of undefined length that is not encapsulated": lambda ds: (
        _set_meta("TransferSyntaxUID", "1.2.840.10008.1.2.4.50")(ds),
        ds._dict.__setitem__(
            BaseTag(0x7FE00010),
            RawDataElement(BaseTag(0x7FE00010), "OB", 0xFFFFFFFF, b"\x00" * 8, 0, False, True),
        ),
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_whatever_pydicom_would_change_or_refuse_is_left_to_pydicom(change):
    out = _deidentified()
    change(out)
    assert _fast_file_bytes(out) is None
    try:
        expected = pydicom_bytes(out)
    except (AttributeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            deidentified_file_bytes(out)
    else:
        assert deidentified_file_bytes(out) == expected


def test_a_retired_group_length_is_left_out_as_pydicom_leaves_it_out():
    out = _deidentified()
    out._dict[BaseTag(0x00080000)] = RawDataElement(
        BaseTag(0x00080000), "UL", 4, b"\x04\x00\x00\x00", 0, False, True
    )
    assert _fast_file_bytes(out) is not None
    assert deidentified_file_bytes(out) == pydicom_bytes(out)


def _sequence(value: bytes) -> RawDataElement:
    return RawDataElement(BaseTag(0x00082218), "SQ", len(value), value, 0, False, True)


ITEM = b"\xfe\xff\x00\xe0"
ELEMENT = b"\x08\x00\x00\x01SH\x04\x00T-A0"  # CodeValue "T-A0"
MALFORMED = {
    "a short item header": ITEM + b"\x00\x00",
    "something other than an item": b"\x08\x00\x00\x01\x00\x00\x00\x00",
    "an item longer than the sequence": ITEM + struct.pack("<L", 40) + ELEMENT,
    "a short element header": ITEM + struct.pack("<L", 4) + b"\x08\x00\x00\x01",
    "an unknown VR": ITEM + struct.pack("<L", 12) + ELEMENT.replace(b"SH", b"ZZ"),
    "a short long-length header": ITEM + struct.pack("<L", 8) + b"\x08\x00\x00\x01OB\x00\x00",
    "a value longer than its item": ITEM + struct.pack("<L", 10) + ELEMENT[:10],
    "a delimiter inside an item": ITEM + struct.pack("<L", 8) + b"\xfe\xff\x0d\xe0\x00\x00\x00\x00",
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_sequence_that_is_not_well_formed_is_left_to_pydicom(value):
    assert _raw_items(_sequence(value)) is None
    assert _raw_items(_sequence(ITEM + struct.pack("<L", 12) + ELEMENT)) is not None


def test_an_item_element_the_encoder_does_not_know_keeps_the_sequence_as_pydicom_items():
    ds = Dataset()
    item = Dataset()
    item._dict[BaseTag(0x00281101)] = RawDataElement(
        BaseTag(0x00281101), "US or SS", 2, b"\x00\x00", 0, False, True
    )
    ds.AnatomicRegionSequence = Sequence([item])
    assert not _encode_sequence(ds, BaseTag(0x00082218), [item])
    assert ds.AnatomicRegionSequence[0] is item


def test_private_attributes_kept_on_request_inside_items_are_kept():
    ds = make_image()
    block = ds.AnatomicRegionSequence[0].private_block(0x0019, "SAFE VENDOR", create=True)
    block.add_new(0x10, "DS", "1.5")
    block.add_new(0x11, "LO", "unsafe")
    data = encoded(ds, ExplicitVRLittleEndian)
    options = Options(
        roster=IDENTITY.roster,
        retain_safe_private=True,
        safe_private=frozenset({("SAFE VENDOR", 0x0019, 0x10)}),
    )
    out, _ = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=options
    )
    region = pydicom.dcmread(io.BytesIO(deidentified_file_bytes(out))).AnatomicRegionSequence[0]
    assert region[0x00191010].value == "1.5"
    assert 0x00191011 not in region


def test_a_case_with_more_texts_than_the_memo_holds_is_scrubbed_the_same(monkeypatch):
    import anonymizer.engine.dicom.walk as engine
    from anonymizer.engine.dicom import forget_identifiers

    data = encoded(make_image(referenced_instance=1), ExplicitVRLittleEndian)
    expected = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
    )
    forget_identifiers()
    monkeypatch.setattr(engine, "_SCRUB_MEMO_LIMIT", 1)
    got = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
    )
    forget_identifiers()
    assert deidentified_file_bytes(got[0]) == deidentified_file_bytes(expected[0])
    assert got[1].to_dict() == expected[1].to_dict()


def test_items_that_cannot_be_encoded_again_go_the_ordinary_way(monkeypatch):
    import anonymizer.engine.dicom.walk as engine

    data = encoded(make_image(referenced_instance=1), ExplicitVRLittleEndian)
    expected = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
    )
    encode = engine._encode_sequence
    monkeypatch.setattr(
        engine,
        "_encode_sequence",
        lambda ds, tag, items: type(items[0]) is not engine._RawItem and encode(ds, tag, items),
    )
    got = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(data)), case_key=CASE, secret=SECRET, options=OPTIONS
    )
    assert pydicom_bytes(got[0]) == pydicom_bytes(expected[0])
    assert got[1].to_dict() == expected[1].to_dict()


def test_an_empty_date_the_table_does_not_list_is_left_empty_and_unreported():
    ds = make_image()
    ds.add_new(0x00140102, "DA", "")  # SecondaryReviewDate
    out, report = deidentify_dataset(
        pydicom.dcmread(io.BytesIO(encoded(ds, ExplicitVRLittleEndian))),
        case_key=CASE,
        secret=SECRET,
        options=OPTIONS,
    )
    assert out.SecondaryReviewDate == ""
    assert "SecondaryReviewDate" not in report.to_dict()["actions"]


def test_the_verifier_reads_values_read_late_and_any_number_of_texts(tmp_path, monkeypatch):
    import anonymizer.engine.verify as verifier

    ds = make_image()
    ds.ImageComments = "Long comment " * 20 + f"about {IDENTITY.family}"
    path = tmp_path / "late.dcm"
    path.write_bytes(to_bytes(ds))
    checked = CaseIdentifiers.from_datasets([ds])
    monkeypatch.setattr(verifier, "_MEMO_LIMIT", 1)
    late = pydicom.dcmread(path, defer_size=64)  # long values are read when first used
    findings = verifier.verify_dataset(late, checked)
    assert any(f.where == "ImageComments" for f in findings)

"""Files the engine must neither corrupt nor block: coded values, its own dummies, bad
and hostile files, the report, the output folder and the exit status."""

import hashlib
import io
import json
import os
import struct
import tracemalloc

import numpy as np
import pydicom
import pytest
from django.core.management import CommandError, call_command
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian

from anonymizer.engine import pipeline
from anonymizer.engine.dicom import deidentify_dataset
from anonymizer.engine.pipeline import anonymize_directory, case_identifiers, deidentify_to_bytes
from anonymizer.engine.profile import Options
from anonymizer.engine.verify import CaseIdentifiers, verify_text
from anonymizer.tests.factories import IDENTITY, make_image, to_bytes, uid, write

SECRET = "integrity-secret"


def deidentified(ds: Dataset, options: Options | None = None):
    """(output dataset, actions, verifier findings) of one file through the pipeline."""
    known, checked = case_identifiers(iter([ds.copy()]))
    data, actions, _, findings = deidentify_to_bytes(
        ds, case_key="c", secret=SECRET, options=options or Options(), known=known, checked=checked
    )
    return pydicom.dcmread(io.BytesIO(data)), actions, findings


def run(src, tmp_path, **kwargs):
    report = tmp_path / "report.json"
    summary = anonymize_directory(
        src, tmp_path / "out", case_key="c", secret=SECRET, report_path=report, **kwargs
    )
    return summary, json.loads(report.read_text(encoding="utf-8"))


# --- coded values and the engine's own dummies --------------------------------------------


def test_coded_values_are_never_text_scrubbed_when_a_name_token_matches():
    ds = make_image()
    ds.PatientName = "CQ500-CT-310"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "PERFUSION"]
    ds.ConversionType = "WSD"
    code = Dataset()
    code.CodeValue = "CT"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Computed Tomography"
    ds.ProcedureCodeSequence = Sequence([code])
    out, _, findings = deidentified(ds)
    assert out.Modality == "CT"
    assert list(out.ImageType) == ["ORIGINAL", "PRIMARY", "PERFUSION"]
    assert out.ProcedureCodeSequence[0].CodeValue == "CT"
    assert out.ProcedureCodeSequence[0].CodingSchemeDesignator == "DCM"
    assert findings == []


def test_a_code_that_is_whole_the_patient_id_is_emptied():
    ds = make_image()
    ds.PatientID = "ZQ4471923"
    ds.add_new(0x00181030, "LO", "plain protocol")
    ds.ConversionType = "ZQ4471923"  # a CS nobody should have filled so
    out, actions, findings = deidentified(ds)
    assert out.ConversionType == ""
    assert actions["ConversionType"] == "Z:known-code"
    assert findings == []


@pytest.mark.parametrize(
    "name",
    ["Name^Text", "Anonymized^Name", "TEXT^ANONYMIZED", "Patient^Option", "Retain^Dates"],
)
def test_a_patient_named_like_the_engines_own_dummies_is_not_blocked(name):
    ds = make_image()
    ds.PatientName = name
    ds.ContentSequence[0].TextValue = f"Seen by {name.replace('^', ' ')} today"
    out, _, findings = deidentified(ds, Options(clean_descriptors=True))
    assert findings == []
    assert out.ContentSequence[0].ValueType == "TEXT"


def test_the_verifier_still_finds_a_name_beside_a_mark():
    ids = CaseIdentifiers()
    ids.add_roster(["Zandra Quillfeather"])
    assert [f.kind for f in verify_text("[NAME] Quillfeather said", ids)] == ["roster-name"]
    assert [f.kind for f in verify_text("[NAME]Quillfeather", ids)] == ["roster-name"]


# --- files that must be refused, and said so -----------------------------------------------


def encapsulated_pdf() -> Dataset:
    ds = make_image()
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.file_meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4 Quillfeather Zandra ZQ4471923 %%EOF\n"
    del ds.PixelData
    return ds


def pixel_data_offset(data: bytes) -> int:
    return data.rfind(b"\xe0\x7f\x10\x00OW")


def truncated() -> bytes:
    return to_bytes(make_image(rows=32, columns=32))[:-500]


def claimed_two_gigabytes() -> bytes:
    data = to_bytes(make_image(rows=32, columns=32))
    at = pixel_data_offset(data)
    return data[: at + 8] + struct.pack("<L", 0x80000000) + data[at + 12 :]


def without_series_uid() -> bytes:
    ds = make_image()
    del ds.SeriesInstanceUID
    return to_bytes(ds)


def nested(levels: int) -> bytes:
    """A file whose Content Sequence nests ``levels`` deep (encoded by hand: pydicom's own
    writer recurses too)."""
    ds = make_image()
    del ds.ContentSequence
    data = to_bytes(ds)
    text = IDENTITY.family.encode("ascii")
    body = b"\x40\x00\x60\xa1UT\x00\x00" + struct.pack("<L", len(text)) + text
    for _ in range(levels):
        body = (
            b"\x40\x00\x30\xa7SQ\x00\x00\xff\xff\xff\xff"  # Content Sequence
            + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
            + body
            + b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"  # item end
            + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"  # sequence end
        )
    at = pixel_data_offset(data)
    return data[:at] + body + data[at:]


BAD_FILES = {
    "encapsulated PDF": (lambda: to_bytes(encapsulated_pdf()), "encapsulated PDF"),
    "truncated pixel data": (truncated, "truncated"),
    "a claimed 2 GB length": (claimed_two_gigabytes, "truncated"),
    "no Series Instance UID": (without_series_uid, "no Series Instance UID"),
    "3,000 nested sequences": (lambda: nested(3000), "nested too deeply"),
}


@pytest.mark.parametrize("bad", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_is_reported_and_skipped_and_the_others_are_written(bad, tmp_path):
    make, reason = BAD_FILES[bad]
    src = tmp_path / "in"
    write(make_image(instance=1), src / "a.dcm")
    (src / "b.dcm").write_bytes(make())
    write(make_image(instance=3), src / "c.dcm")
    summary, report = run(src, tmp_path)
    assert (summary.written, summary.failed) == (2, 1)
    refused = [f for f in report["files"] if f["status"] == "failed"]
    assert len(refused) == 1 and reason in refused[0]["reason"]
    written = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(written) == 2
    for path in written:
        assert pydicom.dcmread(path).pixel_array.size  # whole files only


def test_an_encapsulated_pdf_is_refused_by_the_command_with_a_message(tmp_path):
    src = tmp_path / "in"
    write(encapsulated_pdf(), src / "report.dcm")
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("anonymize_dicom", str(src), str(tmp_path / "out"), case_key="c", stdout=out)
    assert refused.value.returncode == 2
    assert "1 could not be de-identified" in out.getvalue()
    assert not (tmp_path / "out").exists()


# --- the report, the output folder, the exit status ---------------------------------------


def test_the_report_is_valid_json_and_out_holds_only_verified_files_when_a_run_breaks(
    tmp_path, monkeypatch
):
    src = tmp_path / "in"
    for n in range(1, 4):
        write(make_image(instance=n), src / f"{n}.dcm")
    real = pipeline.deidentified_file_write

    def disk_fills_on_the_second_file(ds, handle):
        if ds.InstanceNumber == 2:
            handle.write(b"DICM half a file")
            raise KeyboardInterrupt  # not an Exception: the run stops here
        real(ds, handle)

    monkeypatch.setattr(pipeline, "deidentified_file_write", disk_fills_on_the_second_file)
    with pytest.raises(KeyboardInterrupt):
        run(src, tmp_path)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["complete"] is False
    assert report["summary"]["written"] == 1
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(files) == 1
    assert pydicom.dcmread(files[0]).pixel_array.size


def test_the_command_exits_1_when_a_file_was_refused_and_2_when_nothing_was_written(tmp_path):
    src = tmp_path / "in"
    write(make_image(instance=1), src / "good.dcm")
    (src / "bad.dcm").write_bytes(truncated())
    with pytest.raises(CommandError) as some:
        call_command(
            "anonymize_dicom", str(src), str(tmp_path / "o1"), case_key="c", stdout=io.StringIO()
        )
    assert some.value.returncode == 1
    (src / "good.dcm").unlink()
    with pytest.raises(CommandError) as none:
        call_command(
            "anonymize_dicom", str(src), str(tmp_path / "o2"), case_key="c", stdout=io.StringIO()
        )
    assert none.value.returncode == 2


def test_links_to_files_outside_the_input_folder_are_not_followed(tmp_path):
    elsewhere = write(make_image(instance=9), tmp_path / "elsewhere" / "other-patient.dcm")
    src = tmp_path / "in"
    write(make_image(instance=1), src / "a.dcm")
    os.symlink(elsewhere, src / "link.dcm")
    os.symlink(elsewhere.parent, src / "linked-folder")
    os.symlink(src / "a.dcm", src / "inside-link.dcm")  # inside: the same file again
    summary, report = run(src, tmp_path)
    assert summary.written == 1
    outside = [f for f in report["files"] if "outside the input folder" in f.get("reason", "")]
    assert len(outside) == 1 and outside[0]["status"] == "skipped"
    assert summary.skipped == 2  # the link outside, and the duplicate through the inside link


def test_the_source_id_is_keyed_with_the_case_key(tmp_path):
    src = tmp_path / "in"
    write(make_image(), src / "ZQ4471923" / "a.dcm")
    _, report = run(src, tmp_path)
    source = report["files"][0]["source_id"]
    assert source != hashlib.sha256(b"ZQ4471923/a.dcm").hexdigest()[:16]
    assert source == pipeline.source_id("ZQ4471923/a.dcm", secret=SECRET, case_key="c")
    assert source != pipeline.source_id("ZQ4471923/a.dcm", secret=SECRET, case_key="other")


# --- memory ----------------------------------------------------------------------------------


def test_a_large_multi_frame_file_is_not_held_in_memory_more_than_once(tmp_path):
    ds = make_image(rows=256, columns=256)
    frames = 200  # 25 MiB of pixel data
    ds.NumberOfFrames = frames
    ds.PixelData = np.zeros(256 * 256 * frames, dtype=np.uint16).tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    src = tmp_path / "in"
    path = write(ds, src / "cine.dcm")
    size = path.stat().st_size
    del ds
    tracemalloc.start()
    try:
        summary, _ = run(src, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.written == 1
    # The read itself holds the file once; no second or third copy on top.
    assert peak < 1.4 * size, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"


def test_the_engine_alone_still_works_on_a_dataset_made_in_memory():
    out, _ = deidentify_dataset(make_image(), case_key="c", secret=SECRET)
    assert out.PatientIdentityRemoved == "YES"
    assert uid(1) != out.StudyInstanceUID


# --- free text is removed by default --------------------------------------------------------


def test_descriptors_and_report_text_are_removed_by_default():
    ds = make_image()
    out, actions, findings = deidentified(ds)
    for keyword in ("StudyDescription", "ImageComments", "AdditionalPatientHistory"):
        assert keyword not in out
    assert out.ContentSequence[0].ValueType == "TEXT"
    assert out.ContentSequence[0].TextValue == "ANONYMIZED"
    assert actions["ContentSequence[0].TextValue"] == "D:free-text"
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert "113105" not in codes and "113104" not in codes
    assert findings == []


def test_a_champion_can_keep_descriptors_and_report_text_cleaned():
    ds = make_image()
    options = Options(clean_descriptors=True, clean_structured_content=True)
    out, _, findings = deidentified(ds, options)
    assert out.StudyDescription
    assert IDENTITY.family not in out.ContentSequence[0].TextValue
    assert "[NAME]" in out.ContentSequence[0].TextValue
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert "113105" in codes and "113104" in codes
    assert findings == []

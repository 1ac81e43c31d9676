import io
import json
import shutil

import pydicom
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from anonymizer.engine import pipeline
from anonymizer.engine.pipeline import anonymize_directory, read_dicom, scrub_case_text, source_id
from anonymizer.engine.profile import Options
from anonymizer.tests.factories import (
    IDENTITY,
    make_image,
    make_secondary_capture,
    sample_file,
    write,
    write_case,
)


@pytest.fixture
def case(tmp_path):
    src = tmp_path / "in"
    write_case(src, images=3)
    write(make_secondary_capture(), src / "Quillfeather_Zandra" / "capture.dcm")
    (src / "notes.txt").write_text(f"Patient {IDENTITY.family}", encoding="utf-8")
    shutil.copy(sample_file("dicomdirtests/DICOMDIR"), src / "DICOMDIR")
    return src


def run(case, tmp_path, **kwargs):
    kwargs.setdefault("options", Options(roster=IDENTITY.roster))
    report = tmp_path / "report.json"
    summary = anonymize_directory(
        case, tmp_path / "out", case_key="case-1", secret="s", report_path=report, **kwargs
    )
    return (
        summary,
        json.loads(report.read_text(encoding="utf-8")),
        report.read_text(encoding="utf-8"),
    )


def test_a_case_directory_is_deidentified_file_by_file(case, tmp_path):
    summary, report, _ = run(case, tmp_path)
    assert summary.as_dict() == {
        "files": 6,
        "written": 4,
        "skipped": 2,
        "rejected": 0,
        "failed": 0,
        "needs_pixel_review": 1,
        "verifier_findings": 0,
        "ok": True,
    }
    assert report["summary"] == {**summary.as_dict(), "complete": True}
    assert report["profile"]["rows"] == 623
    assert report["options"]["method_codes"] == ["113100", "113107", "113108"]
    written = [f for f in report["files"] if f["status"] == "written"]
    assert all(f["verifier"] == {"passed": True, "findings": []} for f in written)
    assert sorted(f["needs_pixel_review"] for f in written) == [False, False, False, True]
    skipped = {f["reason"] for f in report["files"] if f["status"] == "skipped"}
    assert skipped == {"not a DICOM file", "DICOMDIR (a directory of the files, not copied)"}


def test_outputs_are_named_by_new_uids_and_keep_series_together(case, tmp_path):
    _, report, _ = run(case, tmp_path)
    outputs = [f["output"] for f in report["files"] if f["status"] == "written"]
    datasets = [pydicom.dcmread(tmp_path / "out" / o) for o in outputs]
    for ds, output in zip(datasets, outputs, strict=True):
        assert output == f"{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"
    ct = [ds for ds in datasets if ds.Modality == "CT"]
    assert len(ct) == 3
    assert len({ds.SeriesInstanceUID for ds in ct}) == 1
    first = next(ds for ds in ct if ds.InstanceNumber == 1)
    others = [ds for ds in ct if ds.InstanceNumber > 1]
    assert all(
        ds.SourceImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID for ds in others
    )


def test_nothing_identifying_reaches_the_outputs_or_the_report(case, tmp_path):
    _, _, report_text = run(case, tmp_path)
    planted = [p.lower() for p in IDENTITY.planted()]
    assert [p for p in planted if p in report_text.lower()] == []
    for path in (tmp_path / "out").rglob("*"):
        assert [p for p in planted if p in path.as_posix().lower()] == []
        if path.is_file():
            data = path.read_bytes().lower()
            assert [p for p in planted if p.encode("latin-1") in data] == []


def test_source_files_are_referenced_by_a_hash_of_their_path(case, tmp_path):
    _, report, _ = run(case, tmp_path)
    first = report["files"][0]
    assert first["source_id"] == source_id("DICOMDIR", secret="s", case_key="case-1")
    assert len(first["source_id"]) == 16


def test_a_file_the_verifier_rejects_is_not_written(case, tmp_path, monkeypatch):
    real = pipeline.deidentify_dataset

    def leaky(ds, **kwargs):
        out, report = real(ds, **kwargs)
        out.SeriesDescription = IDENTITY.family
        return out, report

    monkeypatch.setattr(pipeline, "deidentify_dataset", leaky)
    summary, report, _ = run(case, tmp_path)
    assert summary.rejected == 4
    assert summary.written == 0
    assert not summary.ok
    rejected = [f for f in report["files"] if f["status"] == "rejected"]
    assert rejected[0]["verifier"] == {
        "passed": False,
        "findings": [{"kind": "patient-name", "where": "SeriesDescription"}],
    }
    assert not (tmp_path / "out").exists()


def test_a_file_that_cannot_be_deidentified_fails_without_stopping_the_case(
    case, tmp_path, monkeypatch
):
    real = pipeline.deidentify_dataset
    calls = []

    def sometimes_broken(ds, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"value {IDENTITY.family} is bad")
        return real(ds, **kwargs)

    monkeypatch.setattr(pipeline, "deidentify_dataset", sometimes_broken)
    summary, _, text = run(case, tmp_path)
    assert (summary.failed, summary.written) == (1, 3)
    assert "could not de-identify (RuntimeError)" in text
    assert IDENTITY.family.lower() not in text.lower()


def test_duplicates_are_written_once(tmp_path):
    src = tmp_path / "in"
    write(make_image(), src / "a.dcm")
    write(make_image(), src / "b.dcm")
    summary = anonymize_directory(src, tmp_path / "out", case_key="k", secret="s")
    assert (summary.written, summary.skipped) == (1, 1)
    assert summary.report_path == ""


def test_files_without_a_preamble_or_instance_uid(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample_file("rtstruct.dcm"), src / "no-preamble.dcm")
    shutil.copy(sample_file("no_meta.dcm"), src / "no-sop-instance.dcm")
    (src / "empty.dcm").write_bytes(b"")
    summary, report, _ = run(src, tmp_path)
    statuses = sorted((f["status"], f.get("reason", "")) for f in report["files"])
    assert statuses == [
        ("skipped", "not a DICOM file"),
        ("skipped", "not a DICOM file"),
        ("written", ""),
    ]
    assert summary.ok


def test_read_dicom_recognises_files_with_sop_uids_but_no_meta(tmp_path):
    ds = pydicom.dcmread(sample_file("ExplVR_LitEndNoMeta.dcm"), force=True)
    path = tmp_path / "x.dcm"
    shutil.copy(sample_file("ExplVR_LitEndNoMeta.dcm"), path)
    assert read_dicom(path).SOPInstanceUID == ds.SOPInstanceUID
    assert read_dicom(tmp_path / "missing.dcm") is None


def test_a_file_that_cannot_be_read_even_by_force_is_not_dicom(tmp_path, monkeypatch):
    def unreadable(path, stop_before_pixels=False, force=False):
        if force:
            raise RuntimeError("garbage")
        raise pydicom.errors.InvalidDicomError("no preamble")

    monkeypatch.setattr(pipeline, "dcmread", unreadable)
    assert read_dicom(tmp_path / "x.dcm") is None


def test_a_file_with_a_sop_class_but_no_instance_uid_is_skipped(tmp_path):
    ds = make_image()
    del ds.SOPInstanceUID
    src = tmp_path / "in"
    src.mkdir()
    ds.save_as(src / "x.dcm", enforce_file_format=False)
    _, report, _ = run(src, tmp_path)
    assert report["files"][0]["reason"] == "no SOP Class or SOP Instance UID"


def test_the_source_must_be_a_directory(tmp_path):
    with pytest.raises(NotADirectoryError):
        anonymize_directory(tmp_path / "nope", tmp_path / "out", case_key="k", secret="s")


@override_settings(ANONYMIZER_SECRET="from-settings")
def test_the_command_takes_the_secret_from_settings(tmp_path):
    src = tmp_path / "in"
    write(make_image(), src / "a.dcm")
    call_command(
        "anonymize_dicom", str(src), str(tmp_path / "a"), case_key="k", stdout=io.StringIO()
    )
    anonymize_directory(src, tmp_path / "b", case_key="k", secret="from-settings")
    assert sorted(p.name for p in (tmp_path / "a").rglob("*.dcm")) == sorted(
        p.name for p in (tmp_path / "b").rglob("*.dcm")
    )


def test_case_text_is_scrubbed_with_the_case_offset_and_verified():
    header = make_image()
    result, findings = scrub_case_text(
        f"{IDENTITY.given} {IDENTITY.family} fell on 2024-01-12; Dr. Lindqvorn called.",
        case_key="case-1",
        datasets=(header,),
        roster=IDENTITY.roster,
        secret="s",
    )
    assert result.text.startswith("[NAME] fell on ")
    assert "2024-01-12" not in result.text
    assert result.text.endswith("Dr. [NAME] called.")
    assert findings == []


@override_settings(ANONYMIZER_SECRET="from-settings")
def test_case_text_verification_reports_what_the_scrubber_missed(monkeypatch):
    monkeypatch.setattr(pipeline, "scrub_text", lambda text, **kw: pipeline.ScrubResult(text, ()))
    _, findings = scrub_case_text("Zandra", case_key="c", secret="s", datasets=(make_image(),))
    assert [f.kind for f in findings] == ["patient-name"]


# --- the management command ------------------------------------------------------------


def test_the_command_writes_files_and_a_report_and_prints_a_summary(case, tmp_path, capsys):
    roster = tmp_path / "roster.txt"
    roster.write_text("\n".join(IDENTITY.roster) + "\n\n", encoding="utf-8")
    report = tmp_path / "r" / "report.json"
    call_command(
        "anonymize_dicom",
        str(case),
        str(tmp_path / "out"),
        "--case-key",
        "case-1",
        "--report",
        str(report),
        "--roster",
        str(roster),
        "--patient-label",
        "PL-0001",
    )
    out = capsys.readouterr().out
    assert "6 files: 4 written, 2 skipped" in out
    assert "1 need pixel review; verifier findings: 0." in out
    assert f"Report: {report}" in out
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["summary"]["ok"]
    first = next(f for f in data["files"] if f["status"] == "written")
    assert pydicom.dcmread(tmp_path / "out" / first["output"]).PatientID == "PL-0001"


def test_the_command_fails_when_the_verifier_finds_anything(case, tmp_path, monkeypatch):
    monkeypatch.setattr(
        pipeline, "verify_file", lambda *a, **k: [pipeline.Finding("patient-name", "X")]
    )
    with pytest.raises(CommandError, match="Nothing was written"):
        call_command("anonymize_dicom", str(case), str(tmp_path / "out"), "--case-key", "k")


def test_the_command_can_drop_patient_characteristics(case, tmp_path):
    call_command(
        "anonymize_dicom",
        str(case),
        str(tmp_path / "out"),
        "--case-key",
        "k",
        "--no-patient-characteristics",
    )
    ds = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert "PatientAge" not in ds


def test_the_command_needs_a_source_directory(tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        call_command(
            "anonymize_dicom", str(tmp_path / "nope"), str(tmp_path / "out"), "--case-key", "k"
        )

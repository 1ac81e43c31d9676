"""PACS retrieval against a real Orthanc with DICOMweb, started by the tests (loopback only).

The PACS holds a 50-image study (three series: uncompressed, RLE and JPEG 2000) of the
factories' planted patient, another patient's study, and two studies that share one
accession number. Skipped when Orthanc is not installed; a failure under REQUIRE_SERVICES=1.
"""

import io
import json
import logging
import os
from dataclasses import replace

import pydicom
import pytest
import requests
from django.core.management import CommandError, call_command
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, RLELossless

from anonymizer import pacs as pacs_module
from anonymizer.engine.dicom import DUMMY_TEXT
from anonymizer.engine.profile import Options
from anonymizer.engine.verify import CaseIdentifiers, verify_file
from anonymizer.pacs import (
    REPORT_FILE,
    RESULT_FILE,
    PacsConfig,
    PacsError,
    RetrievalResult,
    pacs_retrieve_deidentified,
    pacs_study_find,
)
from anonymizer.tests.factories import (
    IDENTITY,
    ROOT,
    make_image,
    make_secondary_capture,
    to_bytes,
)
from anonymizer.tests.orthanc import OrthancServer, orthanc_unavailable

OTHER = replace(
    IDENTITY,
    family="Brackenwold",
    given="Ottilie",
    middle="Fenn",
    patient_id="BW2209181",
    other_id="QX-55120021",
    accession="AC55009121",
    birth_date="19581102",
)
TWICE = replace(IDENTITY, family="Dunmarrow", patient_id="DM7710443", accession="AC31337008")
CAPTURE = "AC66120077"  # a study of one screen capture, burned-in text and all
SYNTAXES = {1: ExplicitVRLittleEndian, 2: RLELossless, 3: JPEG2000Lossless}
SERIES_SIZES = {1: 40, 2: 5, 3: 5}
OPTIONS = Options(roster=IDENTITY.roster)


def study_of_50():
    """The planted patient's study: 40 uncompressed images, 5 RLE, 5 JPEG 2000 lossless."""
    for series, count in SERIES_SIZES.items():
        for n in range(1, count + 1):
            ds = make_image(
                series=series,
                instance=n,
                rows=32,  # JPEG 2000's default resolutions need 32 pixels
                columns=32,
                referenced_instance=1 if n > 1 else None,
            )
            if SYNTAXES[series] != ExplicitVRLittleEndian:
                ds.compress(SYNTAXES[series])
            yield ds


def screen_capture():
    ds = make_secondary_capture()
    ds.AccessionNumber = CAPTURE
    return ds


@pytest.fixture(scope="module")
def orthanc_server(tmp_path_factory):
    """The running server, or why there is none (need_service is per test)."""
    missing = orthanc_unavailable()
    if missing:
        yield missing
        return
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"))
    try:
        server.start()
        originals = {(ds.SeriesNumber, ds.InstanceNumber): ds for ds in study_of_50()}
        others = [
            make_image(OTHER, study=2, instance=1),
            make_image(OTHER, study=2, instance=2),
            make_image(TWICE, study=3),
            make_image(TWICE, study=4),
            screen_capture(),
        ]
        server.upload([to_bytes(ds) for ds in [*originals.values(), *others]])
        server.originals = originals
        yield server
    finally:
        server.stop()


@pytest.fixture
def orthanc(orthanc_server, need_service):
    need_service(not isinstance(orthanc_server, str), orthanc_server)
    return orthanc_server


def config(server, **changes) -> PacsConfig:
    values = {
        "url": server.dicomweb_url,
        "username": server.username,
        "password": server.password,
        "timeout": 10,
    }
    return PacsConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def retrieved(orthanc_server, tmp_path_factory):
    """The planted patient's study retrieved once, with the originals the hook was shown."""
    if isinstance(orthanc_server, str):
        return None
    root = tmp_path_factory.mktemp("retrieved")
    (root / "work").mkdir()
    shown = []
    result = orthanc_server.run(
        pacs_retrieve_deidentified,
        accession_number=IDENTITY.accession,
        case_key="case-50",
        destination=root / "out",
        options=OPTIONS,
        on_original=shown.append,
        config=config(orthanc_server, work_dir=str(root / "work")),
    )
    return result, root, shown


@pytest.fixture
def study(orthanc, retrieved):
    return retrieved


@pytest.fixture
def pacs(orthanc, settings, tmp_path):
    settings.PACS_DICOMWEB_URL = orthanc.dicomweb_url
    settings.PACS_USERNAME = orthanc.username
    settings.PACS_PASSWORD = orthanc.password
    settings.PACS_TIMEOUT = 10
    settings.PACS_WORK_DIR = str(tmp_path / "work")
    (tmp_path / "work").mkdir()
    return orthanc


def outputs(result):
    root = result.destination
    return [pydicom.dcmread(os.path.join(root, name)) for name in result.files]


# Finding and retrieving ---------------------------------------------------------------------


def test_orthanc_serves_only_inside_its_namespace(orthanc):
    assert orthanc.run(lambda: orthanc.get("/system").json()["Name"]) == "pl-test-pacs"
    try:
        answer = orthanc.get("/system")  # from the test's own thread: the host's network
    except requests.ConnectionError:
        return
    assert answer.status_code != 200 or answer.json().get("Name") != "pl-test-pacs"


def test_a_study_is_found_by_accession_number_with_its_series_and_images(orthanc):
    listing = orthanc.run(
        pacs_study_find, accession_number=IDENTITY.accession.lower(), config=config(orthanc)
    )
    assert listing.study_instance_uid == f"{ROOT}.1"
    assert [(s.series_number, s.modality, len(s.instance_uids)) for s in listing.series] == [
        (1, "CT", 40),
        (2, "CT", 5),
        (3, "CT", 5),
    ]
    assert listing.instances == 50


def test_every_image_of_the_study_comes_back_deidentified(study):
    result, _, _ = study
    assert result.complete and result.ok and result.verifier_passed
    assert (result.series, result.instances_expected, result.instances_retrieved) == (3, 50, 50)
    assert result.deidentification["written"] == 50
    assert len(result.files) == 50 and result.rejected == []
    images = outputs(result)
    assert {ds.PatientIdentityRemoved for ds in images} == {"YES"}
    assert len({ds.StudyInstanceUID for ds in images}) == 1
    assert not any(ds.SOPInstanceUID.startswith(ROOT) for ds in images)
    counts = {}
    for ds in images:
        counts[ds.SeriesNumber] = counts.get(ds.SeriesNumber, 0) + 1
    assert counts == SERIES_SIZES


def test_the_verifier_finds_nothing_in_what_was_kept(study):
    result, _, shown = study
    # The hook saw every original, identifiers and all; the check below is independent of
    # the pipeline's own verification.
    assert len(shown) == 50
    assert {ds.AccessionNumber for ds in shown} == {IDENTITY.accession}
    ids = CaseIdentifiers.from_datasets(shown, roster=IDENTITY.roster)
    planted = [p.lower().encode("latin-1") for p in IDENTITY.planted()]
    for name in result.files:
        path = os.path.join(result.destination, name)
        assert verify_file(path, ids, allowed_person_names={DUMMY_TEXT}) == []
        data = open(path, "rb").read().lower()  # noqa: SIM115
        assert [p for p in planted if p in data] == []


def test_compressed_images_come_back_compressed_and_untouched(orthanc, study):
    result, _, _ = study
    assert result.transfer_syntaxes == {
        ExplicitVRLittleEndian: 40,
        RLELossless: 5,
        JPEG2000Lossless: 5,
    }
    for ds in outputs(result):
        original = orthanc.originals[(ds.SeriesNumber, ds.InstanceNumber)]
        assert ds.file_meta.TransferSyntaxUID == SYNTAXES[ds.SeriesNumber]
        assert ds.PixelData == original.PixelData


def test_only_the_requested_study_comes_back(study):
    result, _, _ = study
    others = [p.lower().encode() for p in (OTHER.family, OTHER.patient_id, TWICE.family)]
    for name in result.files:
        data = open(os.path.join(result.destination, name), "rb").read().lower()  # noqa: SIM115
        assert [p for p in others if p in data] == []


def test_the_originals_are_deleted_once_deidentified(study):
    _, root, _ = study
    assert os.listdir(root / "work") == []
    # Beside the destination, no staging folder is left either.
    assert sorted(p.name for p in root.iterdir()) == ["out", "work"]
    top = sorted(p.name for p in (root / "out").iterdir() if p.is_file())
    assert top == [REPORT_FILE, RESULT_FILE]


def test_the_stored_result_holds_no_identifier(study):
    result, root, _ = study
    assert RetrievalResult.load(root / "out") == result
    stored = (root / "out" / RESULT_FILE).read_text(encoding="utf-8").lower()
    stored += (root / "out" / REPORT_FILE).read_text(encoding="utf-8").lower()
    assert [p for p in IDENTITY.planted() if p.lower() in stored] == []
    assert ROOT not in stored


def test_retrieving_and_deidentifying_50_images_takes_seconds(study):
    result, _, _ = study
    assert result.retrieve_seconds > 0 and result.deidentify_seconds > 0
    assert result.retrieve_seconds + result.deidentify_seconds < 20
    assert "Retrieved 50 of 50 images (3 series)" in result.summary()


# Refusals -------------------------------------------------------------------------------------


def test_an_unknown_accession_number_is_reported_as_not_found(orthanc, tmp_path):
    with pytest.raises(PacsError) as caught:
        orthanc.run(
            pacs_retrieve_deidentified,
            accession_number="AC00000000",
            case_key="c",
            destination=tmp_path / "out",
            config=config(orthanc, work_dir=str(tmp_path)),
        )
    assert caught.value.code == "not-found"
    assert str(caught.value).startswith("No study with this accession number was found")
    assert os.listdir(tmp_path) == []


def test_an_accession_number_shared_by_two_studies_is_refused(orthanc, tmp_path):
    with pytest.raises(PacsError) as caught:
        orthanc.run(
            pacs_retrieve_deidentified,
            accession_number=TWICE.accession,
            case_key="c",
            destination=tmp_path / "out",
            config=config(orthanc, work_dir=str(tmp_path)),
        )
    assert caught.value.code == "several-studies"
    assert str(caught.value).startswith("2 studies in the PACS carry this accession number")
    assert os.listdir(tmp_path) == []


def test_wrong_credentials_give_a_clear_message(orthanc, tmp_path):
    with pytest.raises(PacsError) as caught:
        orthanc.run(
            pacs_retrieve_deidentified,
            accession_number=IDENTITY.accession,
            case_key="c",
            destination=tmp_path / "out",
            config=config(orthanc, password="wrong", work_dir=str(tmp_path)),
        )
    assert caught.value.code == "unauthorized"
    assert str(caught.value) == (
        "The PACS at http://127.0.0.1:8042 refused our credentials (HTTP 401). "
        "Check PACS_USERNAME and PACS_PASSWORD."
    )


def test_a_wrong_dicomweb_path_is_reported(orthanc, tmp_path):
    with pytest.raises(PacsError) as caught:
        orthanc.run(
            pacs_study_find,
            accession_number=IDENTITY.accession,
            config=replace(config(orthanc), url=orthanc.url + "/wado-rs"),
        )
    assert caught.value.code == "config"
    assert "Check the path in PACS_DICOMWEB_URL" in str(caught.value)


def test_logs_never_carry_the_accession_number(pacs, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "dicomweb_client", "anonymizer"):
        caplog.set_level(logging.DEBUG, logger=name)
    result = pacs.run(
        pacs_retrieve_deidentified,
        accession_number=OTHER.accession,
        case_key="c",
        destination=tmp_path / "out",
    )
    assert result.ok and len(result.files) == 2
    messages = [record.getMessage() for record in caplog.records]
    assert any("HTTP/1.1" in m for m in messages)  # urllib3 did log its requests
    assert any(result.reference in m for m in messages)  # ours names it by reference
    leaked = [m for m in messages if OTHER.accession in m or OTHER.patient_id in m]
    assert leaked == []
    assert [m for m in messages if ROOT in m] == []  # original UIDs identify the study too


# The command and the task ---------------------------------------------------------------------


def test_the_command_retrieves_a_study_read_from_standard_input(pacs, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(OTHER.accession + "\n"))
    out = io.StringIO()
    pacs.run(
        call_command,
        "pacs_retrieve",
        "-",
        str(tmp_path / "out"),
        case_key="c",
        report=str(tmp_path / "report.json"),
        stdout=out,
    )
    assert "Retrieved 2 of 2 images (1 series)" in out.getvalue()
    assert "2 kept" in out.getvalue()
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["retrieval"]["ok"] is True
    assert report["deidentification"]["summary"]["written"] == 2
    assert OTHER.accession not in (tmp_path / "report.json").read_text(encoding="utf-8")


def test_the_command_explains_a_failure_in_a_sentence(pacs, tmp_path):
    with pytest.raises(CommandError, match=r"^2 studies in the PACS carry this accession"):
        pacs.run(call_command, "pacs_retrieve", TWICE.accession, str(tmp_path / "o"), case_key="c")


# What the champion has to know about ----------------------------------------------------------


def test_images_that_need_a_look_at_their_pixels_are_listed(pacs, tmp_path):
    result = pacs.run(
        pacs_retrieve_deidentified,
        accession_number=CAPTURE,
        case_key="c",
        destination=tmp_path / "out",
    )
    assert result.ok
    assert result.needs_pixel_review == result.files
    assert result.summary().endswith("; 1 need a look at their pixels.")


def test_images_the_verifier_rejects_are_not_kept_and_the_command_fails(
    pacs, tmp_path, monkeypatch
):
    from anonymizer.engine import pipeline
    from anonymizer.engine.verify import Finding

    monkeypatch.setattr(pipeline, "verify_file", lambda *a, **k: [Finding("patient-name", "X")])
    with pytest.raises(CommandError, match="De-identification is not clean"):
        pacs.run(call_command, "pacs_retrieve", OTHER.accession, str(tmp_path / "o"), case_key="c")
    result = RetrievalResult.load(tmp_path / "o")
    assert result.complete and not result.ok and not result.verifier_passed
    assert result.files == []
    finding = {"kind": "patient-name", "where": "X"}
    assert [r["findings"] for r in result.rejected] == [[finding], [finding]]
    assert "2 not kept because the verifier found identifiers" in result.summary()


def test_images_that_vanish_after_the_listing_make_the_retrieval_incomplete(pacs, tmp_path):
    vanishing = replace(OTHER, accession="AC88001234")
    ids = pacs.upload(
        to_bytes(make_image(vanishing, study=8, series=s, instance=n))
        for s, n in [(1, 1), (2, 1), (2, 2)]
    )
    deleted = []

    def delete_the_last_image(ds):
        # While the first series arrives, someone deletes an image of the second.
        if not deleted:
            auth = (pacs.username, pacs.password)
            url = f"{pacs.url}/instances/{ids[2]}"
            deleted.append(requests.delete(url, auth=auth, timeout=10))

    # The command has no hook; the service's listing and count are the same.
    result = pacs.run(
        pacs_retrieve_deidentified,
        accession_number=vanishing.accession,
        case_key="c",
        destination=tmp_path / "out",
        on_original=delete_the_last_image,
    )
    assert deleted[0].ok
    assert (result.instances_expected, result.instances_retrieved) == (3, 2)
    assert not result.complete and not result.ok
    assert result.summary().startswith("Retrieved 2 of 3 images (2 series)")


def test_the_command_fails_when_images_are_missing(pacs, tmp_path, monkeypatch):
    listing = pacs.run(pacs_study_find, accession_number=OTHER.accession, config=config(pacs))
    bigger = replace(listing.series[0], instance_uids=listing.series[0].instance_uids | {"2.25.1"})
    monkeypatch.setattr(pacs_module, "_find", lambda *args: replace(listing, series=(bigger,)))
    with pytest.raises(CommandError, match=r"^Only 2 of the 3 images the PACS lists came back"):
        pacs.run(
            call_command,
            "pacs_retrieve",
            OTHER.accession,
            str(tmp_path / "out"),
            case_key="c",
            roster=str(roster_file(tmp_path)),
        )


def roster_file(tmp_path):
    path = tmp_path / "roster.txt"
    path.write_text("\n".join(IDENTITY.roster) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("failure", "code"),
    [(OSError(28, "No space left on device"), "storage"), (ValueError(OTHER.family), "protocol")],
)
def test_a_failure_midway_keeps_nothing(pacs, tmp_path, monkeypatch, failure, code):
    saved = []

    def save_as(ds, path, **kwargs):
        if saved:
            raise failure
        saved.append(path)
        original_save_as(ds, path, **kwargs)

    original_save_as = pydicom.dataset.Dataset.save_as
    monkeypatch.setattr(pydicom.dataset.Dataset, "save_as", save_as)
    with pytest.raises(PacsError) as caught:
        pacs.run(
            pacs_retrieve_deidentified,
            accession_number=OTHER.accession,
            case_key="c",
            destination=tmp_path / "out",
        )
    assert caught.value.code == code
    assert OTHER.family not in str(caught.value)
    assert len(saved) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert os.listdir(tmp_path / "work") == []


def test_a_destination_filled_meanwhile_is_left_alone(pacs, tmp_path):
    def someone_else_writes(ds):
        (tmp_path / "out").mkdir(exist_ok=True)
        (tmp_path / "out" / "theirs.dcm").write_bytes(b"")

    with pytest.raises(PacsError) as caught:
        pacs.run(
            pacs_retrieve_deidentified,
            accession_number=OTHER.accession,
            case_key="c",
            destination=tmp_path / "out",
            on_original=someone_else_writes,
        )
    assert caught.value.code == "destination"
    assert os.listdir(tmp_path / "out") == ["theirs.dcm"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "work"]
    assert os.listdir(tmp_path / "work") == []

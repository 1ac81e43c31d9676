"""PACS retrieval without a PACS: configuration, refusals and failures become clear messages.

The retrieval itself, against a real Orthanc, is in test_pacs_orthanc.py. Here the "PACS" is
nothing at all, a port that never answers, or a tiny HTTP server on loopback that answers
what a broken or hostile PACS might.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command
from pydicom.errors import InvalidDicomError

from anonymizer import pacs as pacs_module
from anonymizer.pacs import (
    RESULT_FILE,
    PacsConfig,
    PacsError,
    RetrievalResult,
    accession_reference,
    pacs_retrieve_deidentified,
    pacs_study_find,
)

ACCESSION = "AC40021977"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch):
    monkeypatch.setattr(pacs_module, "RETRY_WAIT_MS", 1)


@pytest.fixture
def pacs(settings, tmp_path):
    settings.PACS_DICOMWEB_URL = f"http://127.0.0.1:{free_port()}/dicom-web"
    settings.PACS_USERNAME = "peerlearning"
    settings.PACS_PASSWORD = "not-the-real-one"
    settings.PACS_TIMEOUT = 2
    settings.PACS_WORK_DIR = str(tmp_path / "work")
    (tmp_path / "work").mkdir()
    return settings


def retrieve(tmp_path, accession=ACCESSION, **kwargs):
    return pacs_retrieve_deidentified(
        accession_number=accession, case_key="case-1", destination=tmp_path / "out", **kwargs
    )


class StubPacs(BaseHTTPRequestHandler):
    """Answers a GET with the (status, content type, body) routed by its path, or `answer`."""

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        status, content_type, body = self.server.routes.get(path, self.server.answer)
        self.server.requests += 1
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # the request line holds the accession number


@pytest.fixture
def stub(pacs):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubPacs)
    server.answer, server.requests = (200, "application/dicom+json", b"[]"), 0
    server.routes = {}
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    pacs.PACS_DICOMWEB_URL = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    yield server
    server.shutdown()
    server.server_close()


# Off, and refusals before any request ---------------------------------------------------


def test_retrieval_is_off_without_a_dicomweb_url(settings, tmp_path):
    settings.PACS_DICOMWEB_URL = ""
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "off"
    assert "PACS retrieval is off" in str(caught.value)
    assert "PACS_DICOMWEB_URL" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_command_says_retrieval_is_off(settings, tmp_path):
    settings.PACS_DICOMWEB_URL = ""
    with pytest.raises(CommandError, match="PACS retrieval is off"):
        call_command("pacs_retrieve", ACCESSION, str(tmp_path / "out"), case_key="c")


@pytest.mark.parametrize(
    "accession",
    ["", "   ", "*", "AC4002*", "AC?0021977", "AC\\40021977", "AC1,AC2", "A" * 17, "AC40\n21977"],
)
def test_accession_numbers_the_pacs_would_read_as_patterns_are_refused(stub, tmp_path, accession):
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path, accession=accession)
    assert caught.value.code == "invalid"
    assert stub.requests == 0


def test_the_accession_number_is_stripped_before_the_search(stub):
    with pytest.raises(PacsError) as caught:
        pacs_study_find(accession_number=f"  {ACCESSION}\n")
    assert caught.value.code == "not-found"
    assert stub.requests == 1


def test_a_destination_that_already_holds_files_is_refused(stub, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "destination"
    assert (tmp_path / "out" / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert stub.requests == 0


def test_a_missing_work_folder_is_reported(stub, settings, tmp_path):
    settings.PACS_WORK_DIR = str(tmp_path / "nowhere")
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "storage"
    assert "PACS_WORK_DIR" in str(caught.value)
    assert stub.requests == 0
    assert not (tmp_path / "out").exists()


def test_a_missing_ca_bundle_is_reported(pacs, tmp_path):
    pacs.PACS_CA_BUNDLE = str(tmp_path / "missing-ca.pem")
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "config"
    assert "PACS_CA_BUNDLE" in str(caught.value)


def test_the_session_checks_certificates_with_the_sites_ca_bundle(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    session = PacsConfig(url="https://pacs.example.org/dicom-web", ca_bundle=str(bundle)).session()
    assert session.verify == str(bundle)
    assert session.trust_env is False
    assert PacsConfig(url="https://pacs.example.org", verify_tls=False).session().verify is False


# Failures of the PACS -----------------------------------------------------------------------


def test_an_unreachable_pacs_gives_a_clear_message_that_invites_a_retry(pacs, tmp_path):
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    error = caught.value
    assert error.code == "unreachable"
    assert error.temporary
    assert "cannot be reached" in str(error)
    assert pacs.PACS_DICOMWEB_URL.rsplit("/", 1)[0] in str(error)
    # No chained exception: a traceback would print the request URL with the number in it.
    assert error.__context__ is None and error.__cause__ is None
    assert os.listdir(tmp_path / "work") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_failed_attempt_is_logged_without_the_accession_number(pacs, tmp_path):
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: records.append(record.getMessage())
    # `retrying` does not propagate to the root logger: listen to it directly.
    loggers = [logging.getLogger(n) for n in ("retrying", "urllib3", "dicomweb_client")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with pytest.raises(PacsError):
            retrieve(tmp_path)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    assert any("Attempts: 1" in r for r in records)
    assert any("GET" in r and "?[query]" in r for r in records)
    assert [r for r in records if ACCESSION in r] == []


def test_a_pacs_that_never_answers_times_out_clearly(pacs, tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection (backlog) and never answers
        pacs.PACS_DICOMWEB_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web"
        pacs.PACS_TIMEOUT = 0.3
        with pytest.raises(PacsError) as caught:
            retrieve(tmp_path)
    assert caught.value.code == "timeout"
    assert "did not answer within 0.3 s" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code", "temporary", "words"),
    [
        (401, "unauthorized", False, "PACS_USERNAME and PACS_PASSWORD"),
        (403, "forbidden", False, "does not allow our account"),
        (404, "config", False, "Check the path in PACS_DICOMWEB_URL"),
        (500, "http", True, "HTTP 500). Try again later"),
        (400, "http", False, "HTTP 400)."),
    ],
)
def test_http_errors_become_sentences(stub, tmp_path, status, code, temporary, words):
    stub.answer = (status, "text/plain", f"error for {ACCESSION}".encode())
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert (caught.value.code, caught.value.temporary) == (code, temporary)
    assert words in str(caught.value)
    assert ACCESSION not in str(caught.value)


def test_a_busy_pacs_is_asked_twice_then_reported(stub, tmp_path):
    stub.answer = (503, "text/plain", b"busy")
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "http" and caught.value.temporary
    assert stub.requests == 2


def test_an_answer_that_is_not_dicomweb_is_reported(stub, tmp_path):
    stub.answer = (200, "application/dicom+json", b"<html>Sign in</html>")
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "protocol"
    assert "not valid DICOMweb" in str(caught.value)


def test_an_unknown_accession_number_is_not_found(stub, tmp_path):
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "not-found"
    assert "No study with this accession number" in str(caught.value)
    assert not caught.value.temporary


def test_a_study_that_only_loosely_matches_is_not_taken(stub, tmp_path):
    # A PACS doing fuzzy matching answers with another accession number: not ours.
    stub.answer = (
        200,
        "application/dicom+json",
        json.dumps(
            [
                {
                    "0020000D": {"vr": "UI", "Value": ["1.2.3.4"]},
                    "00080050": {"vr": "SH", "Value": [ACCESSION + "9"]},
                }
            ]
        ).encode(),
    )
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "not-found"


def dicom_json(*items: dict) -> tuple[int, str, bytes]:
    return 200, "application/dicom+json", json.dumps(list(items)).encode()


def attrs(**tags: str) -> dict:
    names = {"study": "0020000D", "series": "0020000E", "sop": "00080018", "acc": "00080050"}
    return {names[k]: {"vr": "UI", "Value": [v]} for k, v in tags.items()}


def test_an_archive_that_lists_images_only_below_a_series_is_understood(stub):
    study = "/dicom-web/studies/1.2.3"
    stub.routes = {
        "/dicom-web/studies": dicom_json(attrs(study="1.2.3", acc=ACCESSION)),
        f"{study}/series": dicom_json(attrs(series="1.2.3.1"), attrs(series="1.2.3.2")),
        # At study level this archive leaves out the series: asked again below each one.
        f"{study}/instances": dicom_json(attrs(sop="1.2.3.1.1")),
        f"{study}/series/1.2.3.1/instances": dicom_json(attrs(sop="1.2.3.1.1")),
        f"{study}/series/1.2.3.2/instances": dicom_json(attrs(sop="1.2.3.2.1"), {}),
    }
    listing = pacs_study_find(accession_number=ACCESSION)
    assert [sorted(s.instance_uids) for s in listing.series] == [["1.2.3.1.1"], ["1.2.3.2.1"]]
    assert listing.instances == 2


def test_a_pacs_that_ignores_paging_is_not_asked_forever(stub):
    # Every search answers the same page, whatever the offset.
    stub.answer = dicom_json(attrs(study="1.2.3", series="1.2.3.1", sop="1.2.3.1.1", acc=ACCESSION))
    listing = pacs_study_find(accession_number=ACCESSION)
    assert listing.instances == 1
    assert stub.requests == 5  # study; series twice; instances twice


def test_a_study_without_images_is_reported(stub, tmp_path):
    stub.routes = {"/dicom-web/studies": dicom_json(attrs(study="1.2.3", acc=ACCESSION))}
    with pytest.raises(PacsError) as caught:
        retrieve(tmp_path)
    assert caught.value.code == "empty"
    assert "no images" in str(caught.value)


@pytest.mark.parametrize(
    ("exc", "stage", "code", "temporary", "words"),
    [
        (
            requests.exceptions.SSLError("cert for ?AccessionNumber=X"),
            "search",
            "tls",
            False,
            "PACS_CA_BUNDLE",
        ),
        (requests.exceptions.ConnectTimeout(), "search", "unreachable", True, "within 2 s"),
        (requests.exceptions.ReadTimeout(), "retrieve", "timeout", True, "did not answer"),
        (requests.exceptions.ConnectionError(), "search", "unreachable", True, "cannot be reached"),
        (
            requests.exceptions.ChunkedEncodingError(),
            "retrieve",
            "unreachable",
            True,
            "failed (ChunkedEncodingError)",
        ),
        (
            requests.exceptions.JSONDecodeError("x", "y", 0),
            "search",
            "protocol",
            False,
            "not valid DICOMweb",
        ),
        (InvalidDicomError("no preamble"), "retrieve", "protocol", False, "not valid DICOMweb"),
    ],
)
def test_failures_become_sentences(exc, stage, code, temporary, words):
    config = PacsConfig(url="https://pacs.example.org:8443/dicom-web", timeout=2)
    error = pacs_module._translate(exc, config, stage=stage)
    assert (error.code, error.temporary) == (code, temporary)
    assert words in str(error)
    assert "AccessionNumber" not in str(error)
    assert "https://pacs.example.org:8443" in str(error) or code == "protocol"


def test_a_study_that_vanishes_during_retrieval_is_reported():
    response = requests.Response()
    response.status_code = 404
    error = pacs_module._translate(
        requests.exceptions.HTTPError(response=response), PacsConfig(url="http://p"), stage="x"
    )
    assert error.code == "not-found"
    assert "disappeared" in str(error)


def test_an_address_that_dicomweb_cannot_use_is_reported():
    with pytest.raises(PacsError) as caught:
        PacsConfig(url="pacs.example.org/dicom-web").client()
    assert caught.value.code == "config"


def test_messages_name_the_pacs_without_its_credentials():
    config = PacsConfig(url="https://reader:hunter2@pacs.example.org:8443/dicom-web?x=1")
    assert config.where == "https://pacs.example.org:8443"
    assert "hunter2" not in repr(PacsConfig(url="https://p", password="hunter2"))


class FakeClient:
    """Hands out the given datasets for every series, as dicomweb-client's iter_series."""

    def __init__(self, datasets):
        self.datasets = datasets

    def iter_series(self, study, series, media_types):
        assert media_types == (("application/dicom", "*"),)
        return iter(self.datasets)


def test_duplicates_and_strays_in_the_stream_are_not_counted_as_the_study(tmp_path):
    from anonymizer.pacs import SeriesListing, StudyListing, _download
    from anonymizer.tests.factories import make_image

    first, second, stray = make_image(instance=1), make_image(instance=2), make_image(study=9)
    listing = StudyListing(
        "1.2.3",
        (SeriesListing("1.2.3.1", "CT", 1, frozenset({first.SOPInstanceUID, "missing"})),),
    )
    retrieved, syntaxes = _download(
        FakeClient([first, first, stray, second]),
        PacsConfig(url="http://p"),
        listing,
        tmp_path,
        None,
    )
    assert retrieved == 1  # of the two listed; the duplicate counted once, strays not at all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000001.dcm", "000002.dcm", "000003.dcm"]
    assert syntaxes == {"1.2.840.10008.1.2.1": 3}


def test_originals_left_by_a_killed_worker_are_swept_by_the_next_retrieval(pacs, tmp_path):
    work = tmp_path / "work"
    orphan, recent = work / "pl-pacs-originals-dead", work / "pl-pacs-originals-live"
    for folder in (orphan, recent):
        folder.mkdir()
        (folder / "000001.dcm").write_bytes(b"PHI")
    old = time.time() - pacs_module.STALE_AFTER_SECONDS - 60
    os.utime(orphan, (old, old))
    with pytest.raises(PacsError):
        retrieve(tmp_path)  # unreachable; the sweep comes first
    assert sorted(p.name for p in work.iterdir()) == ["pl-pacs-originals-live"]


def test_the_log_filter_is_installed_once_and_survives_a_malformed_record():
    pacs_module.install_log_redaction()
    pacs_module.install_log_redaction()
    logger = logging.getLogger("urllib3.connectionpool")
    assert sum(isinstance(f, pacs_module.RedactRequests) for f in logger.filters) == 1
    # Too few arguments for the template: only the template is kept.
    args = ("/a?AccessionNumber=Z",)
    record = logging.LogRecord("x", logging.DEBUG, "f", 1, "GET %s %s", args, None)
    pacs_module.RedactRequests().filter(record)
    assert "AccessionNumber" not in record.getMessage()
    record = logging.LogRecord(
        "x", logging.DEBUG, "f", 1, "GET /studies/1.2.826.0.1.3680043 from 10.0.0.1", None, None
    )
    pacs_module.RedactRequests().filter(record)
    assert record.getMessage() == "GET /studies/[uid] from 10.0.0.1"


# The task -------------------------------------------------------------------------------------


def finished(destination: Path, accession: str = ACCESSION) -> RetrievalResult:
    result = RetrievalResult(
        reference=accession_reference(accession),
        destination=str(destination),
        files=["2.25.1/2.25.2.dcm"],
        series=1,
        instances_expected=1,
        instances_retrieved=1,
        deidentification={"written": 1, "verifier_findings": 0, "ok": True},
        rejected=[],
        needs_pixel_review=[],
        transfer_syntaxes={"1.2.840.10008.1.2.1": 1},
        retrieve_seconds=0.1,
        deidentify_seconds=0.1,
        finished_at="2026-01-01T00:00:00+00:00",
    )
    destination.mkdir(parents=True)
    (destination / RESULT_FILE).write_text(json.dumps(result.as_dict()), encoding="utf-8")
    return result


# Names and settings ---------------------------------------------------------------------------


def test_the_accession_reference_is_stable_and_reveals_nothing(settings):
    reference = accession_reference(ACCESSION)
    assert reference == accession_reference(f" {ACCESSION.lower()} ")
    assert ACCESSION not in reference and ACCESSION[2:] not in reference
    settings.ANONYMIZER_SECRET = "another installation"
    assert accession_reference(ACCESSION) != reference


def test_the_summary_counts_every_kind_of_outcome(tmp_path):
    result = finished(tmp_path / "out")
    result.deidentification = {"written": 7, "rejected": 1, "failed": 2, "skipped": 3}
    result.needs_pixel_review = ["a/b.dcm"]
    assert result.summary() == (
        "Retrieved 1 of 1 images (1 series) in 0.1 s; de-identified in 0.1 s: 7 kept, "
        "1 not kept because the verifier found identifiers, 2 could not be de-identified, "
        "3 skipped; 1 need a look at their pixels."
    )


def test_the_result_reads_back_from_its_folder(tmp_path):
    done = finished(tmp_path / "out")
    assert RetrievalResult.load(tmp_path / "out") == done
    assert RetrievalResult.load(tmp_path / "elsewhere") is None
    (tmp_path / "out" / RESULT_FILE).write_text("{}", encoding="utf-8")
    assert RetrievalResult.load(tmp_path / "out") is None
    partial = json.dumps({"format": pacs_module.RESULT_FORMAT, "files": []})
    (tmp_path / "out" / RESULT_FILE).write_text(partial, encoding="utf-8")
    assert RetrievalResult.load(tmp_path / "out") is None


def settings_error(**environ) -> str:
    """What loading the settings with these variables says (a fresh process each time)."""
    env = {**os.environ, "SECRET_KEY": "x" * 50, **environ}
    completed = subprocess.run(
        [sys.executable, "-c", "from peerlearning import settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    return completed.stderr


def test_the_settings_refuse_a_pacs_address_with_credentials_in_it():
    error = settings_error(PACS_DICOMWEB_URL="https://reader:hunter2@pacs.example.org/dicom-web")
    assert "must not carry credentials" in error


def test_the_settings_refuse_a_pacs_address_that_is_not_http():
    assert "http:// or https://" in settings_error(PACS_DICOMWEB_URL="dicom://pacs:104")

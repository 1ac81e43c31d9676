import zipfile

import pytest

from anonymizer.jobs import deidentification_job_process
from anonymizer.models import DeidentificationJob
from anonymizer.tests.factories import IDENTITY, make_image, to_bytes
from peerlearning.lib import queue
from tests.e2e.test_signin import sign_in

pytestmark = pytest.mark.e2e


def test_a_champion_uploads_dicom_watches_it_processed_and_downloads_the_zip(
    page, live_server, e2e_department, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # No worker picks the job up by itself: the test plays the worker, so the page is seen
    # waiting first and then, through its htmx polling, done.
    monkeypatch.setattr(queue, "_send", lambda name, args: None)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    files = []
    for n in (1, 2):
        path = tmp_path / f"IMG000{n}"
        path.write_bytes(to_bytes(make_image(IDENTITY, instance=n)))
        files.append(str(path))

    sign_in(page, live_server, e2e_department.champion.email)
    page.get_by_role("link", name="De-identify DICOM").click()
    page.wait_for_url("**/anonymizer/")
    page.get_by_label("DICOM files or a zip").set_input_files(files)
    page.get_by_label("Keep descriptions and comments, cleaned").check()
    page.get_by_role("button", name="Upload and de-identify").click()
    page.wait_for_url("**/anonymizer/*-*/")
    assert page.get_by_text("Waiting for a worker").is_visible()

    job = DeidentificationJob.objects.get()
    assert job.clean_descriptors and not job.clean_structured_content
    deidentification_job_process(job_id=job.pk)
    download_link = page.get_by_role("link", name="De-identified files (zip")
    download_link.wait_for()  # the next poll reloads the page with the summary
    assert page.get_by_text("2 files de-identified.").is_visible()
    with page.expect_download() as download:
        download_link.click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".dcm")]) == 2
    assert violations == []

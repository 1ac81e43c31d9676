"""The upload page: a champion uploads DICOM (files or a zip) and downloads it de-identified.

Refusals keep nothing, a job is its owner's alone, the originals are gone when the job ends,
files the verifier blocks never reach the zip, and results expire."""

import datetime
import io
import zipfile
from pathlib import Path

import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import anonymizer
from anonymizer.engine import pipeline
from anonymizer.engine.verify import Finding
from anonymizer.jobs import (
    REPORT_NAME,
    deidentification_job_process,
    deidentification_job_start,
    deidentification_jobs_stalled,
    deidentification_results_expire,
)
from anonymizer.models import DeidentificationJob
from anonymizer.tasks import resume_deidentification_jobs
from anonymizer.tests.factories import IDENTITY, make_image, to_bytes, zip_of
from anonymizer.uploads import UploadRefused
from peerlearning.celery import app as celery_app
from peerlearning.models import AuditEvent, Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db

PLANTED = [value.encode() for value in IDENTITY.planted()]


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PACS_WORK_DIR = str(tmp_path / "work")
    (tmp_path / "work").mkdir()
    return tmp_path


@pytest.fixture
def champion(department, media):
    # The factory's images name two of the hospital's staff: they are on the roster here.
    for name in IDENTITY.roster:
        first, last = name.removeprefix("Dr. ").split()
        make_member(department.neuro, Role.RADIOLOGIST, first_name=first, last_name=last)
    return department.champion


def dicom_files(count: int = 3) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"IMG{n:04d}", to_bytes(make_image(IDENTITY, instance=n)))
        for n in range(1, count + 1)
    ]


def upload(client, files, django_capture_on_commit_callbacks, case_key="teaching-1"):
    """Post the form; the queued task runs (eagerly) when the request's transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("anonymizer:jobs"), {"files": files, "case_key": case_key})


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def download(client, job) -> zipfile.ZipFile:
    response = client.get(reverse("anonymizer:job-download", args=[job.uuid]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_uploaded_files_come_back_de_identified_and_the_originals_are_deleted(
    client, champion, media, django_capture_on_commit_callbacks
):
    client.force_login(champion)
    response = upload(client, dicom_files(3), django_capture_on_commit_callbacks)

    job = DeidentificationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("anonymizer:job", args=[job.uuid])
    assert (job.status, job.files_total, job.files_done, job.files_written) == ("done", 3, 3, 3)
    assert job.owner == champion and job.case_key == "teaching-1"
    # The originals are gone from the storage and from the worker's working folder.
    assert job.staged == []
    kept = sorted(p.name for p in files_under(media / "media"))
    assert kept == sorted(["deidentified.zip", REPORT_NAME])
    assert files_under(media / "work") == []

    archive = download(client, job)
    images = [name for name in archive.namelist() if name.endswith(".dcm")]
    assert len(images) == 3 and REPORT_NAME in archive.namelist()
    for name in images:
        data = archive.read(name)
        assert [p for p in PLANTED if p in data] == []
        ds = pydicom.dcmread(io.BytesIO(data))
        assert ds.PatientIdentityRemoved == "YES"
        assert not ds.SOPInstanceUID.startswith("1.2.826.0.1.3680043.10.1450")
    report = archive.read(REPORT_NAME)
    assert b'"written": 3' in report and [p for p in PLANTED if p in report] == []
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.DOWNLOAD, object_id=str(job.pk), actor_id=champion.pk
    ).exists()

    page = client.get(reverse("anonymizer:job", args=[job.uuid])).content.decode()
    assert "3 files de-identified." in page and "Checked by the verifier" in page
    assert "Passed" not in page
    assert reverse("anonymizer:job-report", args=[job.uuid]) in page


def test_a_zip_of_an_export_is_read_and_its_folder_names_are_never_kept(
    client, champion, media, django_capture_on_commit_callbacks
):
    folder = f"{IDENTITY.family}_{IDENTITY.given}"
    export = zip_of(
        {
            f"{folder}/IMG0001": to_bytes(make_image(IDENTITY, instance=1)),
            f"{folder}/IMG0002": to_bytes(make_image(IDENTITY, instance=2)),
            "DICOMDIR": b"a directory of the files",
        },
        name=f"{folder}.zip",
    )
    client.force_login(champion)
    upload(client, [export], django_capture_on_commit_callbacks)

    job = DeidentificationJob.objects.get()
    assert (job.status, job.files_written, job.files_ignored) == ("done", 2, 1)
    archive = download(client, job)
    assert len([n for n in archive.namelist() if n.endswith(".dcm")]) == 2
    assert not any(IDENTITY.family in name for name in archive.namelist())
    for name in archive.namelist():
        assert [p for p in PLANTED if p in archive.read(name)] == []
    assert IDENTITY.family not in str(DeidentificationJob.objects.filter(pk=job.pk).values().get())


def test_non_dicom_files_are_refused_by_name_and_nothing_is_staged(client, champion, media):
    client.force_login(champion)
    response = client.post(
        reverse("anonymizer:jobs"),
        {
            "files": [
                *dicom_files(1),
                SimpleUploadedFile("screenshot.jpg", b"\xff\xd8\xff\xe0" + b"0" * 300),
                SimpleUploadedFile("notes.txt", b"Patient notes"),
            ],
            "case_key": "teaching-1",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was uploaded" in page and "Not DICOM: screenshot.jpg, notes.txt" in page
    assert not DeidentificationJob.objects.exists()
    assert files_under(media / "media") == []


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"../../etc/cron.d/evil": b"x"}, "a file path that leaves the zip&#x27;s folder"),
        ({"bomb": b"\x00" * (3 << 20)}, "a possible zip bomb"),
    ],
    ids=["path-traversal", "zip-bomb"],
)
def test_unsafe_zips_are_refused_and_nothing_is_staged(client, champion, media, entries, problem):
    client.force_login(champion)
    response = client.post(
        reverse("anonymizer:jobs"), {"files": [zip_of(entries)], "case_key": "teaching-1"}
    )
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not DeidentificationJob.objects.exists()
    assert files_under(media / "media") == [] and files_under(media / "work") == []


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(
    client, champion, media, settings
):
    settings.TEACHING_CASE_UPLOAD_MAX_MB = 1
    client.force_login(champion)
    big = SimpleUploadedFile("big", b"\x00" * (3 << 20))
    response = client.post(reverse("anonymizer:jobs"), {"files": [big], "case_key": "k"})
    assert response.status_code == 400
    assert "at most 1 MB can be uploaded at once" in response.content.decode()
    assert not DeidentificationJob.objects.exists()


def test_the_form_offers_a_random_case_key_and_refuses_an_unsafe_one(client, champion, media):
    client.force_login(champion)
    first = client.get(reverse("anonymizer:jobs")).context["form"]["case_key"].value()
    second = client.get(reverse("anonymizer:jobs")).context["form"]["case_key"].value()
    assert first.startswith("upload-") and first != second
    response = client.post(
        reverse("anonymizer:jobs"), {"files": dicom_files(1), "case_key": "../../etc"}
    )
    assert response.status_code == 400
    assert "Use letters, digits" in response.content.decode()
    assert not DeidentificationJob.objects.exists()


def test_a_job_is_its_owners_alone(client, champion, department, media):
    job = deidentification_job_start(files=dicom_files(1), case_key="cass-case", actor=champion)
    deidentification_job_process(job_id=job.pk)
    urls = [
        reverse(name, args=[job.uuid])
        for name in ("anonymizer:job", "anonymizer:job-download", "anonymizer:job-report")
    ]
    status = reverse("anonymizer:job-status", args=[job.uuid])
    # Another champion, and a site administrator, who may both use the page.
    for other in (department.body_champion, department.site_admin):
        client.force_login(other)
        for url in urls:
            assert client.get(url).status_code == 404, url
        assert client.get(status, HTTP_HX_REQUEST="true").status_code == 404
        assert job.case_key not in client.get(reverse("anonymizer:jobs")).content.decode()
    # People without the role are refused outright.
    client.force_login(department.radiologist)
    assert client.get(urls[1]).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DOWNLOAD).exists()
    client.force_login(champion)
    assert client.get(urls[1]).status_code == 200


def test_progress_is_shown_while_the_job_waits_and_runs_and_the_page_reloads_when_it_ends(
    client, champion, media
):
    job = deidentification_job_start(files=dicom_files(3), case_key="k", actor=champion)
    client.force_login(champion)
    url = reverse("anonymizer:job-status", args=[job.uuid])

    waiting = client.get(url, HTTP_HX_REQUEST="true")
    assert "Waiting for a worker" in waiting.content.decode()
    assert 'hx-trigger="every 1s"' in waiting.content.decode() and "HX-Refresh" not in waiting

    DeidentificationJob.objects.filter(pk=job.pk).update(status="running", files_done=2)
    running = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "2 of 3 files" in running and 'value="2"' in running
    DeidentificationJob.objects.filter(pk=job.pk).update(status="queued", files_done=0)

    deidentification_job_process(job_id=job.pk)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()
    assert "3 files de-identified" in done.content.decode()
    # Without htmx the fragment's address leads to the page.
    assert client.get(url)["Location"] == reverse("anonymizer:job", args=[job.uuid])


def test_progress_is_written_every_few_files_as_the_task_goes(champion, media, monkeypatch):
    job = deidentification_job_start(files=dicom_files(7), case_key="k", actor=champion)
    seen = []
    real = pipeline._count

    def watch(summary, result):
        seen.append(DeidentificationJob.objects.get(pk=job.pk).files_done)
        real(summary, result)

    monkeypatch.setattr(pipeline, "_count", watch)
    deidentification_job_process(job_id=job.pk)
    # Before each file: what the page could read then (written after files 5 and 7).
    assert seen == [0, 0, 0, 0, 0, 5, 5]
    assert DeidentificationJob.objects.get(pk=job.pk).files_done == 7


def test_a_file_the_verifier_blocks_is_left_out_of_the_zip_and_the_page_says_why(
    client, champion, media, monkeypatch
):
    real = pipeline.verify_file
    calls = []

    def leaky(data, *args, **kwargs):
        calls.append(1)
        findings = real(data, *args, **kwargs)
        return (
            [*findings, Finding("patient-name", "StudyDescription")]
            if len(calls) == 2
            else findings
        )

    monkeypatch.setattr(pipeline, "verify_file", leaky)
    job = deidentification_job_start(files=dicom_files(3), case_key="k", actor=champion)
    deidentification_job_process(job_id=job.pk)
    job.refresh_from_db()

    assert (job.status, job.files_written, job.files_blocked) == ("done", 2, 1)
    assert job.blocked == [
        {
            "file": 2,
            "status": "rejected",
            "reason": "the verifier found identifiers; not written",
            "kinds": ["patient-name"],
            "where": ["StudyDescription"],
        }
    ]
    client.force_login(champion)
    archive = download(client, job)
    assert len([n for n in archive.namelist() if n.endswith(".dcm")]) == 2
    page = client.get(reverse("anonymizer:job", args=[job.uuid])).content.decode()
    assert "1 held back because the verifier found identifiers" in page
    assert "File 2: patient-name in StudyDescription." in page


def test_a_job_that_fails_keeps_nothing_and_says_so(client, champion, media, monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("anonymizer.jobs.anonymize_directory", broken)
    job = deidentification_job_start(files=dicom_files(2), case_key="k", actor=champion)
    assert deidentification_job_process(job_id=job.pk) == "failed"
    assert deidentification_job_process(job_id=job.pk) == "not claimed"
    job.refresh_from_db()
    assert job.message.startswith("The files could not be processed (MemoryError)")
    assert files_under(media / "media") == [] and files_under(media / "work") == []
    client.force_login(champion)
    assert client.get(reverse("anonymizer:job-download", args=[job.uuid])).status_code == 404


def test_a_job_no_worker_took_is_resumed(champion, media):
    job = deidentification_job_start(files=dicom_files(1), case_key="k", actor=champion)
    assert deidentification_jobs_stalled() == []
    DeidentificationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    assert deidentification_jobs_stalled() == [job.pk]
    assert resume_deidentification_jobs.delay().get() == 1
    assert DeidentificationJob.objects.get(pk=job.pk).status == "done"


def test_the_cleanup_removes_results_older_than_the_setting(client, champion, media, settings):
    settings.ANONYMIZER_RESULTS_DAYS = 7
    old = deidentification_job_start(files=dicom_files(1), case_key="old", actor=champion)
    deidentification_job_process(job_id=old.pk)
    recent = deidentification_job_start(files=dicom_files(1), case_key="new", actor=champion)
    deidentification_job_process(job_id=recent.pk)
    DeidentificationJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - datetime.timedelta(days=8)
    )

    assert deidentification_results_expire() == 1
    assert deidentification_results_expire() == 0
    old.refresh_from_db()
    assert old.expired_at and old.result_zip == "" and old.report_json == ""
    remaining = files_under(media / "media")
    assert remaining and all(str(recent.uuid) in str(p) for p in remaining)
    client.force_login(champion)
    assert client.get(reverse("anonymizer:job-download", args=[old.uuid])).status_code == 404
    assert (
        "were removed on" in client.get(reverse("anonymizer:job", args=[old.uuid])).content.decode()
    )
    assert client.get(reverse("anonymizer:job-download", args=[recent.uuid])).status_code == 200


def test_the_periodic_jobs_name_real_tasks():
    for spec in anonymizer.PERIODIC_TASKS.values():
        assert spec["task"] in celery_app.tasks


def test_the_list_shows_only_ones_own_jobs_in_a_fixed_number_of_queries(
    client, champion, department, media
):
    deidentification_job_start(files=dicom_files(1), case_key="theirs", actor=department.site_admin)
    client.force_login(champion)
    client.get(reverse("anonymizer:jobs"))  # the session's first save
    counts = []
    for key in ("mine-1", "mine-2", "mine-3"):
        deidentification_job_start(files=dicom_files(1), case_key=key, actor=champion)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("anonymizer:jobs")).content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2] <= 8
    assert "mine-1" in page and "mine-3" in page and "theirs" not in page


def test_champions_and_site_admins_find_the_page_from_home(client, department):
    for person in (department.champion, department.site_admin):
        client.force_login(person)
        assert reverse("anonymizer:jobs") in client.get(reverse("home")).content.decode()
    client.force_login(department.radiologist)
    assert reverse("anonymizer:jobs") not in client.get(reverse("home")).content.decode()


def test_too_many_files_at_once_are_refused_with_a_hint_to_zip_them(
    client, champion, media, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client.force_login(champion)
    response = client.post(reverse("anonymizer:jobs"), {"files": dicom_files(3), "case_key": "k"})
    assert response.status_code == 400
    assert "More than 2 files at once: put them in a zip" in response.content.decode()
    assert not DeidentificationJob.objects.exists()


def test_a_zip_that_unpacks_to_more_than_it_declared_fails_the_job_and_keeps_nothing(
    champion, media, monkeypatch
):
    def lying(handles, limits=None):
        yield to_bytes(make_image(IDENTITY, instance=1))
        raise UploadRefused(["A file in the zip unpacks to more than the zip declares or allows."])

    monkeypatch.setattr("anonymizer.jobs.iter_payloads", lying)
    job = deidentification_job_start(files=dicom_files(1), case_key="k", actor=champion)
    assert deidentification_job_process(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.message.startswith("A file in the zip unpacks to more than")
    assert files_under(media / "media") == [] and files_under(media / "work") == []


def test_an_upload_is_kept_waiting_when_the_broker_is_down(
    champion, media, monkeypatch, django_capture_on_commit_callbacks
):
    def down(job_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr("anonymizer.tasks.deidentification_job_run.delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        job = deidentification_job_start(files=dicom_files(1), case_key="k", actor=champion)
    job.refresh_from_db()
    # The periodic resume picks it up (test_a_job_no_worker_took_is_resumed).
    assert job.status == "queued" and len(job.staged) == 1


def test_the_cleanup_deletes_the_originals_of_a_job_no_worker_ever_finished(champion, media):
    job = deidentification_job_start(files=dicom_files(2), case_key="k", actor=champion)
    assert len(files_under(media / "media")) == 2
    DeidentificationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )
    assert deidentification_results_expire() == 1
    job.refresh_from_db()
    assert (job.status, job.message, job.staged) == ("failed", "No worker processed it.", [])
    assert files_under(media / "media") == []


@pytest.mark.parametrize("keep", [False, True])
def test_descriptions_are_removed_unless_the_champion_keeps_them_cleaned_for_this_upload(
    client, champion, media, django_capture_on_commit_callbacks, keep
):
    client.force_login(champion)
    form = {"files": dicom_files(1), "case_key": "teaching-options"}
    if keep:
        form.update(clean_descriptors="on", clean_structured_content="on")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("anonymizer:jobs"), form)
    job = DeidentificationJob.objects.get(case_key="teaching-options")
    assert (job.clean_descriptors, job.clean_structured_content) == (keep, keep)
    with download(client, job) as archive:
        ds = pydicom.dcmread(io.BytesIO(archive.read(archive.namelist()[0])))
    assert ("StudyDescription" in ds) is keep
    assert (ds.ContentSequence[0].TextValue == "ANONYMIZED") is not keep
    assert [p for p in PLANTED if p in archive_bytes(ds)] == []


def archive_bytes(ds) -> bytes:
    return to_bytes(ds)

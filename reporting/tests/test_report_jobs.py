"""Generated reports: asked for, claimed once, run with progress, stored with a checksum,
picked up again when the broker or a worker failed, and visible only to the right leaders."""

import datetime
import hashlib
import zipfile
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.http import Http404
from django.utils import timezone

from peerlearning.lib import queue
from peerlearning.models import AuditEvent, Membership, Role, Section
from peerlearning.testing import make_member
from reporting.reports import jobs as report_jobs
from reporting.reports.jobs import (
    ReportFileDamaged,
    acr_request,
    oppe_batch_request,
    report_file_open,
    report_get_for_user,
    report_run,
    reports_requeue_waiting,
    reports_visible_to,
)
from reporting.reports.models import GeneratedReport

pytestmark = pytest.mark.django_db

YEAR = (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


def ask(department, *, sections=None, fmt="pdf", actor=None):
    sections = sections or [department.neuro]
    return acr_request(
        sections=sections,
        department=len(sections) > 1,
        start=YEAR[0],
        end=YEAR[1],
        file_format=fmt,
        actor=actor or department.leader,
    )


def test_asking_queues_the_job_after_commit_and_the_worker_stores_the_file(
    department, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(queue, "_send", lambda name, args: queued.append(args[0]))

    with django_capture_on_commit_callbacks(execute=True):
        report = ask(department)

    assert queued == [report.pk]
    assert report.status == GeneratedReport.Status.PENDING
    assert report_run(report_id=report.pk) is True
    report.refresh_from_db()
    assert report.status == GeneratedReport.Status.DONE
    assert (report.progress, report.progress_text) == (100, "Ready")
    assert report.file_name == "acr-annual-report-neuroradiology-2026.pdf"
    with default_storage.open(report.file.name, "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF")
    assert report.checksum == hashlib.sha256(content).hexdigest()
    assert report.file_size == len(content)
    assert report.started_at <= report.finished_at
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CREATE, object_id=str(report.pk)
    ).exists()


def test_a_second_delivery_of_the_task_does_nothing(department):
    report = ask(department, fmt="xlsx")

    assert report_run(report_id=report.pk) is True
    first = GeneratedReport.objects.get(pk=report.pk)
    assert report_run(report_id=report.pk) is False

    again = GeneratedReport.objects.get(pk=report.pk)
    assert (again.file.name, again.checksum, again.attempts) == (
        first.file.name,
        first.checksum,
        1,
    )


def test_a_job_whose_worker_died_is_claimed_again_once_stale(department):
    report = ask(department, fmt="csv")
    GeneratedReport.objects.filter(pk=report.pk).update(
        status=GeneratedReport.Status.RUNNING, started_at=timezone.now(), attempts=1
    )
    assert report_run(report_id=report.pk) is False  # still running elsewhere

    GeneratedReport.objects.filter(pk=report.pk).update(
        started_at=timezone.now() - report_jobs.STALE_AFTER - datetime.timedelta(minutes=1)
    )
    assert report_run(report_id=report.pk) is True

    report.refresh_from_db()
    assert (report.status, report.attempts) == (GeneratedReport.Status.DONE, 2)
    with zipfile.ZipFile(BytesIO(default_storage.open(report.file.name).read())) as archive:
        assert "04-radiologists.csv" in archive.namelist()


def test_the_periodic_pick_up_queues_waiting_jobs_and_gives_up_on_hopeless_ones(
    department, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(queue, "_send", lambda name, args: queued.append(args[0]))
    now = timezone.now()
    fresh = ask(department)
    waiting = ask(department)
    hopeless = ask(department)
    GeneratedReport.objects.filter(pk=waiting.pk).update(
        created_at=now - datetime.timedelta(minutes=10)
    )
    GeneratedReport.objects.filter(pk=hopeless.pk).update(
        status=GeneratedReport.Status.RUNNING,
        attempts=report_jobs.MAX_ATTEMPTS,
        started_at=now - report_jobs.STALE_AFTER - datetime.timedelta(minutes=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert reports_requeue_waiting(now=now) == 1

    assert queued == [waiting.pk]
    assert GeneratedReport.objects.get(pk=fresh.pk).status == GeneratedReport.Status.PENDING
    hopeless.refresh_from_db()
    assert hopeless.status == GeneratedReport.Status.FAILED
    assert "Try again" in hopeless.error


def test_a_failure_is_recorded_with_a_plain_message(department, monkeypatch):
    def broken(report, progress):
        progress(20, "Halfway")
        raise RuntimeError("details that stay in the log")

    monkeypatch.setitem(report_jobs.GENERATORS, GeneratedReport.Kind.ACR_ANNUAL, broken)
    report = ask(department)

    assert report_run(report_id=report.pk) is False

    report.refresh_from_db()
    assert report.status == GeneratedReport.Status.FAILED
    assert report.error.startswith("The report could not be generated (RuntimeError)")
    assert "details" not in report.error
    assert report.progress == 20 and not report.file


def test_progress_is_written_as_the_job_runs(department, monkeypatch):
    seen = []

    def slow(report, progress):
        for percent in (10, 40, 70):
            progress(percent, f"Step {percent}")
            seen.append(GeneratedReport.objects.values_list("progress", "progress_text").get())
        return b"content", "report.pdf"

    monkeypatch.setitem(report_jobs.GENERATORS, GeneratedReport.Kind.ACR_ANNUAL, slow)
    report_run(report_id=ask(department).pk)

    assert seen == [(10, "Step 10"), (40, "Step 40"), (70, "Step 70")]


def test_the_oppe_batch_is_a_zip_of_the_sections_radiologists(department):
    report = oppe_batch_request(
        sections=[department.neuro],
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 6, 30),
        actor=department.leader,
    )

    assert report_run(report_id=report.pk)

    report.refresh_from_db()
    with zipfile.ZipFile(report_file_open(report=report)) as archive:
        pdfs = [n for n in archive.namelist() if n.endswith(".pdf")]
    # The neuro radiologists: the radiologist, the reader and the champion; not body's.
    assert len(pdfs) == 3
    assert not any("bodychamp" in name for name in pdfs)


def test_a_file_changed_on_disk_is_refused(department):
    report = ask(department, fmt="xlsx")
    report_run(report_id=report.pk)
    report.refresh_from_db()
    with default_storage.open(report.file.name, "wb") as handle:
        handle.write(b"tampered")

    with pytest.raises(ReportFileDamaged):
        report_file_open(report=report)


def test_a_report_is_visible_to_leaders_of_every_section_it_covers(department):
    neuro_only = ask(department)
    both = ask(department, sections=[department.neuro, department.body])
    body_leader = make_member(department.body, Role.LEADER, first_name="Bo", last_name="Dy")
    both_leader = make_member(department.neuro, Role.LEADER, first_name="Al", last_name="Both")
    Membership.objects.create(
        user=both_leader, section=department.body, role=Role.LEADER, started_on=YEAR[0]
    )

    assert set(reports_visible_to(user=department.leader)) == {neuro_only}
    assert set(reports_visible_to(user=body_leader)) == set()
    assert set(reports_visible_to(user=both_leader)) == {neuro_only, both}
    assert set(reports_visible_to(user=department.site_admin)) == {neuro_only, both}
    for outsider in (department.champion, department.radiologist, department.outsider):
        assert not reports_visible_to(user=outsider).exists()
        with pytest.raises(Http404):
            report_get_for_user(user=outsider, pk=neuro_only.pk)


def test_a_leader_who_leaves_the_role_loses_the_reports_they_generated(department):
    report = ask(department)
    department.leader.memberships.filter(role=Role.LEADER).update(
        ended_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    department.leader._pl_roles = None

    with pytest.raises(Http404):
        report_get_for_user(user=department.leader, pk=report.pk)


def test_a_department_report_needs_the_leader_of_every_active_section(department):
    sections = list(Section.objects.filter(is_active=True))
    report = ask(department, sections=sections)

    assert not reports_visible_to(user=department.leader).filter(pk=report.pk).exists()

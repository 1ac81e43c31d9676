"""The upload page's jobs: stage checked DICOM, de-identify it in a task, keep the results.

The request only inspects the upload (anonymizer/uploads.py) and stages it under names of
its own; the task expands it into a private working folder, runs `anonymize_directory`,
and stores a zip of the written files and the JSON report. Files the verifier blocked are
not written, so never in the zip; the job lists them by number and kind. The staged
originals are deleted when the job ends, whatever the outcome; the results expire.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from anonymizer.engine.pipeline import DirectorySummary, FileResult, anonymize_directory
from anonymizer.engine.profile import Options
from anonymizer.models import DeidentificationJob
from anonymizer.services import anonymizer_secret
from anonymizer.uploads import Limits, UploadRefused, inspect, iter_payloads
from peerlearning.lib.audit import audit_record
from peerlearning.lib.queue import task_enqueue
from peerlearning.models import AuditEvent, User
from peerlearning.roster import roster_names

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=10)
PROGRESS_EVERY = 5  # files between two progress writes
REPORT_NAME = "deidentification-report.json"
MAX_WHERE = 10  # places listed per blocked file


def new_case_key() -> str:
    """A random case key: UIDs and dates of this upload cannot be linked to any other."""
    return f"upload-{secrets.token_hex(8)}"


def _job_dir(job: DeidentificationJob) -> str:
    return f"anonymizer/jobs/{job.uuid}"


@transaction.atomic
def deidentification_job_start(
    *,
    files: list,
    case_key: str,
    actor: User,
    clean_descriptors: bool = False,
    clean_structured_content: bool = False,
    limits: Limits | None = None,
) -> DeidentificationJob:
    """Check the files, stage them, and queue their de-identification. Raises `UploadRefused`."""
    found = inspect(files, limits)
    job = DeidentificationJob.objects.create(
        owner=actor,
        case_key=case_key or new_case_key(),
        clean_descriptors=clean_descriptors,
        clean_structured_content=clean_structured_content,
        files_total=found.dicom_files,
        files_ignored=found.skipped,
    )
    staged = []
    for number, handle in enumerate(files):
        handle.seek(0)
        # Never the uploaded name: folder and file names of PACS exports can name the patient.
        staged.append(default_storage.save(f"{_job_dir(job)}/staged/{number:04d}", handle))
    job.staged = staged
    job.save(update_fields=["staged"])
    audit_record(
        action=AuditEvent.Action.IMPORT,
        actor=actor,
        obj=job,
        detail={"what": "dicom for de-identification", "files": found.dicom_files},
    )
    job_id = job.pk
    task_enqueue("anonymizer.tasks.deidentification_job_run", job_id)
    return job


class _Progress:
    """Collects the files left out of the zip and writes the count done every few files."""

    def __init__(self, job: DeidentificationJob) -> None:
        self.job = job
        self.problems: list[dict] = []

    def __call__(self, result: FileResult, summary: DirectorySummary) -> None:
        if result.status != "written":
            self.problems.append(_problem(result))
        done = summary.written + summary.skipped + summary.rejected + summary.failed
        if done % PROGRESS_EVERY == 0 or done == summary.files:
            DeidentificationJob.objects.filter(pk=self.job.pk).update(
                files_done=done, claimed_until=timezone.now() + LEASE
            )


def _problem(result: FileResult) -> dict:
    problem = {"file": result.index + 1, "status": result.status, "reason": result.reason}
    if result.findings:
        problem["kinds"] = sorted({f.kind for f in result.findings})
        problem["where"] = sorted({f.where for f in result.findings})[:MAX_WHERE]
    return problem


def deidentification_job_process(*, job_id: int) -> str:
    """De-identify a job's staged files into a zip and a report. Safe to run twice."""
    now = timezone.now()
    claimed = (
        DeidentificationJob.objects.filter(pk=job_id)
        .filter(
            Q(status=DeidentificationJob.Status.QUEUED)
            | Q(status=DeidentificationJob.Status.RUNNING, claimed_until__lt=now)
        )
        .update(status=DeidentificationJob.Status.RUNNING, claimed_until=now + LEASE, files_done=0)
    )
    if not claimed:
        return "not claimed"
    job = DeidentificationJob.objects.get(pk=job_id)
    work = Path(tempfile.mkdtemp(prefix="deid-", dir=settings.PACS_WORK_DIR or None))
    progress = _Progress(job)
    try:
        source = work / "in"
        total = _expand(job, source)
        DeidentificationJob.objects.filter(pk=job.pk).update(files_total=total)
        job.files_total = total
        summary = anonymize_directory(
            source,
            work / "out",
            case_key=job.case_key,
            secret=anonymizer_secret(),
            report_path=work / REPORT_NAME,
            options=Options(
                roster=tuple(roster_names()),
                clean_descriptors=job.clean_descriptors,
                clean_structured_content=job.clean_structured_content,
            ),
            progress=progress,
        )
        _store_results(job, work)
    except UploadRefused as refusal:
        _finish(job, DeidentificationJob.Status.FAILED, refusal.problems[0])
    except Exception as exc:
        # The type only: a message may quote a header value.
        log.warning("De-identification job %s failed: %s", job.uuid, type(exc).__name__)
        _delete_results(job)
        _finish(
            job,
            DeidentificationJob.Status.FAILED,
            f"The files could not be processed ({type(exc).__name__}). Nothing from them is kept.",
        )
    else:
        _record_counts(job, summary, progress.problems)
        _finish(job, DeidentificationJob.Status.DONE, _summary_message(job))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return job.status


def _expand(job: DeidentificationJob, source: Path) -> int:
    """Write every staged file (zips expanded, under the limits) as a numbered file."""
    source.mkdir()
    handles = [default_storage.open(name, "rb") for name in job.staged]
    count = 0
    try:
        for count, data in enumerate(iter_payloads(handles), start=1):
            (source / f"{count:05d}").write_bytes(data)
    finally:
        for handle in handles:
            handle.close()
    return count


def _store_results(job: DeidentificationJob, work: Path) -> None:
    _delete_results(job)  # a second run replaces the first one's
    report = work / REPORT_NAME
    archive = work / "deidentified.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for path in sorted((work / "out").rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(work / "out").as_posix())
        out.write(report, REPORT_NAME)
    with archive.open("rb") as handle:
        job.result_zip = default_storage.save(f"{_job_dir(job)}/deidentified.zip", File(handle))
    with report.open("rb") as handle:
        job.report_json = default_storage.save(f"{_job_dir(job)}/{REPORT_NAME}", File(handle))
    job.result_bytes = archive.stat().st_size
    job.save(update_fields=["result_zip", "report_json", "result_bytes"])


def _record_counts(job: DeidentificationJob, summary: DirectorySummary, problems: list) -> None:
    not_dicom = sum(1 for p in problems if p["reason"] == "not a DICOM file")
    job.files_done = summary.files
    job.files_written = summary.written
    job.files_not_dicom = not_dicom
    job.files_skipped = summary.skipped - not_dicom
    job.files_blocked = summary.rejected
    job.files_failed = summary.failed
    job.needs_pixel_review = summary.needs_pixel_review
    job.problems = problems
    job.save(
        update_fields=[
            "files_done",
            "files_written",
            "files_not_dicom",
            "files_skipped",
            "files_blocked",
            "files_failed",
            "needs_pixel_review",
            "problems",
        ]
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary_message(job: DeidentificationJob) -> str:
    parts = [f"{_plural(job.files_written, 'file')} de-identified"]
    if job.files_blocked:
        parts.append(f"{job.files_blocked} held back because the verifier found identifiers")
    if job.files_failed:
        parts.append(f"{job.files_failed} could not be de-identified")
    if job.files_skipped:
        parts.append(f"{job.files_skipped} skipped (duplicates or a DICOMDIR)")
    if job.files_not_dicom:
        parts.append(f"{job.files_not_dicom} not DICOM")
    return "; ".join(parts) + "."


def _finish(job: DeidentificationJob, status: str, message: str) -> None:
    _delete_staged(job)
    job.status, job.message, job.finished_at = status, message[:300], timezone.now()
    job.claimed_until = None
    job.save(update_fields=["status", "message", "finished_at", "claimed_until", "staged"])


def _delete_staged(job: DeidentificationJob) -> None:
    for name in job.staged:
        default_storage.delete(name)
    job.staged = []
    _remove_empty_dir(f"{_job_dir(job)}/staged")


def _delete_results(job: DeidentificationJob) -> None:
    for name in (job.result_zip, job.report_json):
        if name:
            default_storage.delete(name)
    job.result_zip, job.report_json, job.result_bytes = "", "", 0


def _remove_empty_dir(name: str) -> None:
    # Not a local storage, already gone, or not empty: nothing to do.
    with contextlib.suppress(NotImplementedError, OSError):
        Path(default_storage.path(name)).rmdir()


# Downloads ---------------------------------------------------------------------------------


def deidentification_job_downloaded(
    *, job: DeidentificationJob, what: str, request: HttpRequest
) -> None:
    """Record a download of a job's results in the audit trail."""
    audit_record(
        action=AuditEvent.Action.DOWNLOAD,
        obj=job,
        request=request,
        detail={"what": what, "files": job.files_written},
    )


# Periodic ----------------------------------------------------------------------------------


def deidentification_jobs_stalled() -> list[int]:
    """Jobs no worker is on: queued for a while (broker down), or running with a lost lease."""
    now = timezone.now()
    return list(
        DeidentificationJob.objects.filter(
            Q(
                status=DeidentificationJob.Status.QUEUED,
                created_at__lt=now - datetime.timedelta(minutes=2),
            )
            | Q(status=DeidentificationJob.Status.RUNNING, claimed_until__lt=now)
        ).values_list("pk", flat=True)
    )


def deidentification_results_expire(*, now: datetime.datetime | None = None) -> int:
    """Remove the files of jobs older than `ANONYMIZER_RESULTS_DAYS`; returns how many jobs."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.ANONYMIZER_RESULTS_DAYS)
    # A job never finished by then (its worker and every resume failed) goes too: its
    # staged originals must not stay.
    old = DeidentificationJob.objects.filter(expired_at=None).filter(
        Q(finished_at__lt=cutoff) | Q(finished_at=None, created_at__lt=cutoff)
    )
    count = 0
    for job in old:
        _delete_results(job)
        _delete_staged(job)
        _remove_empty_dir(_job_dir(job))
        if job.running:
            job.status, job.message = DeidentificationJob.Status.FAILED, "No worker processed it."
            job.finished_at = now
        job.expired_at = now
        job.save(
            update_fields=[
                "result_zip",
                "report_json",
                "result_bytes",
                "staged",
                "status",
                "message",
                "finished_at",
                "expired_at",
            ]
        )
        count += 1
    return count

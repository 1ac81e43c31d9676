"""De-identification jobs of the upload page: one batch of DICOM a champion uploaded."""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class DeidentificationJob(models.Model):
    """Uploaded DICOM de-identified by a Celery task into a zip and a JSON report.

    The staged originals (PHI) exist only until the task has read them; the results are
    removed after `ANONYMIZER_RESULTS_DAYS`. File names of the upload are never stored:
    files are referred to by their number in the upload.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deidentification_jobs"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    claimed_until = models.DateTimeField(null=True, blank=True)
    case_key = models.CharField(max_length=64)
    # Off as in the Basic profile (the text is removed); a champion turns them on per upload.
    clean_descriptors = models.BooleanField(default=False)
    clean_structured_content = models.BooleanField(default=False)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    files_written = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0)
    files_not_dicom = models.PositiveIntegerField(default=0)
    files_blocked = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    needs_pixel_review = models.PositiveIntegerField(default=0)
    # System files of the upload (DICOMDIR, .DS_Store, ...) left out before processing.
    files_ignored = models.PositiveIntegerField(default=0)
    # [{"file": n, "status": ..., "reason": ..., "kinds": [...], "where": [...]}]: every file
    # not in the zip, by number and kind, never by name or value.
    problems = models.JSONField(default=list, blank=True)
    # Storage names (default storage): the staged originals, deleted when the job ends;
    # the results, deleted when they expire.
    staged = models.JSONField(default=list, blank=True)
    result_zip = models.CharField(max_length=200, blank=True)
    report_json = models.CharField(max_length=200, blank=True)
    result_bytes = models.PositiveBigIntegerField(default=0)
    expired_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"De-identification {self.uuid} ({self.get_status_display()})"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        return round(100 * self.files_done / self.files_total) if self.files_total else 0

    @property
    def downloadable(self) -> bool:
        return self.status == self.Status.DONE and bool(self.result_zip) and not self.expired_at

    @property
    def verifier_passed(self) -> bool:
        """Every written file passed the verifier and none was held back by it."""
        return self.files_blocked == 0 and self.files_failed == 0

    @property
    def expires_at(self):
        if self.finished_at is None:
            return None
        return self.finished_at + datetime.timedelta(days=settings.ANONYMIZER_RESULTS_DAYS)

    @property
    def blocked(self) -> list[dict]:
        return [p for p in self.problems if p.get("status") == "rejected"]

    @property
    def left_out(self) -> list[dict]:
        return [p for p in self.problems if p.get("status") != "rejected"]


class TextRelease(models.Model):
    """A champion's word that one flagged span of one text is not PHI.

    The span is known by a keyed digest of its words within that text's field, never by
    the words themselves, so the table holds nothing identifying. The same words flagged
    again in the same field stay released; other words, or the same words in another
    field, need their own decision.
    """

    field_key = models.CharField(max_length=200, db_index=True)  # "conferences.conference:12:title"
    span_digest = models.CharField(max_length=64)
    kind = models.CharField(max_length=10)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["field_key", "span_digest"], name="text_release_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} released in {self.field_key}"

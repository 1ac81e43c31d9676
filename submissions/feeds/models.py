"""What the results feed keeps: each message as received, and the suggestions it produced."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ResultMessage(models.Model):
    """One result message as the reporting system sent it: PHI-bearing, kept for a few days."""

    class Source(models.TextChoices):
        HL7 = "hl7", "HL7 v2 (MLLP)"
        FHIR = "fhir", "FHIR DiagnosticReport"

    class Status(models.TextChoices):
        PRELIMINARY = "P", "Preliminary"
        FINAL = "F", "Final"
        CORRECTED = "C", "Corrected (addendum)"

    source = models.CharField(max_length=4, choices=Source.choices)
    # Who sent it and its control id (MSH-3, MSH-4, MSH-10): a resend is the same triple.
    sender = models.CharField(max_length=200, blank=True)
    control_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)
    message_time = models.DateTimeField(null=True, blank=True)
    raw = models.TextField()

    accession_number = models.CharField(max_length=32)
    result_status = models.CharField(max_length=1, choices=Status.choices)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    signer_label = models.CharField(max_length=200, blank=True)
    impression = models.TextField(blank=True)

    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "sender", "control_id"], name="result_message_once"
            ),
        ]
        indexes = [
            models.Index(fields=["accession_number", "received_at"], name="result_accession"),
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="result_unprocessed",
            ),
        ]

    def __str__(self):
        return f"{self.get_source_display()} result {self.control_id}"


class Suggestion(models.Model):
    """A case the feed thinks may be worth sharing, shown only to the radiologist it names."""

    class Kind(models.TextChoices):
        PRELIMINARY_CHANGED = "prelim_changed", "The final impression differs from the preliminary"
        ADDENDUM_TO_OTHER = "addendum", "You added an addendum to a colleague's report"

    radiologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suggestions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    accession_number = models.CharField(max_length=32)
    original_reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    earlier_impression = models.TextField(blank=True)
    later_impression = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    submission = models.ForeignKey(
        "submissions.Submission",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["radiologist", "accession_number"], name="suggestion_once_per_case"
            ),
        ]

    def __str__(self):
        return f"Suggestion #{self.pk}"

    @property
    def created_on(self):
        return timezone.localdate(self.created_at)

    @property
    def is_open(self) -> bool:
        return self.dismissed_at is None and self.submission_id is None

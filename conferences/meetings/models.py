"""Conferences, the section's rules for them, and the improvement actions that come out of them.

A conference belongs to one section. Who attended is in `conferences/attendance/models.py`;
its agenda of teaching cases, the cases and the audience's votes are in
`conferences/cases/models.py`. Who may see which rows is decided in each package's
selectors.
"""

import datetime
import math
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from peerlearning.lib.text import validate_single_line
from peerlearning.models import Section

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read off a projector is typed right the first time.
CHECK_IN_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CHECK_IN_LENGTH = 6
CHECK_IN_OPENS_BEFORE = datetime.timedelta(minutes=15)


def new_check_in_code() -> str:
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_LENGTH))


class ConferenceSettings(models.Model):
    """A section's rules for crediting attendance (one row per section, made on first use)."""

    section = models.OneToOneField(
        Section, on_delete=models.CASCADE, related_name="conference_settings"
    )
    credit_minimum_minutes = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="Minutes present that earn credit for a conference.",
    )
    credit_minimum_percent = models.PositiveIntegerField(
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="…or this share of a shorter conference's scheduled length, whichever is less.",
    )
    recording_credit_allowed = models.BooleanField(
        default=False,
        help_text="A radiologist who missed a conference may attest to watching the recording.",
    )
    recording_window_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days after a conference during which the recording may be attested.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "conference settings"
        verbose_name_plural = "conference settings"

    def __str__(self):
        return f"Conference settings · {self.section}"

    def credit_threshold(self, scheduled_minutes: int) -> int:
        """Minutes present needed for credit at a conference of this length."""
        share = math.ceil(scheduled_minutes * self.credit_minimum_percent / 100)
        return max(1, min(self.credit_minimum_minutes, share))


class Conference(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="conferences")
    # One line: the title goes into e-mail subjects.
    title = models.CharField(max_length=200, validators=[validate_single_line])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField("place", max_length=200, blank=True)
    virtual_url = models.URLField("virtual meeting link", max_length=500, blank=True)
    recording_url = models.URLField("recording link", max_length=500, blank=True)
    cme_hours = models.DecimalField(
        "CME credit hours",
        max_digits=4,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("24"))],
    )
    presenters = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="conferences_presented"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    learning_points = models.TextField(
        "minutes and learning points",
        blank=True,
        help_text="What the group learned. No patient identifiers.",
    )
    check_in_code = models.CharField(max_length=CHECK_IN_LENGTH, unique=True)
    # Bumped when the time or place changes, so calendars replace the event (RFC 5545).
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="conference_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["section", "starts_at"])]

    def __str__(self):
        return f"{self.title} ({timezone.localtime(self.starts_at):%Y-%m-%d})"

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The conference must end after it starts."})
        if (
            self.starts_at
            and self.ends_at
            and self.ends_at - self.starts_at > datetime.timedelta(hours=12)
        ):
            raise ValidationError({"ends_at": "A conference lasts at most 12 hours."})

    @property
    def duration_minutes(self) -> int:
        return round((self.ends_at - self.starts_at).total_seconds() / 60)

    @property
    def ical_uid(self) -> str:
        return f"conference-{self.pk}@{settings.SITE_URL.split('://', 1)[-1].split('/')[0]}"

    def check_in_open(self, at: datetime.datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.status != self.Status.CANCELLED
            and self.starts_at - CHECK_IN_OPENS_BEFORE <= at <= self.ends_at
        )


class ImprovementAction(models.Model):
    """A change the program decided to make: a protocol, a template, a conversation."""

    class Category(models.TextChoices):
        PROTOCOL = "protocol", "Protocol change"
        REPORT_TEMPLATE = "report_template", "Report template"
        COMMUNICATION = "communication", "Communication"
        EQUIPMENT = "equipment", "Equipment or system"
        EDUCATION = "education", "Education"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        ABANDONED = "abandoned", "Abandoned"

    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="improvement_actions"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="No patient identifiers.")
    category = models.CharField(max_length=20, choices=Category.choices)
    conference = models.ForeignKey(
        Conference,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="improvement_actions",
        help_text="The conference it came from, if any.",
    )
    origin_text = models.CharField(
        "origin", max_length=300, blank=True, help_text="Where it came from, in a few words."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="improvement_actions_owned",
    )
    due_on = models.DateField("due date", null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    escalated = models.BooleanField(
        "escalated to the quality team",
        default=False,
        help_text="The quality team sees it and reports the outcome.",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    closed_on = models.DateField(
        null=True, blank=True, help_text="When it was marked done or abandoned."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["section", "status"])]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PROPOSED, self.Status.IN_PROGRESS)

    @property
    def overdue(self) -> bool:
        return bool(self.is_open and self.due_on and self.due_on < timezone.localdate())


class ImprovementActionChange(models.Model):
    """One edit of an improvement action: who, when, and each field's old and new value."""

    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    # {"status": ["Proposed", "In progress"], ...}: display values, readable as they were.
    changes = models.JSONField(default=dict)
    created = models.BooleanField(default=False)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self):
        return f"{self.action} changed {self.changed_at:%Y-%m-%d}"

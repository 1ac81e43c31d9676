"""Conferences, their attendance, and the improvement actions that come out of them.

A conference belongs to one section. Its agenda of teaching cases, the cases themselves and
the audience's votes are in `models_cases.py` (imported at the end). Who may see which of
these rows is decided in `selectors.py` and `selectors_cases.py`.
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
    title = models.CharField(max_length=200)
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


class AttendanceImport(models.Model):
    """One attendance report file read into one conference, kept with its checksum."""

    class Platform(models.TextChoices):
        ZOOM = "zoom", "Zoom"
        TEAMS = "teams", "Microsoft Teams"

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="imports")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    filename = models.CharField(max_length=255, blank=True)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes.")
    rows_read = models.PositiveIntegerField(default=0)
    people_matched = models.PositiveIntegerField(default=0)
    names_unmatched = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "checksum"], name="attendance_import_once_per_file"
            )
        ]

    def __str__(self):
        return f"{self.get_platform_display()} report for {self.conference}"


class Attendance(models.Model):
    """Someone present at a conference, however it was recorded. One row per person."""

    class Via(models.TextChoices):
        ROSTER = "roster", "Roster"
        SELF_CHECK_IN = "self_check_in", "Self check-in"
        ZOOM = "zoom", "Zoom import"
        TEAMS = "teams", "Teams import"
        RECORDING = "recording", "Recording attestation"

    class Kind(models.TextChoices):
        ATTENDING = "attending", "Attending"
        TRAINEE = "trainee", "Trainee"
        GUEST = "guest", "Guest"

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="conference_attendance",
    )
    # Guests from an attendance report have no account: only the name the platform showed.
    guest_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    minutes_present = models.PositiveIntegerField(default=0)
    credited = models.BooleanField(default=False)
    recorded_via = models.CharField(max_length=20, choices=Via.choices)
    source_import = models.ForeignKey(
        AttendanceImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conference", "user__last_name", "user__first_name", "guest_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "user"],
                condition=Q(user__isnull=False),
                name="attendance_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["conference", "guest_name"],
                condition=Q(user__isnull=True),
                name="attendance_once_per_guest_name",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(guest_name=""),
                name="attendance_names_someone",
            ),
        ]
        indexes = [models.Index(fields=["user", "credited"])]

    def __str__(self):
        who = self.user or self.guest_name
        return f"{who} at {self.conference}"

    @property
    def display_name(self) -> str:
        return self.user.display_name if self.user_id else self.guest_name


class AttendanceImportRow(models.Model):
    """One person (or unmatched name) found in an import, with how they were matched."""

    class Match(models.TextChoices):
        EMAIL = "email", "E-mail"
        NAME = "name", "Name"
        ALIAS = "alias", "Remembered name"
        MANUAL = "manual", "Picked by hand"
        GUEST = "guest", "Marked as guest"
        UNMATCHED = "unmatched", "Not matched"

    source_import = models.ForeignKey(
        AttendanceImport, on_delete=models.CASCADE, related_name="rows"
    )
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    lines = models.JSONField(default=list, help_text="Line numbers in the file.")
    minutes = models.PositiveIntegerField(default=0)
    # What the minutes were counted from, so lines matched by hand later recount exactly:
    # join/leave intervals ([[ISO start, ISO end], ...]) and seconds known only as durations.
    spans = models.JSONField(default=list, blank=True)
    loose_seconds = models.PositiveIntegerField(default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    match = models.CharField(max_length=10, choices=Match.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["source_import", "pk"]

    def __str__(self):
        return f"{self.name or self.email} ({self.get_match_display()})"

    @property
    def unresolved(self) -> bool:
        return self.match == self.Match.UNMATCHED


class AttendeeAlias(models.Model):
    """A display name from a meeting platform that the assistant matched to a person once."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="+")
    name_key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["section", "name_key"], name="alias_unique_per_section")
        ]

    def __str__(self):
        return f"{self.name_key} → {self.user}"


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


from conferences.models_cases import *  # noqa: E402, F403

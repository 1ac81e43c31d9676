"""Who attended a conference, and the attendance report files read into it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from conferences.meetings.models import Conference
from peerlearning.models import Section


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

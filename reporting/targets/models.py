"""Monthly targets, exemptions and the mid-month reminder.

Re-exported by `reporting/models/`, so Django finds these models in the `reporting` app. How
a target is computed lives in `reporting/targets/ledger.py`; the reminder in
`reporting/targets/reminders.py`; see docs/targets.md.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from peerlearning.models import Section
from submissions.models import Reason, default_counted_reasons


class TargetPolicy(models.Model):
    """A section's targets from a month on. A new row starts a new policy; the past keeps its own.

    The policy in force for a month is the row with the latest `effective_from` on or before
    the month's first day. A section without any row uses the defaults below.
    """

    class AttendanceRule(models.TextChoices):
        SHARE = "share", "A share of the section's conferences"
        PER_YEAR = "per_year", "A number of conferences per year"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="target_policies")
    effective_from = models.DateField(
        "applies from", help_text="The first day of the first month this policy applies to."
    )
    submissions_per_month = models.PositiveSmallIntegerField(
        "case submissions per radiologist per month",
        default=2,
        validators=[MaxValueValidator(31)],
    )
    attendance_rule = models.CharField(
        max_length=10, choices=AttendanceRule.choices, default=AttendanceRule.SHARE
    )
    attendance_percent = models.PositiveSmallIntegerField(
        "share of conferences to attend (%)",
        default=50,
        validators=[MaxValueValidator(100)],
    )
    attendance_per_year = models.PositiveSmallIntegerField(
        "conferences to attend per year",
        default=0,
        validators=[MaxValueValidator(366)],
    )
    counted_reasons = models.JSONField(
        "reasons that count toward the target", default=default_counted_reasons
    )
    include_trainees = models.BooleanField(
        "trainees have targets too",
        default=False,
        help_text="Off (the usual choice): residents and fellows are not counted.",
    )
    note = models.CharField(
        max_length=200, blank=True, help_text="Why the policy changed, e.g. the committee's date."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "target policy"
        verbose_name_plural = "target policies"
        ordering = ["section", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "effective_from"], name="target_policy_one_per_start"
            ),
        ]

    def __str__(self):
        return f"Targets for {self.section} from {self.effective_from:%B %Y}"

    def clean(self):
        errors = {}
        if self.effective_from and self.effective_from.day != 1:
            errors["effective_from"] = "A policy starts on the first day of a month."
        unknown = set(self.counted_reasons or []) - set(Reason.values)
        if unknown:
            errors["counted_reasons"] = f"Unknown reasons: {', '.join(sorted(unknown))}."
        if self.attendance_rule == self.AttendanceRule.PER_YEAR and not self.attendance_per_year:
            errors["attendance_per_year"] = "Give the number of conferences per year."
        if errors:
            raise ValidationError(errors)

    @property
    def attendance_label(self) -> str:
        if self.attendance_rule == self.AttendanceRule.PER_YEAR:
            return f"{self.attendance_per_year} conferences a year"
        return f"{self.attendance_percent}% of the section's conferences"

    @property
    def counted_reason_labels(self) -> list[str]:
        labels = dict(Reason.choices)
        return [labels[value] for value in Reason.values if value in (self.counted_reasons or [])]


class TargetExemption(models.Model):
    """Leave or part-time work that lowers a radiologist's target, with the reason kept."""

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave (target reduced by the days away)"
        PART_TIME = "part_time", "Part-time (target reduced by FTE)"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="target_exemptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="target_exemptions",
        verbose_name="radiologist",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts_on = models.DateField("first day")
    ends_on = models.DateField(
        "last day", null=True, blank=True, help_text="Leave empty when the end is not known yet."
    )
    fte = models.DecimalField(
        "FTE",
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text="Part-time only: 0.5 for half time.",
    )
    reason = models.CharField(
        max_length=200, help_text="Kept with the exemption. No medical or personal details."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "target exemption"
        ordering = ["section", "-starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="exemption_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(kind="part_time", fte__isnull=False)
                | Q(kind="leave", fte__isnull=True),
                name="exemption_fte_only_for_part_time",
            ),
        ]
        indexes = [models.Index(fields=["section", "starts_on"], name="exemption_section_start")]

    def __str__(self):
        return f"{self.get_kind_display().split(' (')[0]} · {self.user}"

    def clean(self):
        errors = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = "The last day cannot come before the first day."
        if self.kind == self.Kind.PART_TIME and self.fte is None:
            errors["fte"] = "Give the FTE for part-time work (e.g. 0.5)."
        if self.kind == self.Kind.LEAVE and self.fte is not None:
            errors["fte"] = "FTE applies to part-time work only."
        if errors:
            raise ValidationError(errors)

    def covers(self, day: datetime.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class ReminderSettings(models.Model):
    """When a section's mid-month reminder goes out, and what those on target receive."""

    class WhenMet(models.TextChoices):
        THANK = "thank", "A thank-you note"
        SKIP = "skip", "Nothing"

    section = models.OneToOneField(
        Section, on_delete=models.CASCADE, related_name="reminder_settings"
    )
    enabled = models.BooleanField("send the mid-month reminder", default=True)
    day_of_month = models.PositiveSmallIntegerField(
        "day of the month",
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
    )
    hour = models.PositiveSmallIntegerField(
        "hour",
        default=8,
        validators=[MaxValueValidator(23)],
        help_text="In the site's time zone.",
    )
    when_met = models.CharField(
        "radiologists who already met the target receive",
        max_length=10,
        choices=WhenMet.choices,
        default=WhenMet.THANK,
    )
    month_summary = models.BooleanField(
        "send champions and assistants a summary on the 1st", default=True
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "reminder settings"
        verbose_name_plural = "reminder settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1, day_of_month__lte=28, hour__lte=23),
                name="reminder_schedule_in_range",
            ),
        ]

    def __str__(self):
        return f"Reminder settings · {self.section}"

    @classmethod
    def for_section(cls, section: Section) -> "ReminderSettings":
        """The section's settings, or unsaved defaults when it has none yet."""
        try:
            return section.reminder_settings
        except cls.DoesNotExist:
            return cls(section=section)

    def due_at(self, month: datetime.date) -> datetime.datetime:
        """When this month's reminder is due, in the site's time zone."""
        return datetime.datetime.combine(
            month.replace(day=self.day_of_month),
            datetime.time(self.hour),
            tzinfo=timezone.get_current_timezone(),
        )


class ReminderRun(models.Model):
    """One section's reminder (or month-end summary) batch for one month.

    The e-mails themselves are outbox rows under per-person keys, which is what makes each
    one owed once; this row tells the scheduler the batch is complete, and the dashboard
    when it ran and who started it.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Mid-month reminder"
        SUMMARY = "summary", "Month-end summary"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="reminder_runs")
    month = models.DateField(help_text="The first day of the month the batch is about.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the schedule started it.",
    )
    recipients = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month", "section"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "month", "kind"], name="reminder_run_once_per_month"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.section} · {self.month:%Y-%m}"

    @property
    def is_complete(self) -> bool:
        return self.finished_at is not None

"""Case submissions, the anonymous feedback loop to the original reader, clinical actions.

Who may see which of these rows is decided in `selectors.py`, nowhere else.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from peerlearning.models import Section


class Reason(models.TextChoices):
    DISCREPANCY = "discrepancy", "Discrepancy"
    GREAT_CATCH = "great_catch", "Great catch"
    INTERESTING = "interesting", "Interesting or teaching case"
    OTHER = "other", "Other"


class DiscrepancyType(models.TextChoices):
    PERCEPTUAL = "perceptual", "Perceptual (finding not seen)"
    INTERPRETIVE = "interpretive", "Interpretive (finding misinterpreted)"
    COMMUNICATION = "communication", "Communication"
    TECHNICAL = "technical", "Technical or protocol"
    OTHER = "other", "Other"


_REASON_LABELS = dict(Reason.choices)
_DETAIL_LABELS = dict(DiscrepancyType.choices)


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"


class Significance(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"


class ActionKind(models.TextChoices):
    ADDENDUM = "addendum", "Addendum or corrected report"
    CONTACT_CLINICIAN = "contact_clinician", "Contact the referring clinician"
    FOLLOW_UP_IMAGING = "follow_up_imaging", "Recommend follow-up imaging"
    OTHER = "other", "Other"


class ReaderResponse(models.TextChoices):
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    AGREE = "agree", "Agrees"
    DISAGREE = "disagree", "Disagrees"


class NotCountedReason(models.TextChoices):
    DUPLICATE = "duplicate", "Duplicate of another submission"
    NO_LEARNING_VALUE = "no_learning_value", "No learning value"
    INCOMPLETE = "incomplete", "Incomplete or unclear"
    OTHER = "other", "Other"


class FeedbackBatching(models.TextChoices):
    HOURLY = "hourly", "Hourly: the next whole hour, plus a random delay of up to 30 minutes"
    DAILY = "daily", "Daily: 07:00, plus a random delay of up to 30 minutes"


def default_counted_reasons() -> list[str]:
    return list(Reason.values)


class SectionSubmissionSettings(models.Model):
    """How one section runs its feedback loop. A section without a row uses the defaults."""

    section = models.OneToOneField(
        Section, on_delete=models.CASCADE, related_name="submission_settings"
    )
    review_before_sending = models.BooleanField(
        "champion reviews feedback before it is sent",
        default=False,
        help_text="Hold each feedback until a champion has read (and may reword) it.",
    )
    accession_in_email = models.BooleanField(
        "accession number in e-mails",
        default=False,
        help_text="Off: e-mails carry only a link; the accession number is shown after sign-in.",
    )
    attach_pdf = models.BooleanField(
        "attach the PDF to the reader's e-mail",
        default=False,
        help_text="The PDF never names the submitter. It holds the accession number only if "
        "accession numbers may be e-mailed.",
    )
    feedback_batching = models.CharField(
        "when feedback reaches the reader",
        max_length=10,
        choices=FeedbackBatching.choices,
        default=FeedbackBatching.HOURLY,
        help_text="Feedback reaches the reader (page and e-mail) in batches, never at the "
        "minute it was submitted, so its arrival does not point to who opened the study. "
        "Urgent feedback goes at the next quarter hour.",
    )
    urgent_window_hours = models.PositiveSmallIntegerField(
        "hours to complete an urgent clinical action", default=24
    )
    routine_window_hours = models.PositiveSmallIntegerField(
        "hours to complete a routine clinical action", default=72
    )
    suggestions_enabled = models.BooleanField(
        "suggest cases from the results feed",
        default=False,
        help_text="A changed preliminary read or an addendum to a colleague's report is "
        "suggested, privately, to the radiologist who signed it.",
    )

    class Meta:
        verbose_name = "section submission settings"
        verbose_name_plural = "section submission settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(urgent_window_hours__gte=1) & Q(routine_window_hours__gte=1),
                name="submission_settings_windows_positive",
            )
        ]

    def __str__(self):
        return f"Submission settings · {self.section}"

    def window(self, urgency: str) -> datetime.timedelta:
        hours = self.urgent_window_hours if urgency == Urgency.URGENT else self.routine_window_hours
        return datetime.timedelta(hours=hours)

    @classmethod
    def for_section(cls, section: Section) -> "SectionSubmissionSettings":
        """The section's settings, or unsaved defaults when it has none yet."""
        try:
            return section.submission_settings
        except cls.DoesNotExist:
            return cls(section=section)


class SubmissionQuerySet(models.QuerySet):
    def open(self):
        # An IN list rather than "not closed", so the partial `submission_queue_open` index
        # (whose condition is this same list) serves it.
        return self.filter(status__in=Submission.OPEN_STATUSES)

    def in_month(self, day: datetime.date):
        start = day.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        tz = timezone.get_current_timezone()
        return self.filter(
            created_at__gte=datetime.datetime.combine(start, datetime.time(), tzinfo=tz),
            created_at__lt=datetime.datetime.combine(end, datetime.time(), tzinfo=tz),
        )


class Submission(models.Model):
    """One case a radiologist submitted: why, what to learn, and what the patient needs."""

    class Status(models.TextChoices):
        # No reader to write to (unknown): the champion takes it from here.
        SUBMITTED = "submitted", "With the champion"
        AWAITING_REVIEW = "awaiting_review", "Awaiting champion review"
        FEEDBACK_SENT = "feedback_sent", "Feedback sent"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CLOSED = "closed", "Closed"

    OPEN_STATUSES = (
        Status.SUBMITTED,
        Status.AWAITING_REVIEW,
        Status.FEEDBACK_SENT,
        Status.ACKNOWLEDGED,
    )

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="submissions")
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    accession_number = models.CharField(max_length=32)
    # From the PACS launch URL, when the PACS gives it: the "Open images" link uses it.
    study_instance_uid = models.CharField("Study Instance UID", max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    reason_detail = models.CharField(
        "discrepancy type", max_length=20, choices=DiscrepancyType.choices, blank=True
    )
    description = models.TextField()
    learning_point = models.TextField(blank=True)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    attested_at = models.DateTimeField(null=True, blank=True)
    # The submitter may sign the feedback; otherwise the reader never learns who wrote it.
    submitter_signed = models.BooleanField(default=False)

    original_reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback_received",
    )
    # The submitter knows whom they named; a reader a champion identified later stays hidden.
    reader_named_by_submitter = models.BooleanField(default=False)
    reader_outside_roster = models.BooleanField(default=False)

    # What the reader reads: the submitter's words, possibly reworded by a champion.
    feedback_description = models.TextField(blank=True)
    feedback_learning_point = models.TextField(blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    feedback_sent_at = models.DateTimeField(null=True, blank=True)
    reader_response = models.CharField(max_length=20, choices=ReaderResponse.choices, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Champion triage.
    significance = models.CharField(
        "clinical significance", max_length=10, choices=Significance.choices, blank=True
    )
    conference_candidate = models.BooleanField(default=False)
    routed_to_quality_at = models.DateTimeField(null=True, blank=True)
    counted = models.BooleanField("counts toward the target", default=True)
    not_counted_reason = models.CharField(
        max_length=20, choices=NotCountedReason.choices, blank=True
    )

    # The earliest due time of an open clinical action, kept by the services whenever actions
    # change: the queue filters and sorts on it without a subquery per submission.
    next_action_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submitter", "accession_number"], name="submission_once_per_submitter"
            ),
            models.CheckConstraint(
                condition=Q(reason="discrepancy") | Q(reason_detail=""),
                name="submission_detail_only_for_discrepancies",
            ),
            models.CheckConstraint(
                condition=~Q(reason="discrepancy") | Q(attested_at__isnull=False),
                name="submission_discrepancy_attested",
            ),
            models.CheckConstraint(
                condition=Q(counted=True, not_counted_reason="")
                | Q(counted=False) & ~Q(not_counted_reason=""),
                name="submission_not_counted_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["section", "-created_at"], name="submission_section_recent"),
            models.Index(fields=["section", "status", "-created_at"], name="submission_queue"),
            # The queue's default view (open, newest first) reads 50 rows off this index and
            # stops; its counts of open cases are an index-only scan.
            models.Index(
                fields=["section", "-created_at", "-id"],
                include=["original_reader", "status"],
                condition=Q(
                    status__in=["submitted", "awaiting_review", "feedback_sent", "acknowledged"]
                ),
                name="submission_queue_open",
            ),
            models.Index(fields=["submitter", "-created_at"], name="submission_mine"),
            models.Index(fields=["original_reader", "-created_at"], name="submission_reader"),
            models.Index(fields=["accession_number"], name="submission_accession"),
            models.Index(fields=["section", "next_action_due_at"], name="submission_queue_due"),
            models.Index(
                fields=["section", "-urgency", "-created_at"], name="submission_queue_urgent"
            ),
        ]

    def __str__(self):
        return f"Submission #{self.pk}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def is_discrepancy(self) -> bool:
        return self.reason == Reason.DISCREPANCY

    @property
    def feedback_is_sent(self) -> bool:
        return self.feedback_sent_at is not None

    @property
    def reader_email_key(self) -> str:
        """The outbox key of the feedback e-mail to the original reader."""
        return f"feedback:{self.pk}:reader"

    @property
    def reason_label(self) -> str:
        # Plain dict lookups: the queue shows this on every row, and `get_FOO_display` costs
        # several times more.
        label = str(_REASON_LABELS.get(self.reason, self.reason))
        if self.reason_detail:
            detail = str(_DETAIL_LABELS.get(self.reason_detail, self.reason_detail))
            label = f"{label}: {detail.split(' (')[0].lower()}"
        return label


class RequiredAction(models.Model):
    """A step the patient's care needs (an addendum, a call), tracked until it is done."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    detail = models.CharField(max_length=200, blank=True)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    done_note = models.CharField(max_length=200, blank=True)
    # Set once, by whoever claims the escalation: the alert goes out once.
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submission_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "kind"], name="action_once_per_kind"),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(done_at__isnull=True),
                name="action_open_due",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} (#{self.submission_id})"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, now: datetime.datetime | None = None) -> bool:
        return self.done_at is None and self.due_at <= (now or timezone.now())

    @property
    def label(self) -> str:
        if self.kind == ActionKind.OTHER and self.detail:
            return f"Other: {self.detail}"
        return self.get_kind_display()


class Reply(models.Model):
    """One message in the private thread between the submitter and the original reader."""

    class Side(models.TextChoices):
        SUBMITTER = "submitter", "Submitter"
        READER = "reader", "Original reader"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=10, choices=Side.choices)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "replies"

    def __str__(self):
        return f"Reply #{self.pk} on #{self.submission_id}"


class SubmissionEvent(models.Model):
    """The history of a submission: who changed what, when. Champions read it."""

    class Kind(models.TextChoices):
        CREATED = "created", "Submitted"
        HELD = "held", "Held for champion review"
        FEEDBACK_EDITED = "feedback_edited", "Feedback reworded"
        FEEDBACK_SENT = "feedback_sent", "Feedback sent to the reader"
        READER_ASSIGNED = "reader_assigned", "Original reader identified"
        ACKNOWLEDGED = "acknowledged", "Reader responded"
        REPLY = "reply", "Message in the thread"
        ACTION_DONE = "action_done", "Clinical action done"
        ACTIONS_CHANGED = "actions_changed", "Clinical actions changed"
        ESCALATED = "escalated", "Overdue clinical action escalated"
        TRIAGED = "triaged", "Triage changed"
        NOTE = "note", "Private note"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # {"field": [old, new]} for changes; {"action": id} and the like otherwise.
    changes = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["submission", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()} · #{self.submission_id}"


# The results feed's tables live with the feed (submissions/feeds/models.py).
from submissions.feeds.models import ResultMessage as ResultMessage  # noqa: E402
from submissions.feeds.models import Suggestion as Suggestion  # noqa: E402

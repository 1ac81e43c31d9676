"""OPPE data sources: turnaround times, credentials, FPPE events, the policy, peer evaluations."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from peerlearning.models import Section

# OPPE data sources ----------------------------------------------------------------------
#
# What the OPPE report per radiologist (Ongoing Professional Practice Evaluation) is built
# from: report turnaround times imported from the RIS, licences and board certifications,
# peer evaluations of the six ACGME competencies, focused-review (FPPE) event counts, and
# the department's thresholds. Services and selectors: reporting/oppe/tat.py,
# reporting/oppe/sources.py, reporting/oppe/evaluations.py; see docs/oppe-data.md.
#
# Records about a radiologist are PROTECTed: people are deactivated, not deleted, and an
# accreditation record must not vanish with an account.


class TurnaroundTime(models.Model):
    """One finalized report from the RIS extract: when the exam ended, when it was signed."""

    accession = models.CharField(max_length=64, unique=True)
    radiologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="turnaround_times"
    )
    modality = models.CharField(max_length=16)
    exam_completed_at = models.DateTimeField()
    report_finalized_at = models.DateTimeField()
    # Derived from the two times when a row is written, so medians and percentiles are
    # plain column aggregates on every database.
    turnaround_seconds = models.PositiveIntegerField()
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "report turnaround time"
        ordering = ["-exam_completed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(report_finalized_at__gte=F("exam_completed_at")),
                name="tat_finalized_after_completed",
            ),
        ]
        indexes = [
            models.Index(fields=["radiologist", "exam_completed_at"], name="tat_radiologist_day"),
            models.Index(fields=["exam_completed_at"], name="tat_completed"),
        ]

    def __str__(self):
        return f"{self.modality} report by {self.radiologist_id}"

    @property
    def turnaround_minutes(self) -> float:
        return self.turnaround_seconds / 60


class TatImport(models.Model):
    """One TAT file uploaded in the admin, imported by a worker; its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        REFUSED = "refused", "Refused (nothing written)"

    file = models.FileField(upload_to="tat-imports/", blank=True)
    file_name = models.CharField(max_length=255)
    skip_unknown = models.BooleanField(
        default=False,
        help_text="Rows of people who are not radiologists on the roster are skipped (with a "
        "warning) rather than refusing the file.",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Line numbers and messages; messages name columns and e-mail addresses, never accessions.
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "TAT import"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"


class Credential(models.Model):
    """A licence, board certification or registration the medical staff office tracks."""

    class Kind(models.TextChoices):
        STATE_LICENSE = "state_license", "State medical licence"
        BOARD_CERTIFICATION = "board_certification", "Board certification"
        DEA = "dea", "DEA registration"
        OTHER = "other", "Other"

    radiologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    issuer = models.CharField(
        "issuer or state",
        max_length=120,
        help_text="The state for a licence, the board for a certification (e.g. ABR).",
    )
    number = models.CharField(max_length=64, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(
        null=True, blank=True, help_text="Leave empty for a credential that does not expire."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["radiologist__last_name", "radiologist__first_name", "kind", "expires_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(issued_on__isnull=True)
                | Q(expires_on__isnull=True)
                | Q(expires_on__gt=F("issued_on")),
                name="credential_expires_after_issued",
            ),
        ]
        indexes = [models.Index(fields=["expires_on"], name="credential_expires")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.issuer}"

    def clean(self):
        if self.issued_on and self.expires_on and self.expires_on <= self.issued_on:
            raise ValidationError({"expires_on": "The expiry date must come after the issue date."})


class FppeEvent(models.Model):
    """A focused professional practice evaluation (FPPE) case, as counted in figure 3.

    Only categories and the disposition are kept: the medical staff office holds the case
    itself, and OPPE readers see counts, never the nature of an event. A case can fall into
    several categories.
    """

    class Disposition(models.TextChoices):
        PENDING = "pending", "Under review"
        NO_ACTION = "no_action", "No action"
        LETTER_OF_INFORMATION = "letter_of_information", "Letter of information"
        TREND = "trend", "Trend"
        LETTER_OF_EDUCATION = "letter_of_education", "Letter of education"
        VERBAL_INTERVENTION = "verbal_intervention", "Verbal intervention"
        ADMINISTRATIVE_CI = "administrative_ci", "Administrative corrective intervention"
        BUNDLED = "bundled", "Bundled"

    # Figure 3's "significant dispositions": everything but pending and no action.
    SIGNIFICANT = (
        Disposition.LETTER_OF_INFORMATION,
        Disposition.TREND,
        Disposition.LETTER_OF_EDUCATION,
        Disposition.VERBAL_INTERVENTION,
        Disposition.ADMINISTRATIVE_CI,
        Disposition.BUNDLED,
    )

    radiologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fppe_events"
    )
    referred_on = models.DateField("referral date")
    behaviour_concern = models.BooleanField(default=False)
    reviewed_at_committee = models.BooleanField(
        "reviewed at SPPEC/MEC",
        default=False,
        help_text="System professional practice evaluation committee or medical executive "
        "committee.",
    )
    other_measure = models.BooleanField("other (PIP, behaviour contract, …)", default=False)
    from_oppe = models.BooleanField("from OPPE", default=False)
    disposition = models.CharField(
        max_length=24, choices=Disposition.choices, default=Disposition.PENDING
    )
    reference = models.CharField(
        "office reference",
        max_length=40,
        blank=True,
        help_text="The medical staff office's own case number. No patient details.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "FPPE event"
        ordering = ["-referred_on", "-id"]
        indexes = [models.Index(fields=["radiologist", "referred_on"], name="fppe_radiologist_day")]

    def __str__(self):
        return f"FPPE referral {self.referred_on:%Y-%m-%d} · {self.get_disposition_display()}"

    @property
    def is_significant(self) -> bool:
        return self.disposition in self.SIGNIFICANT


class OppePolicy(models.Model):
    """The department's OPPE periods and thresholds (a single row, edited by leaders).

    Submission and attendance targets are not here: OPPE's "PL targets met" reads the
    sections' target policies (reporting/targets/), the one place they are defined.
    """

    period_months = models.PositiveSmallIntegerField(
        "period length (months)",
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )
    tat_threshold_hours = models.PositiveSmallIntegerField(
        "turnaround threshold (hours)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
    )
    tat_within_threshold_percent = models.PositiveSmallIntegerField(
        "reports finalized within the threshold (% at least)",
        default=90,
        validators=[MaxValueValidator(100)],
    )
    followup_confirmed_percent = models.PositiveSmallIntegerField(
        "follow-up actions asked for in feedback, confirmed done (% at least)",
        default=90,
        validators=[MaxValueValidator(100)],
        help_text="PL feedback: when feedback on a study the radiologist read asks for an "
        "addendum, a call or a follow-up recommendation, the share they confirm.",
    )
    credential_warning_days = models.PositiveSmallIntegerField(
        "flag credentials expiring within (days)",
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "OPPE policy"
        verbose_name_plural = "OPPE policy"

    def __str__(self):
        return "OPPE policy"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "OppePolicy":
        return cls.objects.get_or_create(pk=1)[0]

    def period_containing(self, day: datetime.date) -> tuple[datetime.date, datetime.date]:
        """The OPPE period around a day: periods start in January and follow each other."""
        months = self.period_months
        index = (day.month - 1) // months if 12 % months == 0 else None
        if index is not None:
            start = datetime.date(day.year, index * months + 1, 1)
        else:
            # Lengths that do not divide a year run back-to-back from January 2000.
            elapsed = (day.year - 2000) * 12 + day.month - 1
            first = elapsed - elapsed % months
            start = datetime.date(2000 + first // 12, first % 12 + 1, 1)
        end_month = start.month - 1 + months
        following = datetime.date(start.year + end_month // 12, end_month % 12 + 1, 1)
        return start, following - datetime.timedelta(days=1)


class Competency(models.TextChoices):
    """The six ACGME core competencies, with figure 2's descriptions."""

    PATIENT_CARE = "patient_care", "Patient care"
    MEDICAL_KNOWLEDGE = "medical_knowledge", "Medical knowledge"
    PRACTICE_BASED_LEARNING = (
        "practice_based_learning",
        "Practice-based learning and improvement",
    )
    INTERPERSONAL_COMMUNICATION = (
        "interpersonal_communication",
        "Interpersonal and communication skills",
    )
    PROFESSIONALISM = "professionalism", "Professionalism"
    SYSTEMS_BASED_PRACTICE = "systems_based_practice", "Systems-based practice"


COMPETENCY_DESCRIPTIONS = {
    Competency.PATIENT_CARE: "Provides patient care that is compassionate, appropriate and "
    "effective for the promotion of health, prevention of illness, treatment of disease and "
    "care at the end of life.",
    Competency.MEDICAL_KNOWLEDGE: "Demonstrates knowledge of established and evolving "
    "biomedical, clinical and social sciences in the application of knowledge to patient care "
    "and the education of others.",
    Competency.PRACTICE_BASED_LEARNING: "Able to use scientific evidence and methods to "
    "investigate, evaluate and improve patient care practices.",
    Competency.INTERPERSONAL_COMMUNICATION: "Demonstrates interpersonal and communication "
    "skills that establish and maintain professional relationships with patients, families, "
    "coworkers, and other members of the healthcare team.",
    Competency.PROFESSIONALISM: "Demonstrates behaviors that reflect a commitment to "
    "continuous professional development, ethical practice, an understanding and sensitivity "
    "to diversity and a responsible attitude toward patients, profession and society.",
    Competency.SYSTEMS_BASED_PRACTICE: "Demonstrates both an understanding of the contexts "
    "and systems in which health care is provided, and the ability to apply this knowledge to "
    "improve and optimize health care within the network.",
}


class Rating(models.IntegerChoices):
    """Figure 2's competency measures."""

    DOES_NOT_PERFORM = 1, "1 · Does not perform"
    BELOW_EXPECTATIONS = 2, "2 · Performs below expectations"
    MEETS_STANDARD = 3, "3 · Meets standard"
    INTERMITTENTLY_EXCEEDS = 4, "4 · Intermittently exceeds expectations"
    CONSISTENTLY_EXCEEDS = 5, "5 · Consistently exceeds expectations"


# Figure 2: "Must provide a plan of action for competency rates below a 2".
PLAN_REQUIRED_BELOW = 2


class EvaluationCycle(models.Model):
    """A round of peer evaluations a leader opens for one or more sections."""

    name = models.CharField(max_length=120)
    sections = models.ManyToManyField(Section, related_name="evaluation_cycles")
    period_start = models.DateField("period evaluated, from")
    period_end = models.DateField("period evaluated, to")
    due_on = models.DateField("due date")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="cycle_period_in_order"
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": "The period must end after it starts."})

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class PeerEvaluation(models.Model):
    """One evaluator's form about one radiologist in a cycle (figure 2).

    The evaluated radiologist never learns who wrote it; see reporting/oppe/evaluations.py.
    """

    class Conclusion(models.TextChoices):
        MEETS = "meets", "Meets expectations of performance"
        IMPROVEMENT = (
            "improvement",
            "Meets expectations, with an opportunity for improvement in an area",
        )
        FOCUSED_REVIEW = (
            "focused_review",
            "Meets most expectations, except in an area that calls for a focused review (FPPE)",
        )

    cycle = models.ForeignKey(EvaluationCycle, on_delete=models.CASCADE, related_name="forms")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="evaluations_received",
        verbose_name="radiologist evaluated",
    )
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evaluations_given"
    )
    patient_care = models.PositiveSmallIntegerField(choices=Rating.choices, null=True)
    medical_knowledge = models.PositiveSmallIntegerField(choices=Rating.choices, null=True)
    practice_based_learning = models.PositiveSmallIntegerField(choices=Rating.choices, null=True)
    interpersonal_communication = models.PositiveSmallIntegerField(
        choices=Rating.choices, null=True
    )
    professionalism = models.PositiveSmallIntegerField(choices=Rating.choices, null=True)
    systems_based_practice = models.PositiveSmallIntegerField(choices=Rating.choices, null=True)
    conclusion = models.CharField(max_length=20, choices=Conclusion.choices, blank=True)
    improvement_area = models.CharField(max_length=200, blank=True)
    comments = models.TextField(blank=True)
    plan_of_action = models.TextField(blank=True)
    assigned_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cycle", "subject__last_name", "subject__first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "subject", "evaluator"], name="evaluation_one_form_per_pair"
            ),
            models.CheckConstraint(
                condition=~Q(subject=F("evaluator")), name="evaluation_not_of_oneself"
            ),
        ]
        indexes = [models.Index(fields=["evaluator", "submitted_at"], name="evaluation_todo")]

    def __str__(self):
        return f"Peer evaluation in {self.cycle_id}"

    def ratings(self) -> dict[str, int | None]:
        return {c.value: getattr(self, c.value) for c in Competency}

    def clean(self):
        errors = {}
        low = [
            Competency(name).label
            for name, value in self.ratings().items()
            if value is not None and value < PLAN_REQUIRED_BELOW
        ]
        if low and not self.plan_of_action.strip():
            errors["plan_of_action"] = (
                "A plan of action is needed for a rating below 2 (" + ", ".join(low) + ")."
            )
        if (
            self.conclusion
            and self.conclusion != self.Conclusion.MEETS
            and not self.improvement_area.strip()
        ):
            errors["improvement_area"] = "Name the area this conclusion is about."
        if errors:
            raise ValidationError(errors)

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class OppeReferral(models.Model):
    """A leader's decision, on reading an OPPE report, to refer the radiologist for focused
    review (FPPE) for that period. It also opens an FPPE event marked "from OPPE"."""

    radiologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="oppe_referrals"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    fppe_event = models.ForeignKey(
        "reporting.FppeEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    referred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "OPPE referral for focused review"
        ordering = ["-period_end", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["radiologist", "period_start", "period_end"],
                name="oppe_referral_once_per_period",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="oppe_referral_period_order"
            ),
        ]

    def __str__(self):
        return f"FPPE referral from OPPE {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"

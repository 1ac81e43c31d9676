"""Teaching cases, their de-identified images, agendas, and anonymous audience votes.

A teaching case is made by a champion from one or more submissions. Everything shown of it
(text, key images) has passed the anonymizer's check (`TeachingCase.check_passed`) before it
can go on an agenda. The original DICOM never stays: only the de-identified files and the
key images rendered from them are kept, plus the few header values that identify the
patient (`TeachingCaseIdentity`), which the checks need and nothing ever shows.

Votes are stored without a link to the voter: a receipt (an HMAC of the person and the
question, keyed by a server secret) stops a second vote, and the choice only increments a
counter, so not even the database says who chose what.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from conferences.meetings.models import Conference
from peerlearning.models import Section
from submissions.models import Reason, Submission

CREDITABLE_REASONS = (Reason.GREAT_CATCH, Reason.INTERESTING)


def _case_file(instance, filename: str) -> str:
    # Names are chosen by the services (uuids); the case's uuid keeps its files together.
    return f"conferences/cases/{instance.case.uuid}/{filename}"


class TeachingCase(models.Model):
    class QuestionKind(models.TextChoices):
        CHOICE = "choice", "Multiple choice"
        CALLED_IT = "called_it", "Would you have called it? (yes / no)"
        NONE = "none", "No question"

    class Modality(models.TextChoices):
        CT = "CT", "CT"
        MR = "MR", "MRI"
        XR = "XR", "Radiograph"
        US = "US", "Ultrasound"
        NM = "NM", "Nuclear medicine / PET"
        MG = "MG", "Mammography"
        FL = "FL", "Fluoroscopy"
        XA = "XA", "Angiography"
        OTHER = "other", "Other"

    class BodyPart(models.TextChoices):
        BRAIN = "brain", "Brain"
        HEAD_NECK = "head_neck", "Head and neck"
        SPINE = "spine", "Spine"
        CHEST = "chest", "Chest"
        CARDIOVASCULAR = "cardiovascular", "Heart and vessels"
        ABDOMEN = "abdomen", "Abdomen"
        PELVIS = "pelvis", "Pelvis"
        MSK = "msk", "Musculoskeletal"
        BREAST = "breast", "Breast"
        OTHER = "other", "Other"

    CALLED_IT_OPTIONS = ("Yes, I would have called it", "No, I would have missed it")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="teaching_cases")
    title = models.CharField(max_length=200)
    history = models.TextField("clinical history", blank=True)
    findings = models.TextField(blank=True)
    question_kind = models.CharField(
        "kind of question", max_length=10, choices=QuestionKind.choices, default=QuestionKind.CHOICE
    )
    question = models.TextField("discussion question", blank=True)
    options = models.JSONField(default=list, blank=True)
    correct_option = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.TextField(blank=True)
    teaching_points = models.TextField(blank=True)
    references = models.TextField(blank=True)
    modality = models.CharField(max_length=10, choices=Modality.choices, blank=True)
    body_part = models.CharField(max_length=20, choices=BodyPart.choices, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    # Normalised "|stroke|perfusion|": one column, filtered with icontains="|tag|".
    tags = models.CharField(max_length=400, blank=True)
    sources = models.ManyToManyField(Submission, blank=True, related_name="teaching_cases")

    # The anonymizer's check over every part of the case, run again after every change.
    check_passed = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_findings = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["section", "-updated_at"], name="teaching_case_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(correct_option__isnull=True) | Q(question_kind="choice"),
                name="teaching_case_correct_only_for_choice",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split("|") if t]

    @property
    def vote_options(self) -> list[str]:
        """What the audience chooses from: the options, yes/no, or nothing."""
        if self.question_kind == self.QuestionKind.CHOICE:
            return list(self.options)
        if self.question_kind == self.QuestionKind.CALLED_IT:
            return list(self.CALLED_IT_OPTIONS)
        return []

    @property
    def creditable(self) -> bool:
        return self.reason in CREDITABLE_REASONS

    def text_parts(self) -> list[tuple[str, str, str]]:
        """(part, label, text) of every piece of text that can reach a screen."""
        parts = [
            ("title", "Title", self.title),
            ("history", "Clinical history", self.history),
            ("findings", "Findings", self.findings),
            ("question", "Discussion question", self.question),
        ]
        parts += [
            (f"option:{n}", f"Option {n + 1}", text) for n, text in enumerate(self.options or [])
        ]
        parts += [
            ("answer", "Answer", self.answer),
            ("teaching_points", "Teaching points", self.teaching_points),
            ("references", "References", self.references),
            ("tags", "Tags", ", ".join(self.tag_list)),
        ]
        return parts


class TeachingCaseIdentity(models.Model):
    """The patient-identifying header values of a case's original images. Never shown.

    Reduced DICOM JSON (names, IDs, birth date, places, phone numbers, instance UIDs), kept
    so that every later edit can be checked against the case's own identifiers after the
    original files are gone.
    """

    case = models.OneToOneField(TeachingCase, on_delete=models.CASCADE, related_name="identity")
    headers = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Identifiers of case {self.case_id}"


class CaseUpload(models.Model):
    """One batch of DICOM a champion uploaded, processed by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(TeachingCase, on_delete=models.CASCADE, related_name="uploads")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # Storage names of the staged files (original uploads, PHI): deleted once processed.
    staged = models.JSONField(default=list, blank=True)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    images_added = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0)
    files_rejected = models.PositiveIntegerField(default=0)
    # [{"file": n, "reason": "...", "kinds": [...]}]: by number and kind, never names or values.
    problems = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=300, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Upload {self.uuid} ({self.get_status_display()})"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.PROCESSING)

    @property
    def percent(self) -> int:
        return round(100 * self.files_done / self.files_total) if self.files_total else 0


class CaseImage(models.Model):
    """One de-identified DICOM instance of a case (stored; never the original)."""

    case = models.ForeignKey(TeachingCase, on_delete=models.CASCADE, related_name="images")
    upload = models.ForeignKey(
        CaseUpload, on_delete=models.SET_NULL, null=True, blank=True, related_name="images"
    )
    source_index = models.PositiveIntegerField(default=0)
    sop_instance_uid = models.CharField(max_length=64)
    series_uid = models.CharField(max_length=64, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    instance_number = models.IntegerField(null=True, blank=True)
    series_description = models.CharField(max_length=200, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    frames = models.PositiveIntegerField(default=1)
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    dicom = models.FileField(upload_to=_case_file, max_length=300)
    needs_pixel_review = models.BooleanField(default=False)
    pixel_review_reasons = models.JSONField(default=list, blank=True)
    # Rectangles [x, y, width, height] around text that OCR found, filled into the blackout
    # tool for the champion to check; None: not looked for (no OCR installed, or no need).
    ocr_proposals = models.JSONField(null=True, blank=True)
    pixels_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pixels_reviewed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by a blackout, so cached previews and key images are drawn again.
    pixel_version = models.PositiveIntegerField(default=1)
    # The verifier's findings on the stored file: [{"kind", "where"}], never values.
    findings = models.JSONField(default=list, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "series_number", "instance_number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "sop_instance_uid"], name="case_image_once_per_instance"
            ),
            models.UniqueConstraint(
                fields=["upload", "source_index"], name="case_image_once_per_upload_file"
            ),
        ]

    def __str__(self):
        return f"Image {self.pk} of case {self.case_id}"

    @property
    def label(self) -> str:
        parts = []
        if self.series_number is not None:
            parts.append(f"series {self.series_number}")
        if self.instance_number is not None:
            parts.append(f"image {self.instance_number}")
        return ", ".join(parts) or f"image #{self.pk}"


class KeyImage(models.Model):
    """A frame of a case image, windowed and rendered to PNG for the slides."""

    case = models.ForeignKey(TeachingCase, on_delete=models.CASCADE, related_name="key_images")
    image = models.ForeignKey(CaseImage, on_delete=models.CASCADE, related_name="key_images")
    frame = models.PositiveIntegerField(default=0)
    preset = models.CharField(max_length=20, default="auto")
    caption = models.CharField(max_length=200, blank=True)
    png = models.FileField(upload_to=_case_file, max_length=300)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "frame", "preset"], name="key_image_once_per_view"
            )
        ]

    def __str__(self):
        return f"Key image {self.pk} of case {self.case_id}"


class CreditConsent(models.Model):
    """A person's answer to being named on the slides of a great catch or interesting case."""

    class As(models.TextChoices):
        SUBMITTER = "submitter", "Submitter"
        READER = "reader", "Reader"

    class Answer(models.TextChoices):
        ASKED = "asked", "Not answered yet"
        YES = "yes", "Yes, name me"
        NO = "no", "No, keep me anonymous"

    case = models.ForeignKey(TeachingCase, on_delete=models.CASCADE, related_name="credits")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teaching_credits"
    )
    credited_as = models.CharField(max_length=10, choices=As.choices)
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.ASKED)
    asked_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "credited_as", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "person", "credited_as"], name="credit_once_per_person_and_part"
            )
        ]

    def __str__(self):
        return f"{self.get_credited_as_display()} credit on case {self.case_id}"


class AgendaItem(models.Model):
    """A teaching case in a conference's running order, with its time and its vote."""

    class VoteState(models.TextChoices):
        NOT_OPENED = "", "Not opened"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    conference = models.ForeignKey(
        Conference, on_delete=models.CASCADE, related_name="agenda_items"
    )
    teaching_case = models.ForeignKey(
        TeachingCase, on_delete=models.PROTECT, related_name="agenda_items"
    )
    position = models.PositiveSmallIntegerField()
    minutes = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    vote_state = models.CharField(
        max_length=10, choices=VoteState.choices, default=VoteState.NOT_OPENED, blank=True
    )
    vote_opened_at = models.DateTimeField(null=True, blank=True)
    vote_closed_at = models.DateTimeField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conference", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["conference", "position"], name="agenda_item_position_unique"
            ),
            models.UniqueConstraint(
                fields=["conference", "teaching_case"], name="agenda_item_case_once"
            ),
        ]

    def __str__(self):
        return f"{self.position}. {self.teaching_case} ({self.conference})"


class VoteReceipt(models.Model):
    """Someone answered this question: an HMAC of (person, question), never the person."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="vote_receipts")
    voter_key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "voter_key"], name="vote_once_per_person")
        ]

    def __str__(self):
        return f"Vote receipt on item {self.item_id}"


class VoteCount(models.Model):
    """How many chose one option of a question: a counter, so no row is anyone's vote."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="vote_counts")
    choice = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["item", "choice"]
        constraints = [
            models.UniqueConstraint(fields=["item", "choice"], name="vote_count_once_per_choice")
        ]

    def __str__(self):
        return f"Option {self.choice + 1} of item {self.item_id}: {self.count}"

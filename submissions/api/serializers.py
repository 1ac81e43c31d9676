"""The API's shapes. Input is checked by `SubmissionForm`, so the API and the page refuse the
same things; the serializers here describe fields for the OpenAPI schema and shape output.

What a caller sees of a submission is what `submissions/disclosure.py` answers for them:
the original reader never gets the submitter unless the submitter signed, nor a time (days
only); the submitter never gets a reader they did not name themselves.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from submissions.forms import NO_ACTION
from submissions.models import (
    ActionKind,
    DiscrepancyType,
    ReaderResponse,
    Reason,
    Submission,
    Urgency,
)


class SubmissionCreateSerializer(serializers.Serializer):
    accession_number = serializers.CharField(
        max_length=64,
        help_text="PACS accession number: 4-32 letters, digits, dots or dashes; stored upper-case.",
    )
    reason = serializers.ChoiceField(choices=Reason.choices)
    reason_detail = serializers.ChoiceField(
        choices=DiscrepancyType.choices,
        required=False,
        allow_blank=True,
        help_text="Required when reason is `discrepancy`; ignored otherwise.",
    )
    description = serializers.CharField(max_length=5000)
    learning_point = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    original_reader_email = serializers.EmailField(
        required=False,
        allow_blank=True,
        help_text="The original reader. Must be on the section's roster unless "
        "`original_reader_outside` is true. Leave out when the reader is unknown.",
    )
    original_reader_outside = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The reader is outside the section's roster: they are invited to an account "
        "that reaches only the feedback addressed to them.",
    )
    required_actions = serializers.ListField(
        child=serializers.ChoiceField(
            choices=[(NO_ACTION, "No clinical action"), *ActionKind.choices]
        ),
        required=False,
        default=list,
        help_text='Actions the patient\'s care needs, or `["none"]` when it needs none. A '
        "discrepancy must say one or the other; for other reasons it may be left out.",
    )
    required_action_other = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="What the `other` action is (required when `other` is listed).",
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False, default="routine")
    attestation = serializers.BooleanField(
        required=False,
        default=False,
        help_text="I am responsible for ensuring optimal patient care for this case. "
        "Required (true) for discrepancies.",
    )
    signed = serializers.BooleanField(
        required=False, default=False, help_text="Show the submitter's name to the reader."
    )
    section = serializers.SlugField(
        required=False,
        help_text="Section slug. Optional when the caller submits to one section only.",
    )


class ActionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="For recording it done: .../actions/<id>/done/.")
    # A plain string here: the values are documented once, on `required_actions`.
    kind = serializers.CharField(help_text="One of the `required_actions` values.")
    detail = serializers.CharField(help_text="What an `other` action is.")
    due_at = serializers.SerializerMethodField(
        help_text="Due time; null for the original reader, who gets `due_on`."
    )
    due_on = serializers.SerializerMethodField(help_text="The day it is due.")
    done_at = serializers.SerializerMethodField(help_text="Null for the original reader.")
    done_on = serializers.DateField(allow_null=True)
    overdue = serializers.SerializerMethodField()

    def _exact(self, action) -> bool:
        disclosure = self.context.get("disclosures", {}).get(action.submission_id)
        return disclosure is not None and disclosure.exact_times

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_due_at(self, action):
        return (
            serializers.DateTimeField().to_representation(action.due_at)
            if self._exact(action)
            else None
        )

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_done_at(self, action):
        if action.done_at is None or not self._exact(action):
            return None
        return serializers.DateTimeField().to_representation(action.done_at)

    @extend_schema_field(serializers.DateField())
    def get_due_on(self, action):
        return timezone.localdate(action.due_at).isoformat()

    def get_overdue(self, action) -> bool:
        return action.is_overdue()


class PersonSerializer(serializers.Serializer):
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField()


class SubmissionSerializer(serializers.ModelSerializer):
    """A submission as its caller may see it. Fields a caller may not see are null."""

    section = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    viewer = serializers.SerializerMethodField(
        help_text="How the caller relates to it: submitter, reader or champion."
    )
    significance = serializers.SerializerMethodField(
        help_text="Clinical significance (none, minor, major); champions only, null otherwise."
    )
    description = serializers.SerializerMethodField()
    learning_point = serializers.SerializerMethodField()
    submitter = serializers.SerializerMethodField()
    original_reader = serializers.SerializerMethodField()
    required_actions = ActionSerializer(source="actions", many=True, read_only=True)
    attestation = serializers.SerializerMethodField()
    reader_response = serializers.ChoiceField(
        choices=ReaderResponse.choices, allow_blank=True, read_only=True
    )
    created_at = serializers.SerializerMethodField(help_text="Null for the original reader.")
    feedback_sent_at = serializers.SerializerMethodField(
        help_text="When the feedback reaches (or reached) the reader; null for the reader."
    )
    shared_on = serializers.SerializerMethodField(
        help_text="The day the feedback reaches (or reached) the reader."
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "viewer",
            "section",
            "accession_number",
            "reason",
            "reason_detail",
            "description",
            "learning_point",
            "urgency",
            "attestation",
            "submitter",
            "original_reader",
            "required_actions",
            "status",
            "created_at",
            "feedback_sent_at",
            "shared_on",
            "reader_response",
            "acknowledged_at",
            "closed_at",
            "significance",
        ]
        read_only_fields = fields

    def _disclosure(self, submission):
        return self.context["disclosures"][submission.pk]

    def _side(self, submission) -> str:
        return self._disclosure(submission).side

    def _exact(self, submission, value):
        if value is None or not self._disclosure(submission).exact_times:
            return None
        return serializers.DateTimeField().to_representation(value)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_created_at(self, submission):
        return self._exact(submission, submission.created_at)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_feedback_sent_at(self, submission):
        return self._exact(submission, submission.feedback_sent_at)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_shared_on(self, submission):
        if submission.feedback_sent_at is None:
            return None
        return timezone.localdate(submission.feedback_sent_at).isoformat()

    def get_viewer(self, submission) -> str:
        return self._side(submission)

    def get_description(self, submission) -> str:
        # The reader reads the feedback wording (a champion may have reworded it).
        if self._side(submission) == "reader":
            return submission.feedback_description
        return submission.description

    def get_learning_point(self, submission) -> str:
        if self._side(submission) == "reader":
            return submission.feedback_learning_point
        return submission.learning_point

    def get_attestation(self, submission) -> bool:
        return submission.attested_at is not None

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_submitter(self, submission):
        if self._disclosure(submission).knows_submitter:
            return PersonSerializer(submission.submitter).data
        return None

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_original_reader(self, submission):
        if self._disclosure(submission).knows_reader:
            return PersonSerializer(submission.original_reader).data
        return None

    def get_significance(self, submission) -> str | None:
        # Triage is the champions' business.
        if self._side(submission) == "champion":
            return submission.significance or ""
        return None

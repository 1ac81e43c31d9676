"""The feedback loop without a browser: each step a reader, a submitter or a champion takes
on the pages is one POST here, validated by the page's form and done by the same service.

Every step answers with the submission as the caller may see it afterwards.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from peerlearning.access import SIGNED_IN, roles_access
from peerlearning.models import Role
from submissions import selectors, services
from submissions.api.serializers import SubmissionSerializer
from submissions.disclosure import disclosures_for
from submissions.forms import (
    ActionDoneForm,
    AssignReaderForm,
    NoteForm,
    ReaderKind,
    ReplyForm,
    ResponseForm,
    TriageForm,
)
from submissions.models import RequiredAction

CHAMPION_ACCESS = roles_access(Role.CHAMPION)


class Step(APIView):
    """One POST on one submission. Subclasses say whose it is (`find`) and what to do (`act`)."""

    access = SIGNED_IN
    form_class = None
    # Form field -> API field, for messages.
    api_names: dict[str, str] = {}

    def find(self, request, pk):
        raise NotImplementedError

    def form_data(self, data) -> dict:
        return data

    def act(self, request, submission, values: dict, **kwargs) -> None:
        raise NotImplementedError

    @extend_schema(request=None, responses=SubmissionSerializer)
    def post(self, request, pk, **kwargs):
        submission = self.find(request, pk)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        values = {}
        if self.form_class is not None:
            form = self.form_class(self.form_data(request.data), **self.form_kwargs(submission))
            if not form.is_valid():
                raise ValidationError(self._named(form.errors))
            values = form.cleaned_data
        try:
            self.act(request, submission, values, **kwargs)
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise ValidationError(self._named(error.message_dict)) from error
            raise ValidationError({"non_field_errors": error.messages}) from error
        return Response(_as_seen(request.user, submission.pk))

    def form_kwargs(self, submission) -> dict:
        return {}

    def _named(self, errors) -> dict:
        named = {}
        for field, messages in errors.items():
            name = "non_field_errors" if field == "__all__" else self.api_names.get(field, field)
            named.setdefault(name, []).extend(messages)
        return named


def _as_seen(user, pk: int) -> dict:
    submission = selectors.submissions_visible_to(user=user).filter(pk=pk).first()
    if submission is None:  # e.g. a champion who just routed a case out of their sections
        return {"id": pk}
    disclosures = disclosures_for(viewer=user, submissions=[submission])
    return SubmissionSerializer(submission, context={"disclosures": disclosures}).data


# The original reader -------------------------------------------------------------------------


class ReaderStep(Step):
    def find(self, request, pk):
        return selectors.feedback_get_for_reader(user=request.user, pk=pk)


class FeedbackRespond(ReaderStep):
    """The reader's response: `acknowledged`, `agree` or `disagree`."""

    form_class = ResponseForm

    @extend_schema(
        request=inline_serializer("FeedbackResponse", {"response": serializers.CharField()}),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        services.feedback_respond(
            submission=submission, response=values["response"], actor=request.user, request=request
        )


class FeedbackReply(ReaderStep):
    """A message in the private thread; the submitter reads it without the reader's name
    unless the submitter named the reader."""

    form_class = ReplyForm

    @extend_schema(
        request=inline_serializer("Reply", {"body": serializers.CharField()}),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        services.reply_post(submission=submission, author=request.user, body=values["body"])


class ActionDone(Step):
    """Record a clinical action done (`done_on` defaults to today; `note` optional)."""

    form_class = ActionDoneForm

    def form_data(self, data):
        done_on = data.get("done_on") or timezone.localdate().isoformat()
        return {"done_on": done_on, "note": data.get("note") or ""}

    @extend_schema(
        request=inline_serializer(
            "ActionDone",
            {
                "done_on": serializers.DateField(required=False),
                "note": serializers.CharField(required=False),
            },
        ),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, *, action_pk):
        action = get_object_or_404(RequiredAction, pk=action_pk, submission=submission)
        services.action_complete(
            action=action, actor=request.user, done_on=values["done_on"], note=values["note"]
        )


class FeedbackActionDone(ReaderStep, ActionDone):
    pass


# The submitter -------------------------------------------------------------------------------


class SubmissionReply(FeedbackReply):
    access = roles_access(Role.RADIOLOGIST, Role.TRAINEE)

    def find(self, request, pk):
        return selectors.submission_get_for_submitter(user=request.user, pk=pk)


# Champions -----------------------------------------------------------------------------------


class ChampionStep(Step):
    access = CHAMPION_ACCESS

    def find(self, request, pk):
        return selectors.submission_get_for_champion(user=request.user, pk=pk)


class QueueTriage(ChampionStep):
    """Reason, discrepancy type, significance, conference candidate, counted (with why not)."""

    form_class = TriageForm

    @extend_schema(
        request=inline_serializer(
            "QueueTriage",
            {
                "reason": serializers.CharField(),
                "reason_detail": serializers.CharField(required=False),
                "significance": serializers.CharField(required=False),
                "conference_candidate": serializers.BooleanField(required=False),
                "counted": serializers.BooleanField(required=False),
                "not_counted_reason": serializers.CharField(required=False),
            },
        ),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        services.submission_triage(submission=submission, actor=request.user, **values)


class QueueReader(ChampionStep):
    """Identify the original reader (`original_reader_email`; `original_reader_outside` for
    someone outside the roster). The submitter is not told who it is."""

    form_class = AssignReaderForm
    api_names = {"reader": "original_reader_email", "reader_kind": "original_reader_outside"}

    def form_kwargs(self, submission):
        return {"section": submission.section, "submitter": submission.submitter}

    def form_data(self, data):
        outside = bool(data.get("original_reader_outside"))
        return {
            "reader_kind": ReaderKind.OUTSIDE if outside else ReaderKind.ROSTER,
            "reader": data.get("original_reader_email") or "",
        }

    @extend_schema(
        request=inline_serializer(
            "QueueReader",
            {
                "original_reader_email": serializers.EmailField(),
                "original_reader_outside": serializers.BooleanField(required=False),
            },
        ),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        services.reader_assign(
            submission=submission,
            actor=request.user,
            reader=values["reader_user"],
            reader_email=values["reader_email"],
        )


class QueueNote(ChampionStep):
    form_class = NoteForm

    @extend_schema(
        request=inline_serializer("QueueNote", {"text": serializers.CharField()}),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        services.note_add(submission=submission, actor=request.user, text=values["text"])


class QueueRoute(ChampionStep):
    """Route to the quality team (`note` optional)."""

    @extend_schema(
        request=inline_serializer("QueueRoute", {"note": serializers.CharField(required=False)}),
        responses=SubmissionSerializer,
    )
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        services.submission_route_to_quality(
            submission=submission, actor=request.user, note=str(request.data.get("note") or "")
        )


class QueueClose(ChampionStep):
    def act(self, request, submission, values, **kwargs):
        services.submission_close(submission=submission, actor=request.user)


class QueueReopen(ChampionStep):
    def act(self, request, submission, values, **kwargs):
        services.submission_reopen(submission=submission, actor=request.user)


class QueueActionDone(ChampionStep, ActionDone):
    pass


class ActionsChangeSerializer(serializers.Serializer):
    add = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Action kinds."
    )
    add_other = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="What an added `other` is."
    )
    remove = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Pending kinds."
    )
    reason = serializers.CharField(help_text="Why: kept in the submission's history.")


class QueueActions(ChampionStep):
    """Correct the clinical actions: add kinds, remove pending ones, with a reason."""

    @extend_schema(request=ActionsChangeSerializer, responses=SubmissionSerializer)
    def post(self, request, pk, **kwargs):
        return super().post(request, pk, **kwargs)

    def act(self, request, submission, values, **kwargs):
        incoming = ActionsChangeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        services.actions_change(
            submission=submission,
            actor=request.user,
            add=data["add"],
            add_other=data["add_other"],
            remove=data["remove"],
            reason=data["reason"],
        )

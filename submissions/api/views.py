"""The submissions API: submit, list what the caller may see, read one."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from peerlearning.access import SIGNED_IN
from peerlearning.lib.audit import AuditedRead, AuditedReadAPIMixin
from submissions import selectors, services
from submissions.api.serializers import SubmissionCreateSerializer, SubmissionSerializer
from submissions.disclosure import disclosure_for, disclosures_for
from submissions.forms import ReaderKind, SubmissionForm

# API field -> form field, so form errors come back under the names the caller sent.
FORM_TO_API = {
    "reader": "original_reader_email",
    "reader_kind": "original_reader_email",
    "action_other": "required_action_other",
}


def _form_data(data: dict, sections: list) -> dict:
    """The API's JSON as the form's fields; `sections`: those the caller submits to."""
    section_slug = data.get("section")
    section = None
    if section_slug:
        section = next((s for s in sections if s.slug == section_slug), None)
        if section is None:
            raise ValidationError(
                {"section": [f"You do not submit to a section called “{section_slug}”."]}
            )
    else:
        if len(sections) > 1:
            raise ValidationError(
                {"section": ["You submit to several sections: say which (its slug)."]}
            )
        section = sections[0] if sections else None
    email = data.get("original_reader_email") or ""
    if not email:
        kind = ReaderKind.UNKNOWN
    elif data.get("original_reader_outside"):
        kind = ReaderKind.OUTSIDE
    else:
        kind = ReaderKind.ROSTER
    return {
        "section": section.pk if section else "",
        "accession_number": data["accession_number"],
        "reason": data["reason"],
        "reason_detail": data.get("reason_detail", ""),
        "description": data["description"],
        "learning_point": data.get("learning_point", ""),
        "reader_kind": kind,
        "reader": email,
        "required_actions": data.get("required_actions") or [],
        "action_other": data.get("required_action_other", ""),
        "urgency": data.get("urgency") or "routine",
        "attestation": "on" if data.get("attestation") else "",
        "signed": "on" if data.get("signed") else "",
    }


# The form's messages speak of the page's controls; the API's name its fields instead.
API_MESSAGES = {
    "detail_missing": "A discrepancy needs `reason_detail`: perceptual, interpretive, "
    "communication, technical or other.",
    "attestation_missing": "A discrepancy needs `attestation: true`: the submitter remains "
    "responsible for the patient's care.",
    "none_and_actions": '`required_actions`: "none" cannot be listed with other actions.',
    "actions_missing": "A discrepancy must list its `required_actions`, or "
    '`["none"]` when the patient needs no clinical action.',
    "other_missing": '`required_action_other` says what the "other" action is; it is '
    "required when `required_actions` lists other.",
}


def _api_errors(form) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, found in form.errors.as_data().items():
        name = FORM_TO_API.get(field, "non_field_errors" if field == "__all__" else field)
        for error in found:
            message = API_MESSAGES.get(error.code) or " ".join(error.messages)
            errors.setdefault(name, []).append(message)
    return errors


class SubmissionListCreate(AuditedReadAPIMixin, GenericAPIView):
    access = SIGNED_IN
    audited_read = AuditedRead("submissions.submission", id_kwarg=None)
    serializer_class = SubmissionSerializer

    def get_queryset(self):
        visible = selectors.submissions_visible_to(user=self.request.user)
        since = self.request.query_params.get("updated_since")
        if since is None:
            return visible
        moment = parse_datetime(since.replace(" ", "+"))
        if moment is None:
            raise ValidationError(
                {"updated_since": ["An ISO 8601 date and time, e.g. 2026-12-08T09:30:00Z."]}
            )
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        # Oldest change first, so a poller can carry on from the last row it read.
        return visible.filter(updated_at__gte=moment).order_by("updated_at", "id")

    @extend_schema(
        summary="Submissions the caller may see",
        description="Own submissions, feedback addressed to the caller (without the submitter "
        "unless signed) and, for champions, everything in their sections. With "
        "`?updated_since=<ISO 8601>`: only those changed since then, oldest change first: "
        "poll with the last `updated_at` you read.",
        responses=SubmissionSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        serializer = SubmissionSerializer(
            page,
            many=True,
            context={"disclosures": disclosures_for(viewer=request.user, submissions=page)},
        )
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="Submit a case",
        request=SubmissionCreateSerializer,
        responses={
            201: SubmissionSerializer,
            400: OpenApiResponse(description="Field-level messages; nothing was written."),
            403: OpenApiResponse(description="The caller is not a radiologist or trainee."),
        },
        examples=[
            OpenApiExample(
                "A perceptual miss needing an addendum",
                request_only=True,
                value={
                    "accession_number": "A12345678",
                    "reason": "discrepancy",
                    "reason_detail": "perceptual",
                    "description": "Small right frontal subdural hematoma not reported.",
                    "learning_point": "Review the vertex on coronal reformats.",
                    "original_reader_email": "quinn.reader@example.org",
                    "required_actions": ["addendum", "contact_clinician"],
                    "urgency": "urgent",
                    "attestation": True,
                },
            )
        ],
    )
    def post(self, request):
        sections = selectors.submitter_sections(user=request.user)
        if not sections:
            raise PermissionDenied("Only radiologists and trainees submit cases.")
        incoming = SubmissionCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        form = SubmissionForm(_form_data(incoming.validated_data, sections), user=request.user)
        if not form.is_valid():
            raise ValidationError(_api_errors(form))
        try:
            submission = services.submission_create(
                submitter=request.user, request=request, **form.service_kwargs()
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        # Answered from the instance just written (its section, reader and submitter are
        # the objects the form resolved); only its actions are read back, in id order.
        # The caller is its submitter: no need to read the sections they champion.
        disclosure = disclosure_for(viewer=request.user, submission=submission, championed=set())
        body = SubmissionSerializer(
            submission, context={"disclosures": {submission.pk: disclosure}}
        )
        return Response(body.data, status=status.HTTP_201_CREATED)


class SubmissionDetail(AuditedReadAPIMixin, GenericAPIView):
    access = SIGNED_IN
    audited_read = AuditedRead("submissions.submission")
    serializer_class = SubmissionSerializer

    @extend_schema(summary="One submission, as the caller may see it")
    def get(self, request, pk: int):
        submission = selectors.submissions_visible_to(user=request.user).filter(pk=pk).first()
        if submission is None:
            raise Http404
        disclosures = disclosures_for(viewer=request.user, submissions=[submission])
        body = SubmissionSerializer(submission, context={"disclosures": disclosures})
        return Response(body.data)

"""Results posted by the reporting system as FHIR DiagnosticReports, and my suggestions."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from peerlearning.access import SIGNED_IN, roles_access
from peerlearning.lib.audit import AuditedRead, AuditedReadAPIMixin
from peerlearning.lib.uploads import SafeJSONParser
from peerlearning.models import Role
from submissions.feeds import fhir
from submissions.feeds.receive import report_receive
from submissions.feeds.report import MessageRefused
from submissions.feeds.selectors import suggestion_get_for, suggestions_open_for
from submissions.feeds.services import suggestion_dismiss

FEED_PERMISSION = "submissions.add_resultmessage"


class FhirJSONParser(SafeJSONParser):
    media_type = "application/fhir+json"


class DiagnosticReportView(APIView):
    """Accept one FHIR R4 DiagnosticReport (preliminary, final, amended, corrected, appended).

    For the reporting system's integration account: a user holding the
    `submissions.add_resultmessage` permission (granted in the admin).
    """

    access = SIGNED_IN
    parser_classes = [FhirJSONParser, SafeJSONParser]

    @extend_schema(
        request={"application/fhir+json": dict, "application/json": dict},
        responses={
            201: OpenApiResponse(description="Stored and applied"),
            200: OpenApiResponse(description="Already received: nothing changed"),
            422: OpenApiResponse(description="Not a DiagnosticReport this feed can use"),
        },
    )
    def post(self, request):
        if not request.user.has_perm(FEED_PERMISSION):
            raise PermissionDenied(
                "This account may not post results: it needs the permission "
                f"“{FEED_PERMISSION}” (Django admin, Users)."
            )
        try:
            report = fhir.diagnostic_report_parse(request.data)
        except MessageRefused as refused:
            return Response(
                {"resourceType": "OperationOutcome", "detail": refused.reason},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        created, outcome = report_receive(report=report, raw=fhir.raw_text(request.data))
        return Response(
            {"accession_number": report.accession_number, "outcome": outcome},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    accession_number = serializers.CharField()
    original_reader_email = serializers.EmailField(
        source="original_reader.email", default=None, allow_null=True
    )
    earlier_impression = serializers.CharField()
    later_impression = serializers.CharField()
    created_on = serializers.DateField()


SUBMITTER_ACCESS = roles_access(Role.RADIOLOGIST, Role.TRAINEE)


class SuggestionList(AuditedReadAPIMixin, GenericAPIView):
    """My open suggestions from the results feed (nobody else's)."""

    access = SUBMITTER_ACCESS
    audited_read = AuditedRead("submissions.suggestion", id_kwarg=None)
    serializer_class = SuggestionSerializer

    def get_queryset(self):
        return suggestions_open_for(user=self.request.user)

    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SuggestionSerializer(page, many=True).data)


class SuggestionDismiss(APIView):
    access = SUBMITTER_ACCESS

    @extend_schema(request=None, responses={204: None})
    def post(self, request, pk):
        suggestion = suggestion_get_for(user=request.user, pk=pk)
        suggestion_dismiss(suggestion=suggestion, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

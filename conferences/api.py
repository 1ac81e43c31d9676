"""The conferences API: list and schedule conferences, read and import attendance."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from conferences.attendance.files import MAX_BYTES
from conferences.attendance.imports import ImportRefused, attendance_import
from conferences.attendance.models import Attendance, AttendanceImportRow
from conferences.attendance.selectors import attendance_for_conference
from conferences.meetings.models import Conference
from conferences.meetings.selectors import (
    ATTENDANCE_READERS,
    conference_get_for_attendance_reader,
    conference_get_for_manager,
    conference_get_for_user,
    conferences_visible_to,
)
from conferences.meetings.services import conference_create
from conferences.roles import MANAGERS
from peerlearning.access import ALL_ROLES, roles_access, user_sections_with_role
from peerlearning.lib.audit import AuditedRead, AuditedReadAPIMixin
from peerlearning.models import Section


class ConferenceSerializer(serializers.ModelSerializer):
    section = serializers.SlugRelatedField(slug_field="slug", queryset=Section.objects.all())

    class Meta:
        model = Conference
        fields = [
            "id",
            "section",
            "title",
            "starts_at",
            "ends_at",
            "location",
            "virtual_url",
            "cme_hours",
            "status",
        ]
        read_only_fields = ["id", "status"]

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError(
                {"ends_at": "The conference must end after it starts."}
            )
        if not attrs.get("location") and not attrs.get("virtual_url"):
            raise serializers.ValidationError(
                {"virtual_url": "Give a place (location), a virtual meeting link, or both."}
            )
        return attrs


class ConferenceList(generics.ListCreateAPIView):
    """Conferences of the caller's sections, latest first; champions and assistants schedule."""

    access = roles_access(*ALL_ROLES)
    serializer_class = ConferenceSerializer

    def get_queryset(self):
        rows = conferences_visible_to(self.request.user).order_by("-starts_at")
        if self.request.query_params.get("section"):
            rows = rows.filter(section__slug=self.request.query_params["section"])
        return rows

    @extend_schema(
        parameters=[OpenApiParameter("section", str, description="Only this section (slug).")]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        description=(
            "Schedule a conference. The section's members are invited by e-mail with a calendar "
            "file. Only the section's champions and admin assistants may."
        ),
        responses={201: ConferenceSerializer, 400: OpenApiResponse(description="Invalid data")},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer):
        section = serializer.validated_data["section"]
        if section.pk not in user_sections_with_role(self.request.user, *MANAGERS):
            raise PermissionDenied("Only the section's champions and admin assistants schedule.")
        data = dict(serializer.validated_data)
        try:
            serializer.instance = conference_create(actor=self.request.user, **data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from None


class ConferenceDetail(generics.RetrieveAPIView):
    access = roles_access(*ALL_ROLES)
    serializer_class = ConferenceSerializer

    def get_object(self):
        return conference_get_for_user(user=self.request.user, pk=self.kwargs["pk"])


class AttendanceSerializer(serializers.ModelSerializer):
    email = serializers.SerializerMethodField()
    name = serializers.CharField(source="display_name")

    class Meta:
        model = Attendance
        fields = ["email", "name", "kind", "minutes_present", "credited", "recorded_via"]

    def get_email(self, attendance) -> str:
        return attendance.user.email if attendance.user_id else ""


class ConferenceAttendance(AuditedReadAPIMixin, generics.ListAPIView):
    """Who attended: e-mail (empty for guests), minutes present, credited, how recorded."""

    access = roles_access(*ATTENDANCE_READERS)
    audited_read = AuditedRead("conferences.conference", what="attendance")
    serializer_class = AttendanceSerializer
    pagination_class = None

    def get_queryset(self):
        conference = conference_get_for_attendance_reader(
            user=self.request.user, pk=self.kwargs["pk"]
        )
        return attendance_for_conference(conference)


class ImportRowSerializer(serializers.ModelSerializer):
    person_email = serializers.SerializerMethodField()
    reason = serializers.CharField(source="note")
    how = serializers.CharField(source="match")

    class Meta:
        model = AttendanceImportRow
        fields = ["name", "email", "lines", "minutes", "person_email", "how", "reason"]

    def get_person_email(self, row) -> str:
        return row.user.email if row.user_id else ""


ImportResult = inline_serializer(
    "AttendanceImportResult",
    {
        "import_id": serializers.IntegerField(),
        "created": serializers.BooleanField(
            help_text="False when this very file was imported before; nothing changed."
        ),
        "platform": serializers.ChoiceField(choices=["zoom", "teams"]),
        "rows_read": serializers.IntegerField(),
        "attendance_created": serializers.IntegerField(),
        "attendance_updated": serializers.IntegerField(),
        "matched": ImportRowSerializer(many=True),
        "unmatched": ImportRowSerializer(many=True),
        "warnings": serializers.ListField(child=serializers.CharField()),
    },
)
ImportProblem = inline_serializer(
    "AttendanceImportRefused",
    {
        "detail": serializers.CharField(),
        "problems": serializers.ListField(child=serializers.CharField()),
    },
)


class ConferenceAttendanceImport(APIView):
    """Import a Zoom participant report or a Teams attendance report (all or nothing)."""

    access = roles_access(*MANAGERS)
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "AttendanceImportUpload", {"file": serializers.FileField()}
            )
        },
        responses={
            200: ImportResult,
            201: ImportResult,
            400: ImportProblem,
            404: OpenApiResponse(description="No such conference in your sections"),
        },
        description=(
            "Rows are matched to people by e-mail, then by name. A file with any problem is "
            "refused with every problem named, and nothing is written. Re-importing the same "
            "file changes nothing (200 with created=false)."
        ),
    )
    def post(self, request, pk):
        conference = conference_get_for_manager(user=request.user, pk=pk)
        upload = request.FILES.get("file")
        if upload is None:
            return self._refused(["Send the report as a multipart field named “file”."])
        if upload.size > MAX_BYTES:
            return self._refused(["The file is larger than 10 MB."])
        try:
            outcome = attendance_import(
                conference=conference,
                data=upload.read(),
                filename=upload.name or "",
                actor=request.user,
                request=request,
            )
        except ImportRefused as refusal:
            return self._refused(refusal.problems)
        done = outcome.source_import
        body = {
            "import_id": done.pk,
            "created": outcome.created,
            "platform": done.platform,
            "rows_read": done.rows_read,
            "attendance_created": outcome.attendance_created,
            "attendance_updated": outcome.attendance_updated,
            "matched": ImportRowSerializer(outcome.matched, many=True).data,
            "unmatched": ImportRowSerializer(outcome.unmatched, many=True).data,
            "warnings": done.warnings,
        }
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else 200)

    def _refused(self, problems: list[str]) -> Response:
        return Response(
            {"detail": "The file was not imported; nothing was changed.", "problems": problems},
            status=status.HTTP_400_BAD_REQUEST,
        )

"""The Django admin for reporting (site administrators only).

OPPE data sources: TAT rows (read-only, with the "Import TAT file" upload page on their
list), TAT imports, credentials, FPPE events, evaluation cycles and forms, the OPPE policy.
Leaders enter the same data on their own pages (reporting/oppe/views.py).
"""

import datetime
import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Value, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from peerlearning.admin import AuditedAdminMixin
from peerlearning.lib.audit import audit_record
from peerlearning.lib.queue import task_enqueue
from peerlearning.models import AuditEvent, Role, User
from reporting.oppe.models import (
    Credential,
    EvaluationCycle,
    FppeEvent,
    OppePolicy,
    PeerEvaluation,
    TatImport,
    TurnaroundTime,
)
from reporting.oppe.sources import CURRENT, EXPIRED, EXPIRING, NO_EXPIRY, STATE_LABELS
from reporting.oppe.tat import COLUMNS, tat_header_problems

logger = logging.getLogger(__name__)

# OPPE data sources ------------------------------------------------------------------------

TAT_MAX_BYTES = 512 * 1024 * 1024


class RadiologistChoicesMixin:
    """Foreign keys to people offer radiologists only."""

    radiologist_fields = ("radiologist",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.radiologist_fields:
            kwargs["queryset"] = User.objects.filter(
                pk__in=User.objects.filter(memberships__role=Role.RADIOLOGIST).values("pk")
            ).order_by("last_name", "first_name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TatUploadForm(forms.Form):
    file = forms.FileField(
        label="TAT file (CSV, UTF-8)", help_text="Columns: " + ",".join(COLUMNS) + "."
    )
    skip_unknown = forms.BooleanField(
        required=False,
        label="Skip rows of people who are not radiologists on the roster (listed as a "
        "warning) instead of refusing the file",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > TAT_MAX_BYTES:
            raise forms.ValidationError(
                "The file is larger than 512 MB; split it, or use manage.py import_tat."
            )
        problems = tat_header_problems(upload)
        if problems:
            raise forms.ValidationError(problems)
        return upload


@admin.register(TurnaroundTime)
class TurnaroundTimeAdmin(admin.ModelAdmin):
    change_list_template = "reporting/oppe_tat_change_list.html"
    list_display = (
        "accession",
        "radiologist",
        "modality",
        "exam_completed_at",
        "report_finalized_at",
        "minutes",
    )
    list_filter = ("modality",)
    list_select_related = ("radiologist",)
    search_fields = ("=accession", "radiologist__email")
    date_hierarchy = "exam_completed_at"
    # A million rows: no second COUNT(*) for "of N total".
    show_full_result_count = False
    readonly_fields = [field.name for field in TurnaroundTime._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="minutes", ordering="turnaround_seconds")
    def minutes(self, row):
        return f"{row.turnaround_minutes:.0f}"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="reporting_turnaroundtime_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        # Accession numbers identify patients' exams: reading the list is recorded.
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type=self.model._meta.label_lower,
            request=request,
            detail={"what": "tat list"},
        )
        extra_context = {**(extra_context or {}), "can_import": self.can_import(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type=self.model._meta.label_lower,
            object_id=object_id,
            request=request,
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def can_import(self, request) -> bool:
        return request.user.has_perm("reporting.add_tatimport")

    def import_view(self, request):
        """Upload → the header is checked now → a worker checks every line and imports."""
        if not self.can_import(request):
            raise PermissionDenied
        form = TatUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            record = TatImport(
                file_name=upload.name[:255],
                skip_unknown=form.cleaned_data["skip_unknown"],
                uploaded_by=request.user,
            )
            record.file.save(f"{timezone.now():%Y%m%d-%H%M%S}.csv", upload, save=False)
            record.save()
            task_enqueue("reporting.tasks.import_tat_upload", record.pk)
            messages.info(
                request,
                f"The file “{record.file_name}” is being checked and imported; reload this "
                "page to see the outcome.",
            )
            return redirect(reverse("admin:reporting_tatimport_change", args=[record.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import TAT file",
            "form": form,
            "columns": COLUMNS,
            "recent": TatImport.objects.select_related("uploaded_by")[:10],
        }
        return TemplateResponse(request, "reporting/oppe_tat_import.html", context)


@admin.register(TatImport)
class TatImportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "file_name",
        "uploaded_by",
        "status",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
    )
    list_filter = ("status",)
    list_select_related = ("uploaded_by",)
    fields = (
        "file_name",
        "uploaded_by",
        "status",
        "skip_unknown",
        "created_at",
        "started_at",
        "finished_at",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "problems",
        "notes",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="problems (nothing was written)")
    def problems(self, record):
        if not record.errors:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((e,) for e in record.errors))
        )

    @admin.display(description="warnings")
    def notes(self, record):
        if not record.warnings:
            return "—"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in record.warnings))
        )


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("expired", "Expired"), ("soon", "Expiring soon"), ("current", "Current")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        soon = today + datetime.timedelta(days=OppePolicy.load().credential_warning_days)
        if self.value() == "expired":
            return queryset.filter(expires_on__lt=today)
        if self.value() == "soon":
            return queryset.filter(expires_on__gte=today, expires_on__lte=soon)
        if self.value() == "current":
            return queryset.exclude(expires_on__lte=soon)
        return queryset


@admin.register(Credential)
class CredentialAdmin(AuditedAdminMixin, RadiologistChoicesMixin, admin.ModelAdmin):
    list_display = ("radiologist", "kind", "issuer", "number", "expires_on", "flag")
    list_filter = ("kind", ExpiryFilter)
    list_select_related = ("radiologist",)
    search_fields = ("radiologist__email", "radiologist__last_name", "issuer", "number")
    date_hierarchy = "expires_on"

    def get_queryset(self, request):
        today = timezone.localdate()
        soon = today + datetime.timedelta(days=OppePolicy.load().credential_warning_days)
        return (
            super()
            .get_queryset(request)
            .annotate(
                state=Case(
                    When(expires_on__isnull=True, then=Value(STATE_LABELS[NO_EXPIRY])),
                    When(expires_on__lt=today, then=Value(STATE_LABELS[EXPIRED])),
                    When(expires_on__lte=soon, then=Value(STATE_LABELS[EXPIRING])),
                    default=Value(STATE_LABELS[CURRENT]),
                )
            )
        )

    @admin.display(description="status", ordering="expires_on")
    def flag(self, credential):
        return credential.state


@admin.register(FppeEvent)
class FppeEventAdmin(AuditedAdminMixin, RadiologistChoicesMixin, admin.ModelAdmin):
    list_display = (
        "radiologist",
        "referred_on",
        "disposition",
        "behaviour_concern",
        "reviewed_at_committee",
        "other_measure",
        "from_oppe",
        "reference",
    )
    list_filter = ("disposition", "behaviour_concern", "reviewed_at_committee", "from_oppe")
    list_select_related = ("radiologist",)
    search_fields = ("radiologist__email", "radiologist__last_name", "reference")
    date_hierarchy = "referred_on"
    exclude = ("created_by",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class PeerEvaluationInline(RadiologistChoicesMixin, admin.TabularInline):
    model = PeerEvaluation
    radiologist_fields = ("subject", "evaluator")
    extra = 0
    fields = ("subject", "evaluator", "submitted_at")
    readonly_fields = ("submitted_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("subject", "evaluator")


@admin.register(EvaluationCycle)
class EvaluationCycleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "period_start", "period_end", "due_on", "closed_at")
    list_filter = ("sections",)
    filter_horizontal = ("sections",)
    exclude = ("created_by",)
    inlines = [PeerEvaluationInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(PeerEvaluation)
class PeerEvaluationAdmin(AuditedAdminMixin, RadiologistChoicesMixin, admin.ModelAdmin):
    radiologist_fields = ("subject", "evaluator")
    list_display = ("cycle", "subject", "evaluator", "submitted_at")
    list_filter = ("cycle",)
    list_select_related = ("cycle", "subject", "evaluator")
    search_fields = ("subject__email", "subject__last_name", "evaluator__email")


@admin.register(OppePolicy)
class OppePolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    exclude = ()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the form.
        return redirect(reverse("admin:reporting_oppepolicy_change", args=[OppePolicy.load().pk]))

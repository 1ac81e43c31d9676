"""The Django admin for site administrators: conferences, attendance, actions, settings.

Day-to-day work happens on the app's own pages; the admin is for repairs. Imports and
their lines are read-only: they record what a file said.
"""

from django.contrib import admin

from conferences.attendance.models import (
    Attendance,
    AttendanceImport,
    AttendanceImportRow,
    AttendeeAlias,
)
from conferences.cases.models import AgendaItem, CaseUpload, TeachingCase
from conferences.meetings.models import (
    Conference,
    ConferenceSettings,
    ImprovementAction,
    ImprovementActionChange,
)
from peerlearning.admin import AuditedAdminMixin
from peerlearning.lib.audit import AuditedReadAdminMixin


@admin.register(Conference)
class ConferenceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "section", "starts_at", "status", "cme_hours"]
    list_filter = ["status", "section"]
    search_fields = ["title"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["presenters", "created_by"]
    readonly_fields = ["check_in_code", "sequence", "created_at", "updated_at"]


@admin.register(Attendance)
class AttendanceAdmin(AuditedReadAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["conference", "user", "guest_name", "kind", "minutes_present", "credited"]
    list_filter = ["recorded_via", "kind", "credited"]
    search_fields = ["user__email", "guest_name", "conference__title"]
    raw_id_fields = ["conference", "user", "source_import", "recorded_by"]
    list_select_related = ["conference", "user"]


class AttendanceImportRowInline(admin.TabularInline):
    model = AttendanceImportRow
    fields = ["name", "email", "lines", "minutes", "user", "match", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(AttendanceImport)
class AttendanceImportAdmin(AuditedReadAdminMixin, admin.ModelAdmin):
    list_display = ["conference", "platform", "filename", "imported_at", "people_matched"]
    list_filter = ["platform"]
    inlines = [AttendanceImportRowInline]
    readonly_fields = [f.name for f in AttendanceImport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AttendeeAlias)
class AttendeeAliasAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name_key", "user", "section", "created_at"]
    search_fields = ["name_key", "user__email"]
    raw_id_fields = ["user"]


@admin.register(ConferenceSettings)
class ConferenceSettingsAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "section",
        "credit_minimum_minutes",
        "credit_minimum_percent",
        "recording_credit_allowed",
        "recording_window_days",
    ]


class ImprovementActionChangeInline(admin.TabularInline):
    model = ImprovementActionChange
    fields = ["changed_at", "changed_by", "changes"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(ImprovementAction)
class ImprovementActionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "section", "category", "status", "escalated", "due_on"]
    list_filter = ["status", "category", "escalated", "section"]
    search_fields = ["title"]
    raw_id_fields = ["conference", "owner", "created_by"]
    inlines = [ImprovementActionChangeInline]


# Teaching cases: for repairs (a stuck upload, a draft to delete). Edits of the text belong
# on the app's pages, where the anonymizer's check runs; here the check fields are read-only.
# The cases' identifying header values (TeachingCaseIdentity) are deliberately not here.


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    fields = ["conference", "position", "minutes", "vote_state"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(TeachingCase)
class TeachingCaseAdmin(AuditedReadAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "section", "modality", "body_part", "check_passed", "updated_at"]
    list_filter = ["check_passed", "section", "modality"]
    search_fields = ["title", "tags"]
    raw_id_fields = ["sources", "created_by"]
    readonly_fields = ["uuid", "check_passed", "check_findings", "checked_at"]
    inlines = [AgendaItemInline]


@admin.register(CaseUpload)
class CaseUploadAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["uuid", "case", "status", "files_done", "files_total", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in CaseUpload._meta.fields if f.name != "status"]

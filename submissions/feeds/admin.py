"""The feed's messages for site administrators: read-only, and each look is audited."""

from django.contrib import admin

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent
from submissions.feeds.models import ResultMessage, Suggestion


@admin.register(ResultMessage)
class ResultMessageAdmin(admin.ModelAdmin):
    """Raw messages hold PHI (names, MRNs in PID): kept RESULT_MESSAGES_KEEP_DAYS days."""

    list_display = ["received_at", "source", "control_id", "result_status", "outcome"]
    list_filter = ["source", "result_status"]
    search_fields = ["control_id", "accession_number"]
    date_hierarchy = "received_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type="submissions.resultmessage",
            object_id=object_id,
            request=request,
        )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    """Counts only: who got which suggestion is the radiologist's own business."""

    list_display = ["id", "kind", "created_at", "dismissed_at"]
    list_filter = ["kind"]
    fields = ["kind", "created_at", "dismissed_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

"""Site administrators: section settings, and a read-only look at submissions.

The submission list deliberately offers no filter or column by original reader: a tally of
discrepancies per reader is what the program promises never to show.
"""

from django.contrib import admin

from submissions.models import SectionSubmissionSettings, Submission


@admin.register(SectionSubmissionSettings)
class SectionSubmissionSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "section",
        "review_before_sending",
        "accession_in_email",
        "attach_pdf",
        "urgent_window_hours",
        "routine_window_hours",
    ]
    list_select_related = ["section"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "section", "reason", "status", "created_at"]
    list_filter = ["section", "status", "reason"]
    list_select_related = ["section"]
    search_fields = ["accession_number"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The results feed (HL7/FHIR) registers its own tables.
from submissions.feeds import admin as feeds_admin  # noqa: E402, F401

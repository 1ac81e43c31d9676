"""Site administrators: section settings, and a read-only look at submissions.

The submission list offers no filter, lookup or column by original reader: a tally of
discrepancies per reader is what the program promises never to show. `lookup_allowed`
admits only the lookups the list's own filters and date hierarchy make, so a hand-typed
`?original_reader=6` is refused (400) rather than obeyed. The change page leaves the reader
out; a superuser who must know (a legal hold, a complaint) reveals it on a page of its own,
with a reason, and the reveal is audited.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from peerlearning.lib.audit import AuditedReadAdminMixin, audit_record
from peerlearning.models import AuditEvent
from submissions.models import SectionSubmissionSettings, Submission


@admin.register(SectionSubmissionSettings)
class SectionSubmissionSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "section",
        "review_before_sending",
        "feedback_batching",
        "accession_in_email",
        "attach_pdf",
        "urgent_window_hours",
        "routine_window_hours",
    ]
    list_select_related = ["section"]


class RevealForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        help_text="Why the reader must be known (a reference, not patient details). Recorded "
        "in the audit trail.",
    )


# The list's filters and date hierarchy make exactly these; nothing else is looked up.
ALLOWED_LOOKUPS = frozenset(
    {
        "section__id__exact",
        "status__exact",
        "reason__exact",
        "created_at__year",
        "created_at__month",
        "created_at__day",
    }
)


@admin.register(Submission)
class SubmissionAdmin(AuditedReadAdminMixin, admin.ModelAdmin):
    list_display = ["id", "section", "reason", "status", "created_at"]
    list_filter = ["section", "status", "reason"]
    list_select_related = ["section"]
    search_fields = ["accession_number"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    exclude = ["original_reader"]
    readonly_fields = ["original_reader_hidden"]

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ALLOWED_LOOKUPS

    @admin.display(description="original reader")
    def original_reader_hidden(self, obj):
        if obj.original_reader_id is None:
            return "Unknown"
        url = reverse("admin:submissions_submission_reveal_reader", args=[obj.pk])
        return format_html(
            'Hidden. <a href="{}">Reveal the original reader</a> (superusers; audited).', url
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/reveal-reader/",
                self.admin_site.admin_view(self.reveal_reader_view),
                name="submissions_submission_reveal_reader",
            ),
            *super().get_urls(),
        ]

    def reveal_reader_view(self, request, pk: int):
        if not request.user.is_superuser:
            raise PermissionDenied
        submission = get_object_or_404(Submission.objects.select_related("original_reader"), pk=pk)
        form = RevealForm(request.POST or None)
        reader = None
        if request.method == "POST" and form.is_valid():
            audit_record(
                action=AuditEvent.Action.VIEW,
                obj=submission,
                request=request,
                detail={"what": "reveal reader", "reason": form.cleaned_data["reason"]},
            )
            reader = submission.original_reader
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Original reader of submission #{submission.pk}",
            "submission": submission,
            "form": form,
            "reader": reader,
        }
        return TemplateResponse(request, "admin/submissions/reveal_reader.html", context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The results feed (HL7/FHIR) registers its own tables.
from submissions.feeds import admin as feeds_admin  # noqa: E402, F401

"""Admin for generated reports and OPPE referrals (imported from ReportingConfig.ready).

Read-only: reports are generated from the Reports page and referrals recorded on a
radiologist's OPPE page; the admin lets a site administrator see jobs that failed or wait.
"""

from django.contrib import admin

from reporting.oppe.models import OppeReferral
from reporting.reports.models import GeneratedReport


@admin.register(GeneratedReport)
class GeneratedReportAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "file_format", "status", "requested_by", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["requested_by"]
    search_fields = ["title"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OppeReferral)
class OppeReferralAdmin(admin.ModelAdmin):
    list_display = ["radiologist", "period_start", "period_end", "referred_by", "referred_at"]
    list_select_related = ["radiologist", "referred_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

"""Admin for targets, exemptions and reminder settings (imported from ReportingConfig.ready).

The pages under /reporting/targets/ are where assistants, champions and leaders edit these;
the admin is the site administrator's view across sections.
"""

from django.contrib import admin

from reporting.targets.models import ReminderRun, ReminderSettings, TargetExemption, TargetPolicy


@admin.register(TargetPolicy)
class TargetPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "section",
        "effective_from",
        "submissions_per_month",
        "attendance_rule",
        "attendance_percent",
        "attendance_per_year",
        "include_trainees",
    ]
    list_filter = ["section"]
    ordering = ["section__name", "-effective_from"]
    readonly_fields = ["created_by", "created_at"]
    list_select_related = ["section"]


@admin.register(TargetExemption)
class TargetExemptionAdmin(admin.ModelAdmin):
    list_display = ["user", "section", "kind", "starts_on", "ends_on", "fte"]
    list_filter = ["section", "kind"]
    search_fields = ["user__email", "user__last_name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_by", "created_at"]
    list_select_related = ["user", "section"]


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(admin.ModelAdmin):
    list_display = ["section", "enabled", "day_of_month", "hour", "when_met", "month_summary"]
    readonly_fields = ["updated_by", "updated_at"]
    list_select_related = ["section"]


@admin.register(ReminderRun)
class ReminderRunAdmin(admin.ModelAdmin):
    list_display = ["section", "month", "kind", "started_at", "finished_at", "queued", "skipped"]
    list_filter = ["kind", "section"]
    readonly_fields = [f.name for f in ReminderRun._meta.fields]
    list_select_related = ["section"]

    def has_add_permission(self, request):
        return False

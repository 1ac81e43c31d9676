from django.urls import path

from reporting.oppe import views as oppe_views
from reporting.reports import views as views_reports
from reporting.targets import views as views_monitoring

app_name = "reporting"

urlpatterns = [
    # Reports for leaders (docs/reports.md)
    path("", views_reports.leader, name="leader"),
    path("reports/", views_reports.reports, name="reports"),
    path("reports/acr/", views_reports.report_generate_acr, name="report-generate-acr"),
    path("reports/oppe/", views_reports.report_generate_oppe, name="report-generate-oppe"),
    path("reports/<int:pk>/status/", views_reports.report_status, name="report-status"),
    path("reports/<int:pk>/download/", views_reports.report_download, name="report-download"),
    path("oppe/radiologists/<int:pk>/pdf/", views_reports.oppe_pdf, name="oppe-pdf"),
    path(
        "oppe/radiologists/<int:pk>/referral/",
        views_reports.oppe_referral,
        name="oppe-referral",
    ),
    path("oppe/radiologists/<int:pk>/moc-letter/", views_reports.moc_letter, name="moc-letter"),
    path("my-oppe/pdf/", views_reports.oppe_mine_pdf, name="oppe-mine-pdf"),
    path("my-oppe/moc-letter/", views_reports.moc_letter_mine, name="moc-letter-mine"),
    # OPPE data sources (docs/oppe-data.md)
    path("oppe/", oppe_views.oppe_home, name="oppe-home"),
    path("my-oppe/", oppe_views.oppe_mine, name="oppe-mine"),
    path("oppe/radiologists/<int:pk>/", oppe_views.oppe_radiologist, name="oppe-radiologist"),
    path("oppe/credentials/", oppe_views.oppe_credentials, name="oppe-credentials"),
    path("oppe/credentials/new/", oppe_views.oppe_credential_create, name="oppe-credential-create"),
    path(
        "oppe/credentials/<int:pk>/", oppe_views.oppe_credential_edit, name="oppe-credential-edit"
    ),
    path(
        "oppe/credentials/<int:pk>/delete/",
        oppe_views.oppe_credential_delete,
        name="oppe-credential-delete",
    ),
    path("oppe/fppe/", oppe_views.oppe_fppe, name="oppe-fppe"),
    path("oppe/fppe/new/", oppe_views.oppe_fppe_create, name="oppe-fppe-create"),
    path("oppe/fppe/<int:pk>/", oppe_views.oppe_fppe_edit, name="oppe-fppe-edit"),
    path("oppe/fppe/<int:pk>/delete/", oppe_views.oppe_fppe_delete, name="oppe-fppe-delete"),
    path("oppe/policy/", oppe_views.oppe_policy, name="oppe-policy"),
    path("evaluations/", oppe_views.evaluations_todo, name="evaluations-todo"),
    path("evaluations/mine/", oppe_views.evaluation_mine, name="evaluation-mine"),
    path("evaluations/<int:pk>/", oppe_views.evaluation_form, name="evaluation-form"),
    path("oppe/evaluation-cycles/", oppe_views.evaluation_cycles, name="evaluation-cycles"),
    path(
        "oppe/evaluation-cycles/new/",
        oppe_views.evaluation_cycle_create,
        name="evaluation-cycle-create",
    ),
    path("oppe/evaluation-cycles/<int:pk>/", oppe_views.evaluation_cycle, name="evaluation-cycle"),
    path(
        "oppe/evaluation-cycles/<int:pk>/random/",
        oppe_views.evaluation_cycle_random,
        name="evaluation-cycle-random",
    ),
    path(
        "oppe/evaluation-cycles/<int:pk>/close/",
        oppe_views.evaluation_cycle_close,
        name="evaluation-cycle-close",
    ),
    path(
        "oppe/evaluation-cycles/<int:pk>/radiologists/<int:user_pk>/",
        oppe_views.evaluation_assign,
        name="evaluation-assign",
    ),
    path(
        "oppe/evaluation-cycles/<int:pk>/radiologists/<int:user_pk>/summary/",
        oppe_views.evaluation_summary,
        name="evaluation-summary",
    ),
    # Targets, monitoring and the mid-month reminder (docs/targets.md)
    path("monitoring/", views_monitoring.monitoring, name="monitoring"),
    path("monitoring/year/", views_monitoring.monitoring_year, name="monitoring-year"),
    path(
        "monitoring/people/<int:user_id>/",
        views_monitoring.monitoring_person,
        name="monitoring-person",
    ),
    path("monitoring/export/", views_monitoring.monitoring_export, name="monitoring-export"),
    path("monitoring/reminders/", views_monitoring.reminders_preview, name="reminders-preview"),
    path("monitoring/reminders/send/", views_monitoring.reminders_send, name="reminders-send"),
    path("monitoring/reminders/test/", views_monitoring.reminders_test, name="reminders-test"),
    path("targets/", views_monitoring.targets_page, name="targets"),
    path("targets/policy/", views_monitoring.targets_policy, name="targets-policy"),
    path(
        "targets/exemptions/",
        views_monitoring.targets_exemption_add,
        name="targets-exemption-add",
    ),
    path(
        "targets/exemptions/<int:pk>/delete/",
        views_monitoring.targets_exemption_delete,
        name="targets-exemption-delete",
    ),
    path("targets/reminders/", views_monitoring.targets_reminders, name="targets-reminders"),
    path("my-progress/", views_monitoring.my_progress, name="my-progress"),
]

from django.urls import path

from conferences.views import actions, attendance, conferences

app_name = "conferences"

urlpatterns = [
    path("", conferences.conference_list, name="list"),
    path("new/", conferences.conference_create_view, name="create"),
    path("<int:pk>/", conferences.conference_detail, name="detail"),
    path("<int:pk>/edit/", conferences.conference_edit, name="edit"),
    path("<int:pk>/check-in-code/", conferences.check_in_display, name="check-in-display"),
    path("<int:pk>/attendance/", attendance.roster, name="roster"),
    path(
        "<int:pk>/attendance/import/", attendance.attendance_import_view, name="attendance-import"
    ),
    path("<int:pk>/recording/", attendance.attest_recording, name="attest-recording"),
    path("<int:pk>/certificate.pdf", attendance.certificate, name="certificate"),
    path("imports/<int:pk>/", attendance.import_detail, name="import-detail"),
    path("check-in/", attendance.check_in_view, name="check-in"),
    path("cme/", attendance.cme, name="cme"),
    path("cme/<int:year>.pdf", attendance.cme_summary, name="cme-summary"),
    path("settings/<slug:section>/", conferences.section_settings, name="settings"),
    path("actions/", actions.action_list, name="actions"),
    path("actions/new/", actions.action_create, name="action-create"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
    path("actions/<int:pk>/edit/", actions.action_edit, name="action-edit"),
]

from django.urls import path

from conferences.attendance import views as attendance
from conferences.cases import presentation as present
from conferences.cases import views as cases
from conferences.meetings import views as meetings

app_name = "conferences"

urlpatterns = [
    path("", meetings.conference_list, name="list"),
    path("new/", meetings.conference_create_view, name="create"),
    path("<int:pk>/", meetings.conference_detail, name="detail"),
    path("<int:pk>/edit/", meetings.conference_edit, name="edit"),
    path("<int:pk>/check-in-code/", meetings.check_in_display, name="check-in-display"),
    path("<int:pk>/attendance/", attendance.roster, name="roster"),
    path(
        "<int:pk>/attendance/import/", attendance.attendance_import_view, name="attendance-import"
    ),
    path("<int:pk>/recording/", attendance.attest_recording, name="attest-recording"),
    path("<int:pk>/certificate.pdf", meetings.certificate, name="certificate"),
    path("imports/<int:pk>/", attendance.import_detail, name="import-detail"),
    path("check-in/", attendance.check_in_view, name="check-in"),
    path("cme/", meetings.cme, name="cme"),
    path("cme/<int:year>.pdf", meetings.cme_summary, name="cme-summary"),
    path("settings/<slug:section>/", meetings.section_settings, name="settings"),
    path("actions/", meetings.action_list, name="actions"),
    path("actions/new/", meetings.action_create, name="action-create"),
    path("actions/<int:pk>/", meetings.action_detail, name="action-detail"),
    path("actions/<int:pk>/edit/", meetings.action_edit, name="action-edit"),
    # Agendas, presentation mode and the audience's votes.
    path("<int:pk>/agenda/", present.agenda, name="agenda"),
    path("<int:pk>/agenda/save/", present.agenda_save, name="agenda-save"),
    path("<int:pk>/present/", present.present, name="present"),
    path("<int:pk>/present/<int:item>/vote/", present.vote_panel, name="vote-panel"),
    path("<int:pk>/slides.pdf", present.deck, name="deck"),
    path("<int:pk>/live/", present.live, name="live"),
    path("<int:pk>/live/question/", present.live_question, name="live-question"),
    path("<int:pk>/live/vote/", present.live_vote, name="live-vote"),
    # Teaching cases.
    path("cases/", cases.case_list, name="cases"),
    path("cases/new/", cases.case_create, name="case-create"),
    path("cases/<uuid:case>/", cases.case_detail, name="case-detail"),
    path("cases/<uuid:case>/edit/", cases.case_edit, name="case-edit"),
    path("cases/<uuid:case>/check/", cases.case_check, name="case-check"),
    path("cases/<uuid:case>/credits/ask/", cases.case_credits_ask, name="case-credits-ask"),
    path("cases/<uuid:case>/images/", cases.case_images, name="case-images"),
    path("cases/<uuid:case>/uploads/<uuid:upload>/", cases.upload_status, name="upload-status"),
    path(
        "cases/<uuid:case>/images/<int:image>/preview.png",
        cases.image_preview_view,
        name="image-preview",
    ),
    path("cases/<uuid:case>/images/<int:image>/review/", cases.image_review, name="image-review"),
    path(
        "cases/<uuid:case>/images/<int:image>/delete/",
        cases.image_delete_view,
        name="image-delete",
    ),
    path(
        "cases/<uuid:case>/images/<int:image>/key/", cases.key_image_add_view, name="key-image-add"
    ),
    path("cases/<uuid:case>/key/<int:key>/", cases.key_image_edit, name="key-image-edit"),
    path("cases/<uuid:case>/key/<int:key>.png", cases.key_image_png, name="key-image"),
    path("credits/", cases.my_credits, name="credits"),
]

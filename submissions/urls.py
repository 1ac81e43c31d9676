from django.urls import path

from submissions import views

app_name = "submissions"

urlpatterns = [
    # Submitting, and what I submitted.
    path("submit/", views.submit, name="submit"),
    path("submit/validate/", views.submit_validate, name="submit-validate"),
    path("submit/readers/", views.reader_search, name="reader-search"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("suggestions/<int:pk>/submit/", views.suggestion_submit, name="suggestion-submit"),
    path(
        "suggestions/<int:pk>/dismiss/",
        views.suggestion_dismiss_view,
        name="suggestion-dismiss",
    ),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:pk>/", views.mine_detail, name="mine-detail"),
    path("mine/<int:pk>/reply/", views.mine_reply, name="mine-reply"),
    # Feedback addressed to me, as the original reader.
    path("feedback/", views.feedback_inbox, name="feedback-inbox"),
    path("feedback/<int:pk>/", views.feedback_detail, name="feedback-detail"),
    path("feedback/<int:pk>/pdf/", views.feedback_download, name="feedback-pdf"),
    path("feedback/<int:pk>/respond/", views.feedback_respond, name="feedback-respond"),
    path("feedback/<int:pk>/reply/", views.feedback_reply, name="feedback-reply"),
    path(
        "feedback/<int:pk>/actions/<int:action_pk>/done/",
        views.feedback_action_done,
        name="feedback-action-done",
    ),
    # Champions.
    path("queue/", views.queue, name="queue"),
    path("queue/<int:pk>/", views.review, name="review"),
    path("queue/<int:pk>/triage/", views.review_triage, name="review-triage"),
    path("queue/<int:pk>/feedback/", views.review_feedback, name="review-feedback"),
    path("queue/<int:pk>/reader/", views.review_reader, name="review-reader"),
    path("queue/<int:pk>/note/", views.review_note, name="review-note"),
    path(
        "queue/<int:pk>/actions/<int:action_pk>/done/",
        views.review_action_done,
        name="review-action-done",
    ),
    path("queue/<int:pk>/actions/", views.review_actions, name="review-actions"),
    path("queue/<int:pk>/route/", views.review_route, name="review-route"),
    path("queue/<int:pk>/close/", views.review_close, name="review-close"),
    path("settings/", views.section_settings, name="settings"),
    # Department leaders: counts only.
    path("summary/", views.summary, name="summary"),
]

from django.urls import path

from submissions.api import loop
from submissions.api.feeds import DiagnosticReportView, SuggestionDismiss, SuggestionList
from submissions.api.views import SubmissionDetail, SubmissionListCreate

urlpatterns = [
    path("submissions/", SubmissionListCreate.as_view(), name="submission-list"),
    path("submissions/<int:pk>/", SubmissionDetail.as_view(), name="submission-detail"),
    path("submissions/<int:pk>/replies/", loop.SubmissionReply.as_view(), name="submission-reply"),
    # The original reader.
    path("feedback/<int:pk>/respond/", loop.FeedbackRespond.as_view(), name="feedback-respond"),
    path("feedback/<int:pk>/replies/", loop.FeedbackReply.as_view(), name="feedback-reply"),
    path(
        "feedback/<int:pk>/actions/<int:action_pk>/done/",
        loop.FeedbackActionDone.as_view(),
        name="feedback-action-done",
    ),
    # Champions.
    path("queue/<int:pk>/triage/", loop.QueueTriage.as_view(), name="queue-triage"),
    path("queue/<int:pk>/reader/", loop.QueueReader.as_view(), name="queue-reader"),
    path("queue/<int:pk>/note/", loop.QueueNote.as_view(), name="queue-note"),
    path("queue/<int:pk>/actions/", loop.QueueActions.as_view(), name="queue-actions"),
    path(
        "queue/<int:pk>/actions/<int:action_pk>/done/",
        loop.QueueActionDone.as_view(),
        name="queue-action-done",
    ),
    path("queue/<int:pk>/route/", loop.QueueRoute.as_view(), name="queue-route"),
    path("queue/<int:pk>/close/", loop.QueueClose.as_view(), name="queue-close"),
    path("queue/<int:pk>/reopen/", loop.QueueReopen.as_view(), name="queue-reopen"),
    # The results feed.
    path("suggestions/", SuggestionList.as_view(), name="suggestion-list"),
    path("suggestions/<int:pk>/dismiss/", SuggestionDismiss.as_view(), name="suggestion-dismiss"),
    path("fhir/DiagnosticReport", DiagnosticReportView.as_view(), name="fhir-diagnosticreport"),
]

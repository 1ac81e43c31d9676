from django.urls import path

from submissions.api.feeds import DiagnosticReportView, SuggestionDismiss, SuggestionList
from submissions.api.views import SubmissionDetail, SubmissionListCreate

urlpatterns = [
    path("submissions/", SubmissionListCreate.as_view(), name="submission-list"),
    path("submissions/<int:pk>/", SubmissionDetail.as_view(), name="submission-detail"),
    path("suggestions/", SuggestionList.as_view(), name="suggestion-list"),
    path("suggestions/<int:pk>/dismiss/", SuggestionDismiss.as_view(), name="suggestion-dismiss"),
    path("fhir/DiagnosticReport", DiagnosticReportView.as_view(), name="fhir-diagnosticreport"),
]

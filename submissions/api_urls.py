from django.urls import path

from submissions.api.views import SubmissionDetail, SubmissionListCreate

urlpatterns = [
    path("submissions/", SubmissionListCreate.as_view(), name="submission-list"),
    path("submissions/<int:pk>/", SubmissionDetail.as_view(), name="submission-detail"),
]

from django.urls import path

from anonymizer import views

app_name = "anonymizer"

urlpatterns = [
    path("", views.jobs, name="jobs"),
    path("<uuid:job>/", views.job, name="job"),
    path("<uuid:job>/status/", views.job_status, name="job-status"),
    path("<uuid:job>/download/", views.job_download, name="job-download"),
    path("<uuid:job>/report/", views.job_report, name="job-report"),
    path("texts/<str:source>/<str:pk>/", views.text_review, name="text-review"),
]

from django.urls import path

from conferences import api

urlpatterns = [
    path("conferences/", api.ConferenceList.as_view(), name="conference-list"),
    path("conferences/<int:pk>/", api.ConferenceDetail.as_view(), name="conference-detail"),
    path(
        "conferences/<int:pk>/attendance/",
        api.ConferenceAttendance.as_view(),
        name="conference-attendance",
    ),
    path(
        "conferences/<int:pk>/attendance/import/",
        api.ConferenceAttendanceImport.as_view(),
        name="conference-attendance-import",
    ),
]

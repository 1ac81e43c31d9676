"""The conferences API: list, schedule, read attendance, import a report."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conferences.models import Attendance, Conference
from conferences.tests.conftest import make_conference, sample_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def as_(api, user):
    api.force_authenticate(user)
    return api


def test_members_list_their_sections_conferences(api, department):
    mine = make_conference(department.neuro, start=timezone.now() - datetime.timedelta(days=1))
    make_conference(department.body, start=timezone.now() - datetime.timedelta(days=1))
    response = as_(api, department.radiologist).get(reverse("api:conference-list"))
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [mine.pk]
    assert response.json()["results"][0]["section"] == "neuroradiology"


def test_an_assistant_schedules_a_conference(api, department):
    start = timezone.now() + datetime.timedelta(days=3)
    response = as_(api, department.assistant).post(
        reverse("api:conference-list"),
        {
            "section": "neuroradiology",
            "title": "Stroke imaging",
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(hours=1)).isoformat(),
            "cme_hours": "1.00",
            "virtual_url": "https://teams.example.org/l/meetup-join/abc",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    conference = Conference.objects.get()
    assert response.json()["id"] == conference.pk and conference.created_by == department.assistant


@pytest.mark.parametrize(
    ("who", "section", "status"),
    [("radiologist", "neuroradiology", 403), ("body_champion", "neuroradiology", 403)],
)
def test_only_the_sections_champions_and_assistants_schedule(api, department, who, section, status):
    start = timezone.now() + datetime.timedelta(days=3)
    response = as_(api, getattr(department, who)).post(
        reverse("api:conference-list"),
        {
            "section": section,
            "title": "x",
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(hours=1)).isoformat(),
            "virtual_url": "https://zoom.example.org/j/1",
        },
        format="json",
    )
    assert response.status_code == status and not Conference.objects.exists()


def test_a_conference_ending_before_it_starts_is_a_400_naming_the_field(api, department):
    start = timezone.now() + datetime.timedelta(days=3)
    response = as_(api, department.champion).post(
        reverse("api:conference-list"),
        {
            "section": "neuroradiology",
            "title": "x",
            "starts_at": start.isoformat(),
            "ends_at": start.isoformat(),
            "virtual_url": "https://zoom.example.org/j/1",
        },
        format="json",
    )
    assert response.status_code == 400 and "ends_at" in response.json()


def test_importing_the_zoom_sample_answers_what_matched_and_what_did_not(api, sample_conference):
    client = as_(api, sample_conference.created_by)
    url = reverse("api:conference-attendance-import", args=[sample_conference.pk])
    upload = SimpleUploadedFile("zoom.csv", sample_bytes("zoom_participants.csv"), "text/csv")

    response = client.post(url, {"file": upload}, format="multipart")

    assert response.status_code == 201
    body = response.json()
    assert body["platform"] == "zoom" and body["created"] is True
    assert len(body["matched"]) == 15
    assert body["unmatched"] == [
        {
            "name": "iPhone (Guest Speaker)",
            "email": "",
            "lines": [21],  # its line in the file, counting the meeting rows above
            "minutes": 45,
            "person_email": "",
            "how": "unmatched",
            "reason": "No member of the section is named “iPhone (Guest Speaker)”. "
            "The platform marks this participant as a guest.",
        }
    ]
    ines = next(m for m in body["matched"] if m["person_email"].startswith("ines."))
    assert (ines["how"], ines["minutes"]) == ("name", 40)

    again = client.post(
        url,
        {"file": SimpleUploadedFile("zoom.csv", sample_bytes("zoom_participants.csv"))},
        format="multipart",
    )
    assert again.status_code == 200 and again.json()["created"] is False

    attendance = client.get(reverse("api:conference-attendance", args=[sample_conference.pk]))
    rows = {r["email"]: r for r in attendance.json()}
    assert rows["mateo.castillo@example-hospital.org"] == {
        "email": "mateo.castillo@example-hospital.org",
        "name": "Mateo Castillo",
        "kind": "attending",
        "minutes_present": 58,
        "credited": True,
        "recorded_via": "zoom",
    }
    assert rows["rhea.iyer@example-hospital.org"]["credited"] is False


def test_a_malformed_upload_is_a_400_with_the_problem_and_writes_nothing(api, sample_conference):
    client = as_(api, sample_conference.created_by)
    url = reverse("api:conference-attendance-import", args=[sample_conference.pk])
    response = client.post(
        url,
        {"file": SimpleUploadedFile("x.csv", b"\x89PNG\r\n\x1a\n" + bytes(50))},
        format="multipart",
    )
    assert response.status_code == 400
    assert "PNG image" in response.json()["problems"][0]
    assert client.post(url, {}, format="multipart").status_code == 400
    assert not Attendance.objects.exists()


def test_attendance_is_not_for_radiologists_or_other_sections(api, department, sample_conference):
    url = reverse("api:conference-attendance", args=[sample_conference.pk])
    assert as_(api, department.radiologist).get(url).status_code == 403
    assert as_(api, department.body_champion).get(url).status_code == 404
    assert as_(api, department.leader).get(url).status_code == 200


def test_the_schema_documents_the_conference_endpoints(api, department):
    schema = as_(api, department.radiologist).get(reverse("api-schema"), {"format": "json"})
    paths = schema.json()["paths"]
    assert "/api/v1/conferences/{id}/attendance/import/" in paths
    upload = paths["/api/v1/conferences/{id}/attendance/import/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"200", "201", "400"} <= set(upload["responses"])
    assert "get" in paths["/api/v1/conferences/"] and "post" in paths["/api/v1/conferences/"]

"""CME certificates and yearly summaries: for live, credited attendance; downloads audited."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.attendance.services import attendance_mark, recording_attest
from conferences.meetings.cme import cme_certificate_html
from conferences.meetings.services import conference_update
from conferences.models import Conference, ConferenceSettings
from conferences.tests.conftest import make_conference
from peerlearning.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def attended(department):
    start = timezone.now() - datetime.timedelta(days=2)
    conference = make_conference(
        department.neuro, start=start, title="Skull base anatomy", cme_hours=Decimal("1.00")
    )
    conference_update(conference=conference, actor=None, status=Conference.Status.HELD)
    attendance_mark(
        conference=conference, user=department.reader, present=True, minutes=None, actor=None
    )
    return conference


def test_an_attendee_downloads_their_certificate_and_the_download_is_audited(
    client, department, attended
):
    client.force_login(department.reader)
    response = client.get(reverse("conferences:certificate", args=[attended.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    html = cme_certificate_html(attendance=attended.attendance.get(user=department.reader))
    assert "Quinn Reader" in html and "Skull base anatomy" in html
    assert "1 CME credit hour" in html and "present for 60 minutes" in html
    event = AuditEvent.objects.get(action=AuditEvent.Action.DOWNLOAD)
    assert (event.actor_id, event.object_id) == (department.reader.pk, str(attended.pk))
    assert "Quinn" not in str(event.detail)


def test_no_certificate_without_credited_live_attendance(client, department, attended):
    ConferenceSettings.objects.update_or_create(
        section=department.neuro, defaults={"recording_credit_allowed": True}
    )
    recording_attest(conference=attended, user=department.radiologist)
    for person in (department.radiologist, department.champion, department.body_champion):
        client.force_login(person)
        assert client.get(reverse("conferences:certificate", args=[attended.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DOWNLOAD).exists()


def test_the_yearly_summary_lists_the_years_conferences_and_hours(client, department, attended):
    year = timezone.localtime(attended.starts_at).year
    client.force_login(department.reader)
    page = client.get(reverse("conferences:cme")).content.decode()
    assert "Skull base anatomy" in page
    response = client.get(reverse("conferences:cme-summary", args=[year]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(reverse("conferences:cme-summary", args=[year - 3])).status_code == 404

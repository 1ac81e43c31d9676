"""One e-mail that can never be sent must not hold up the others (docs/security.md, S19).

Django refuses a header with a line break (`BadHeaderError`); before, that exception left
the row pending and ended `send_due_emails` on it every minute, so nothing behind it went.
"""

import pytest
from django.urls import reverse

from peerlearning.lib.emails import email_enqueue, email_send_due
from peerlearning.models import OutboundEmail, Section
from tests.security.conftest import api_client_for, held_conference

pytestmark = pytest.mark.django_db


def owe(key: str, subject: str = "Feedback waiting", **extra) -> OutboundEmail:
    email, _ = email_enqueue(
        key=key, to=f"{key}@example.org", subject=subject, body_text="Sign in.", **extra
    )
    return email


def test_a_conference_title_with_a_line_break_still_gets_its_invitations_out(smtp_sink, department):
    before = owe("before")
    # Three days ahead, so invitations are owed when it is made. The service takes the title
    # as given (the forms refuse it): the e-mail builder is the last line of defence.
    held_conference(
        department.neuro, title="Body imaging\r\nBcc: everyone@example.org", days_ago=-3
    )
    after = owe("after")
    invitations = OutboundEmail.objects.filter(key__startswith="conference:")
    assert invitations.exists()
    email_send_due()
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}
    assert OutboundEmail.objects.filter(pk__in=[before.pk, after.pk], status="sent").count() == 2
    for message in smtp_sink.messages:
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        assert message["Bcc"] is None
    subjects = {m["Subject"] for m in smtp_sink.messages if m["Subject"].startswith("Conf")}
    # One line, the title's words kept (what the conference gate scrubs from titles aside).
    assert subjects and all(s.startswith("Conference invitation: Body imaging ") for s in subjects)


def test_every_subject_is_built_on_one_line_and_fits_the_outbox():
    email = owe("long", subject="Tomorrow:\n" + "Neuroradiology case review " * 20)
    assert "\n" not in email.subject
    assert len(email.subject) <= 200
    assert OutboundEmail.objects.get(pk=email.pk).subject == email.subject


def test_a_row_that_can_never_be_sent_is_marked_failed_and_the_sweep_goes_on(smtp_sink):
    first = owe("first")
    # Rows written before the builder folded subjects, or by hand: retrying cannot help them.
    header_break = OutboundEmail.objects.create(
        key="broken:subject", to="a@example.org", subject="Tomorrow\nBcc: x@example.org"
    )
    gone = owe(
        "broken:attachment",
        attachments=[{"filename": "c.ics", "path": "nowhere/c.ics", "mimetype": "text/calendar"}],
    )
    last = owe("last")
    assert email_send_due() == 2
    assert OutboundEmail.objects.get(pk=first.pk).status == "sent"
    assert OutboundEmail.objects.get(pk=last.pk).status == "sent"
    for broken, error in ((header_break, "BadHeaderError"), (gone, "FileNotFoundError")):
        broken.refresh_from_db()
        assert broken.status == "failed" and broken.attempts == 1
        assert broken.last_error.startswith(error)
    assert email_send_due() == 0  # nothing left due, and no exception either
    assert len(smtp_sink.messages) == 2


def test_a_section_name_with_a_line_break_is_refused_at_input(client, department):
    client.force_login(department.site_admin)
    response = client.post(
        reverse("admin:peerlearning_section_add"),
        {"name": "Body\r\nBcc: everyone@example.org", "slug": "body-bcc", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Keep this on one line" in response.content.decode()
    assert not Section.objects.filter(slug="body-bcc").exists()


def test_a_conference_title_with_a_line_break_is_refused_on_the_page_and_the_api(
    client, department
):
    from conferences.models import Conference

    title = "Neuro\r\nBcc: everyone@example.org"
    client.force_login(department.champion)
    page = client.post(
        reverse("conferences:create"),
        {
            "section": department.neuro.pk,
            "title": title,
            "starts_at": "2030-01-10T07:00",
            "ends_at": "2030-01-10T08:00",
            "location": "Room 1",
            "cme_hours": "1",
            "status": "scheduled",
        },
    )
    api = api_client_for(department.champion).post(
        reverse("api:conference-list"),
        {
            "section": department.neuro.slug,
            "title": title,
            "starts_at": "2030-01-10T07:00:00Z",
            "ends_at": "2030-01-10T08:00:00Z",
            "location": "Room 1",
            "cme_hours": "1.00",
        },
        format="json",
    )
    assert page.status_code == 200
    assert "Keep this on one line" in page.content.decode()
    assert api.status_code == 400 and "title" in api.json()
    assert not Conference.objects.exists()
    assert not OutboundEmail.objects.exists()

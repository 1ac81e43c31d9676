"""Scheduling conferences, their invitations, updates and reminders; who sees which."""

import datetime

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from conferences.meetings.services import conference_reminders_enqueue, conference_update
from conferences.models import Conference
from conferences.tests.conftest import make_conference
from peerlearning.lib.emails import email_send_due
from peerlearning.models import OutboundEmail, Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db


def next_week() -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=7)
    return datetime.datetime.combine(day, datetime.time(7), tzinfo=timezone.get_default_timezone())


def neuro_members(department) -> set[str]:
    return {
        u.email
        for u in (
            department.radiologist,
            department.reader,
            department.trainee,
            department.champion,
            department.assistant,
            department.leader,
            department.quality,
        )
    }


def test_scheduling_invites_every_member_once_with_their_calendar_file(department):
    conference = make_conference(department.neuro, actor=department.champion, start=next_week())

    invitations = OutboundEmail.objects.filter(key__contains=":invitation:")
    assert {e.to for e in invitations} == neuro_members(department)
    assert department.body_champion.email not in {e.to for e in invitations}
    email = invitations.get(to=department.reader.email)
    assert email.key == f"conference:{conference.pk}:invitation:{department.reader.pk}"
    [attachment] = email.attachments
    assert attachment["mimetype"] == "text/calendar"
    assert attachment["path"].startswith(f"conferences/ics/{conference.pk}/")
    ics = default_storage.open(attachment["path"]).read().decode()
    assert "METHOD:REQUEST\r\n" in ics
    assert "mailto:quinn.reader@example.org" in ics.replace("\r\n ", "")
    assert conference.title in email.body_text


def test_the_invitation_reaches_the_smtp_server_with_the_calendar_attached(
    department, smtp_sink, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # deliver with the sweeper, not on commit
    conference = make_conference(department.neuro, actor=department.champion, start=next_week())

    email_send_due()

    message = next(m for m in smtp_sink.messages if m["To"] == department.reader.email)
    [part] = [p for p in message.iter_attachments() if p.get_filename() == "conference.ics"]
    assert part.get_content_type() == "text/calendar"
    content = part.get_content()
    content = content.decode() if isinstance(content, bytes) else content
    assert f"UID:conference-{conference.pk}@" in content


def test_a_conference_in_the_past_invites_nobody(department):
    make_conference(department.neuro, start=timezone.now() - datetime.timedelta(days=2))
    assert not OutboundEmail.objects.exists()


def test_moving_a_conference_sends_an_update_that_replaces_the_event(department):
    conference = make_conference(department.neuro, actor=department.champion, start=next_week())
    later = conference.starts_at + datetime.timedelta(hours=1)

    conference_update(
        conference=conference,
        actor=department.champion,
        starts_at=later,
        ends_at=later + datetime.timedelta(hours=1),
    )

    conference.refresh_from_db()
    assert conference.sequence == 1
    updates = OutboundEmail.objects.filter(key__contains=":update:1:")
    assert updates.count() == len(neuro_members(department))
    path = updates.first().attachments[0]["path"]
    assert "SEQUENCE:1\r\n" in default_storage.open(path).read().decode()


def test_new_learning_points_do_not_send_anything(department):
    conference = make_conference(department.neuro, start=next_week())
    sent = OutboundEmail.objects.count()
    conference_update(
        conference=conference, actor=None, learning_points="Check the vertebral arteries."
    )
    assert OutboundEmail.objects.count() == sent


def test_cancelling_sends_a_cancellation_for_the_calendar(department):
    conference = make_conference(department.neuro, start=next_week())
    conference_update(conference=conference, actor=None, status=Conference.Status.CANCELLED)

    cancels = OutboundEmail.objects.filter(key__contains=":cancel:")
    assert cancels.count() == len(neuro_members(department))
    ics = default_storage.open(cancels.first().attachments[0]["path"]).read().decode()
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics


def test_reminders_go_once_per_member_the_day_before(department):
    now = timezone.now()
    tomorrow = make_conference(department.neuro, start=now + datetime.timedelta(hours=24))
    make_conference(department.neuro, start=now + datetime.timedelta(hours=40))
    make_conference(department.neuro, start=now + datetime.timedelta(hours=12))

    first = conference_reminders_enqueue(now=now)
    second = conference_reminders_enqueue(now=now + datetime.timedelta(hours=1))

    reminders = OutboundEmail.objects.filter(key__contains=":reminder:")
    assert first == len(neuro_members(department)) and second == 0
    assert {e.key.split(":")[1] for e in reminders} == {str(tomorrow.pk)}
    assert all(e.attachments == [] for e in reminders)


def test_a_cancelled_conference_gets_no_reminder(department):
    conference = make_conference(
        department.neuro, start=timezone.now() + datetime.timedelta(hours=24)
    )
    conference_update(conference=conference, actor=None, status=Conference.Status.CANCELLED)
    assert conference_reminders_enqueue() == 0


# Pages ------------------------------------------------------------------------------


def test_a_champion_schedules_a_conference_from_the_form(client, department):
    client.force_login(department.champion)
    start = next_week()
    response = client.post(
        reverse("conferences:create"),
        {
            "section": department.neuro.pk,
            "title": "Spine imaging pitfalls",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + datetime.timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"),
            "location": "Room 3B",
            "virtual_url": "",
            "cme_hours": "0.75",
            "presenters": [department.reader.pk],
        },
    )
    conference = Conference.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("conferences:detail", args=[conference.pk])
    assert conference.starts_at == start  # typed in site time, stored as that moment
    assert list(conference.presenters.all()) == [department.reader]
    assert len(conference.check_in_code) == 6


def test_a_conference_that_ends_before_it_starts_is_refused_with_a_message(client, department):
    client.force_login(department.assistant)
    start = next_week()
    response = client.post(
        reverse("conferences:create"),
        {
            "section": department.neuro.pk,
            "title": "Backwards",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "location": "Room 3B",
            "cme_hours": "1",
        },
    )
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
    assert not Conference.objects.exists()


def test_a_champion_cannot_schedule_for_another_section(client, department):
    client.force_login(department.body_champion)
    start = next_week()
    response = client.post(
        reverse("conferences:create"),
        {
            "section": department.neuro.pk,
            "title": "Not mine",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "location": "Room 1",
            "cme_hours": "1",
        },
    )
    assert response.status_code == 200 and not Conference.objects.exists()


def test_members_see_their_sections_conferences_and_others_get_404(client, department):
    neuro = make_conference(department.neuro, start=next_week())
    client.force_login(department.trainee)
    assert client.get(reverse("conferences:detail", args=[neuro.pk])).status_code == 200
    client.force_login(department.body_champion)
    assert client.get(reverse("conferences:detail", args=[neuro.pk])).status_code == 404
    assert client.get(reverse("conferences:edit", args=[neuro.pk])).status_code == 404


def test_a_radiologist_sees_the_conference_but_not_its_check_in_code(client, department):
    neuro = make_conference(department.neuro, start=next_week())
    client.force_login(department.radiologist)
    page = client.get(reverse("conferences:detail", args=[neuro.pk])).content.decode()
    assert neuro.title in page and neuro.check_in_code not in page
    client.force_login(department.assistant)
    page = client.get(reverse("conferences:detail", args=[neuro.pk])).content.decode()
    assert neuro.check_in_code in page


def test_the_list_shows_upcoming_and_past_in_few_queries(
    client, department, django_assert_max_num_queries
):
    for weeks in range(-12, 4):
        make_conference(
            department.neuro,
            start=timezone.now() + datetime.timedelta(weeks=weeks),
            title=f"Conference {weeks}",
        )
    make_conference(department.body, start=next_week(), title="Body only")
    client.force_login(department.radiologist)
    client.get(reverse("home"))  # first request of a session does one-off work
    with django_assert_max_num_queries(12):
        response = client.get(reverse("conferences:list"))
    page = response.content.decode()
    assert "Conference 3" in page and "Conference -12" in page
    assert "Body only" not in page


def test_the_check_in_display_shows_a_qr_code_inline(client, department):
    conference = make_conference(department.neuro, start=next_week())
    client.force_login(department.assistant)
    page = client.get(
        reverse("conferences:check-in-display", args=[conference.pk])
    ).content.decode()
    assert '<svg class="qr" role="img"' in page
    assert conference.check_in_code in page
    assert "style=" not in page.split('<svg class="qr"')[1].split("</svg>")[0]


def test_the_edit_form_changes_the_learning_points(client, department):
    conference = make_conference(
        department.neuro, start=timezone.now() - datetime.timedelta(days=1)
    )
    client.force_login(department.champion)
    local = timezone.localtime
    response = client.post(
        reverse("conferences:edit", args=[conference.pk]),
        {
            "title": conference.title,
            "starts_at": local(conference.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": local(conference.ends_at).strftime("%Y-%m-%dT%H:%M"),
            "virtual_url": conference.virtual_url,
            "location": "",
            "cme_hours": "1",
            "status": "held",
            "learning_points": "Look twice at the craniocervical junction.",
            "recording_url": "",
        },
    )
    assert response.status_code == 302
    conference.refresh_from_db()
    assert conference.learning_points.startswith("Look twice")
    assert conference.status == "held"


def test_settings_are_for_the_sections_champions(client, department):
    url = reverse("conferences:settings", args=[department.neuro.slug])
    client.force_login(department.body_champion)
    assert client.get(url).status_code == 404
    client.force_login(department.champion)
    response = client.post(
        url,
        {
            "credit_minimum_minutes": "40",
            "credit_minimum_percent": "50",
            "recording_credit_allowed": "on",
            "recording_window_days": "14",
        },
    )
    assert response.status_code == 302
    rule = department.neuro.conference_settings
    assert (rule.credit_minimum_minutes, rule.recording_credit_allowed) == (40, True)


def test_presenters_must_belong_to_the_section(client, department):
    outsider_rad = make_member(
        department.body, Role.RADIOLOGIST, first_name="Pat", last_name="Body"
    )
    client.force_login(department.champion)
    start = next_week()
    response = client.post(
        reverse("conferences:create"),
        {
            "section": department.neuro.pk,
            "title": "x",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "location": "Room 1",
            "cme_hours": "1",
            "presenters": [outsider_rad.pk],
        },
    )
    assert response.status_code == 200 and not Conference.objects.exists()

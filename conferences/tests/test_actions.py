"""Improvement actions: champions record them, the quality team reports outcomes."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.meetings.services import improvement_action_create, improvement_action_update
from conferences.models import ImprovementAction, ImprovementActionChange
from conferences.selectors import improvement_actions_for_report
from conferences.tests.conftest import make_conference
from peerlearning.models import OutboundEmail, Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db


def an_action(department, **values) -> ImprovementAction:
    values.setdefault("title", "Add a venous sinus check to the headache CT template")
    values.setdefault("category", ImprovementAction.Category.REPORT_TEMPLATE)
    return improvement_action_create(section=department.neuro, actor=department.champion, **values)


def test_a_champion_records_an_action_from_a_conference(client, department):
    conference = make_conference(
        department.neuro, start=timezone.now() - datetime.timedelta(days=1)
    )
    client.force_login(department.champion)
    response = client.post(
        reverse("conferences:action-create"),
        {
            "section": department.neuro.pk,
            "title": "Thin-slice CTA protocol for suspected dissection",
            "category": "protocol",
            "description": "Two cases this month were missed on 5 mm slices.",
            "conference": conference.pk,
            "origin_text": "",
            "owner": department.reader.pk,
            "due_on": "2027-01-31",
            "status": "proposed",
            "outcome": "",
        },
    )
    action = ImprovementAction.objects.get()
    assert response["Location"] == reverse("conferences:action-detail", args=[action.pk])
    assert (action.conference, action.owner, action.created_by) == (
        conference,
        department.reader,
        department.champion,
    )
    first = action.changes.get()
    assert first.created and first.changes["category"] == ["", "Protocol change"]


def test_every_change_is_kept_with_the_old_and_new_values(department):
    action = an_action(department)
    improvement_action_update(
        action=action,
        actor=department.champion,
        status=ImprovementAction.Status.IN_PROGRESS,
        due_on=datetime.date(2027, 2, 1),
    )
    improvement_action_update(action=action, actor=department.champion, title=action.title)

    changes = list(action.changes.order_by("pk"))
    assert len(changes) == 2  # saving without a difference writes no history
    assert changes[1].changes == {
        "status": ["Proposed", "In progress"],
        "due_on": ["", "2027-02-01"],
    }
    assert changes[1].changed_by == department.champion


def test_escalating_tells_the_quality_team_and_shows_them_the_action(client, department):
    action = an_action(department)
    client.force_login(department.quality)
    assert client.get(reverse("conferences:action-detail", args=[action.pk])).status_code == 404

    improvement_action_update(action=action, actor=department.champion, escalated=True)

    email = OutboundEmail.objects.get(key=f"action:{action.pk}:escalated:{department.quality.pk}")
    assert reverse("conferences:action-detail", args=[action.pk]) in email.body_text
    assert action.title not in email.body_text  # the e-mail links, it does not tell
    page = client.get(reverse("conferences:actions")).content.decode()
    assert action.title in page


def test_the_quality_team_reports_status_and_outcome_only(client, department):
    action = an_action(department, escalated=True)
    client.force_login(department.quality)
    url = reverse("conferences:action-edit", args=[action.pk])
    assert 'name="title"' not in client.get(url).content.decode()

    client.post(
        url,
        {"status": "done", "outcome": "Template changed on 3 March.", "title": "Something else"},
    )

    action.refresh_from_db()
    assert action.status == "done" and action.outcome == "Template changed on 3 March."
    assert action.title.startswith("Add a venous sinus")
    assert action.closed_on == timezone.localdate()
    with pytest.raises(PermissionError):
        improvement_action_update(
            action=action, actor=department.quality, allowed=("status", "outcome"), title="x"
        )


def test_actions_are_private_to_their_section(client, department):
    action = an_action(department)
    client.force_login(department.body_champion)
    assert client.get(reverse("conferences:action-detail", args=[action.pk])).status_code == 404
    assert client.get(reverse("conferences:action-edit", args=[action.pk])).status_code == 404
    assert action.title not in client.get(reverse("conferences:actions")).content.decode()
    client.force_login(department.leader)
    assert client.get(reverse("conferences:action-detail", args=[action.pk])).status_code == 200
    assert client.get(reverse("conferences:action-edit", args=[action.pk])).status_code == 403


def test_the_list_page_query_count_does_not_grow(client, department, django_assert_max_num_queries):
    for i in range(30):
        an_action(department, title=f"Action {i}", owner=department.reader)
    client.force_login(department.champion)
    client.get(reverse("home"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("conferences:actions"))
    assert "Action 29" in response.content.decode()


def test_the_report_selector_returns_actions_open_during_the_period(department):
    year = datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)

    def made(title, created, closed=None, section=None):
        action = an_action(department, title=title)
        ImprovementAction.objects.filter(pk=action.pk).update(
            created_at=datetime.datetime.combine(
                created, datetime.time(12), tzinfo=timezone.get_default_timezone()
            ),
            closed_on=closed,
            section=section or department.neuro,
        )

    made("open since last year", datetime.date(2025, 6, 1))
    made("closed last year", datetime.date(2025, 3, 1), closed=datetime.date(2025, 12, 1))
    made("done this year", datetime.date(2025, 11, 1), closed=datetime.date(2026, 2, 1))
    made("made this year", datetime.date(2026, 5, 1))
    made("made next year", datetime.date(2027, 1, 2))
    made("other section", datetime.date(2026, 5, 1), section=department.body)

    titles = [
        a.title
        for a in improvement_actions_for_report(
            sections=[department.neuro], start=year[0], end=year[1]
        )
    ]
    assert sorted(titles) == ["done this year", "made this year", "open since last year"]


def test_an_owner_must_belong_to_the_section(client, department):
    stranger = make_member(department.body, Role.RADIOLOGIST, first_name="Sam", last_name="Body")
    client.force_login(department.champion)
    response = client.post(
        reverse("conferences:action-create"),
        {
            "section": department.neuro.pk,
            "title": "x",
            "category": "other",
            "owner": stranger.pk,
            "status": "proposed",
        },
    )
    assert response.status_code == 200 and not ImprovementAction.objects.exists()
    assert not ImprovementActionChange.objects.exists()

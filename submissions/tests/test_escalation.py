"""Patient safety: a required clinical action that stalls is escalated, once."""

import datetime

import pytest
from django.utils import timezone

from peerlearning.lib.emails import email_send_due
from peerlearning.schedules import registered_periodic_tasks
from submissions.models import RequiredAction, SubmissionEvent
from submissions.services import ActionRequest, action_complete, actions_escalate_overdue
from submissions.tasks import escalate_overdue_actions
from submissions.tests.conftest import emails_to, make_overdue

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def test_the_beat_job_is_declared_every_fifteen_minutes():
    spec = registered_periodic_tasks()["Escalate stalled clinical actions"]

    assert spec == {"task": "submissions.tasks.escalate_overdue_actions", "every_seconds": 900}


def test_a_stalled_urgent_action_alerts_the_champion_and_tells_the_submitter(
    submit, department, smtp_sink
):
    submission = submit(urgency="urgent", actions=[ActionRequest("contact_clinician")])
    action = submission.actions.get()
    assert action.due_at == submission.created_at + 24 * HOUR

    assert actions_escalate_overdue(now=action.due_at - HOUR) == 0
    assert actions_escalate_overdue(now=action.due_at + HOUR) == 1
    email_send_due()

    (alert,) = [m for m in smtp_sink.messages if department.champion.email in m["To"]]
    body = alert.get_body(preferencelist=("plain",)).get_content()
    assert "Contact the referring clinician" in body
    assert "(urgent)" in body
    assert "A1000001" not in body and "Rowan" not in body and "Quinn" not in body
    (pending,) = [
        m
        for m in smtp_sink.messages
        if department.radiologist.email in m["To"] and "pending" in m["Subject"]
    ]
    assert "champion has been alerted" in pending.get_body(preferencelist=("plain",)).get_content()
    assert not [m for m in smtp_sink.messages if department.body_champion.email in m["To"]]
    assert submission.events.filter(kind=SubmissionEvent.Kind.ESCALATED).count() == 1


def test_running_it_again_sends_nothing_twice(submit, department):
    submission = submit(urgency="urgent")
    later = submission.actions.get().due_at + HOUR

    escalate_overdue_actions.delay()  # nothing due yet: it runs now
    actions_escalate_overdue(now=later)
    actions_escalate_overdue(now=later)
    actions_escalate_overdue(now=later + 48 * HOUR)

    assert len([e for e in emails_to(department.champion.email) if "overdue" in e.key]) == 1
    assert len([e for e in emails_to(department.radiologist.email) if "pending" in e.key]) == 1
    assert submission.events.filter(kind=SubmissionEvent.Kind.ESCALATED).count() == 1


def test_a_lost_claim_is_not_escalated_again_even_if_rows_are_reread(submit):
    submission = submit(urgency="urgent")
    action = submission.actions.get()
    RequiredAction.objects.filter(pk=action.pk).update(escalated_at=timezone.now())

    assert actions_escalate_overdue(now=action.due_at + HOUR) == 0


def test_done_actions_and_routine_ones_within_their_window_are_left_alone(submit, department):
    done = submit(urgency="urgent")
    action_complete(action=done.actions.get(), actor=department.reader)
    routine = submit(accession_number="A2")

    # 30 hours on: past the urgent window, within the routine one (72 hours).
    assert actions_escalate_overdue(now=routine.created_at + 30 * HOUR) == 0
    assert actions_escalate_overdue(now=routine.created_at + 73 * HOUR) == 1


def test_the_queue_shows_the_overdue_action(client, submit, department):
    from django.urls import reverse

    submission = submit(urgency="urgent")
    make_overdue(submission)
    client.force_login(department.champion)

    response = client.get(reverse("submissions:queue"))

    assert response.context["counts"]["overdue"] == 1
    assert "row-danger" in response.content.decode()


def test_the_submitter_sees_the_action_is_pending_with_the_champion(client, submit, department):
    from django.urls import reverse

    submission = submit(urgency="urgent")
    actions_escalate_overdue(now=submission.actions.get().due_at + HOUR)
    client.force_login(department.radiologist)

    page = client.get(reverse("submissions:mine-detail", args=[submission.pk])).content.decode()

    assert "champion has been alerted" in page

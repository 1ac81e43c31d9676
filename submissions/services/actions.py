"""Clinical actions: recording them done, and escalating those that stall."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from peerlearning.lib.emails import email_enqueue
from peerlearning.models import User
from submissions.models import (
    RequiredAction,
    Submission,
    SubmissionEvent,
)
from submissions.services._shared import (
    _champions,
    _event,
    _link,
    _next_action_due_refresh,
)

# Clinical actions --------------------------------------------------------------------------


@transaction.atomic
def action_complete(
    *,
    action: RequiredAction,
    actor: User,
    done_on: datetime.date | None = None,
    note: str = "",
) -> RequiredAction:
    """Record a required clinical action as done (the reader, or a champion on their behalf)."""
    today = timezone.localdate()
    done_on = done_on or today
    if done_on > today:
        raise ValidationError({"done_on": "The date cannot be in the future."})
    if done_on < timezone.localtime(action.submission.created_at).date():
        raise ValidationError({"done_on": "The date cannot be before the case was submitted."})
    # A conditional update: two clicks, or two people, record it once.
    claimed = RequiredAction.objects.filter(pk=action.pk, done_at__isnull=True).update(
        done_at=timezone.now(), done_on=done_on, done_by=actor, done_note=note.strip()[:200]
    )
    action.refresh_from_db()
    if claimed:
        _next_action_due_refresh(action.submission)
        _event(
            action.submission,
            SubmissionEvent.Kind.ACTION_DONE,
            actor,
            changes={"action": action.label, "done_on": done_on.isoformat()},
            text=action.done_note,
        )
    return action


def actions_escalate_overdue(*, now: datetime.datetime | None = None) -> int:
    """Alert champions (and tell the submitter) about clinical actions past their window.

    Safe to run any number of times: each action is claimed once with a conditional update,
    and every e-mail has its own outbox key.
    """
    now = now or timezone.now()
    due = RequiredAction.objects.filter(
        done_at__isnull=True, escalated_at__isnull=True, due_at__lte=now
    ).exclude(submission__status=Submission.Status.CLOSED)
    escalated = 0
    for action_id in due.values_list("pk", flat=True)[:500]:
        escalated += _action_escalate(action_id, now)
    return escalated


@transaction.atomic
def _action_escalate(action_id: int, now: datetime.datetime) -> int:
    if not RequiredAction.objects.filter(pk=action_id, escalated_at__isnull=True).update(
        escalated_at=now
    ):
        return 0
    action = RequiredAction.objects.select_related(
        "submission__section", "submission__submitter"
    ).get(pk=action_id)
    submission = action.submission
    _event(
        submission,
        SubmissionEvent.Kind.ESCALATED,
        None,
        changes={"action": action.label},
        at=now,
    )
    context = {
        "action": action.label,
        "urgent": submission.urgency == "urgent",
        "hours": int((action.due_at - submission.created_at).total_seconds() // 3600),
        "section": submission.section.name,
    }
    for champion in _champions(submission.section):
        if champion.pk == submission.original_reader_id:
            continue
        email_enqueue(
            key=f"action:{action.pk}:overdue:{champion.pk}",
            to=champion.email,
            subject="Overdue clinical action: please follow up",
            template="submission_action_overdue",
            context={**context, "link": _link("submissions:review", submission.pk)},
        )
    email_enqueue(
        key=f"action:{action.pk}:pending:submitter",
        to=submission.submitter.email,
        subject="A clinical action on your submission is still pending",
        template="submission_action_pending",
        context={**context, "link": _link("submissions:mine-detail", submission.pk)},
    )
    return 1

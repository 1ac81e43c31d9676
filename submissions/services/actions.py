"""Clinical actions: recording them done, and escalating those that stall."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from peerlearning.lib.emails import email_enqueue
from peerlearning.models import User
from submissions.models import (
    ActionKind,
    RequiredAction,
    SectionSubmissionSettings,
    Submission,
    SubmissionEvent,
)
from submissions.services._shared import (
    _champions,
    _event,
    _link,
    _next_action_due_refresh,
    _require_open,
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


@transaction.atomic
def actions_change(
    *,
    submission: Submission,
    actor: User,
    add: Iterable[str] = (),
    add_other: str = "",
    remove: Iterable[str] = (),
    reason: str,
) -> Submission:
    """A champion corrects what the patient's care needs: adds actions, removes pending ones.

    Done actions stay on the record. The reason goes into the history, and the reader (once
    feedback was sent) is told of a new action, since it is theirs to do.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the actions change: the history keeps it."})
    _require_open(submission)
    existing = {action.kind: action for action in submission.actions.all()}
    removed = []
    for kind in dict.fromkeys(remove):
        action = existing.get(kind)
        if action is None:
            raise ValidationError({"remove": f"“{kind}” is not an action of this case."})
        if action.is_done:
            raise ValidationError({"remove": f"{action.label} is done: it stays on the record."})
        removed.append(action.label)
        action.delete()
        del existing[kind]
    window = SectionSubmissionSettings.for_section(submission.section).window(submission.urgency)
    added = []
    for kind in dict.fromkeys(add):
        detail = add_other.strip() if kind == ActionKind.OTHER else ""
        if kind not in ActionKind.values:
            raise ValidationError({"add": f"“{kind}” is not a clinical action."})
        if kind in existing:
            raise ValidationError({"add": f"{existing[kind].label} is already listed."})
        if kind == ActionKind.OTHER and not detail:
            raise ValidationError({"add": "Say what the other action is."})
        existing[kind] = RequiredAction.objects.create(
            submission=submission, kind=kind, detail=detail[:200], due_at=timezone.now() + window
        )
        added.append(existing[kind].label)
    if not added and not removed:
        raise ValidationError("Nothing to change: add or remove an action.")
    _next_action_due_refresh(submission)
    event = _event(
        submission,
        SubmissionEvent.Kind.ACTIONS_CHANGED,
        actor,
        changes={"added": added, "removed": removed},
        text=reason[:2000],
    )
    reader = submission.original_reader
    if added and reader and reader.is_active and submission.feedback_is_sent:
        email_enqueue(
            key=f"actions-changed:{event.pk}:reader",
            to=reader.email,
            subject="A clinical action was added to feedback for you",
            template="submission_actions_added",
            context={"added": added, "link": _link("submissions:feedback-detail", submission.pk)},
            # Never before the feedback itself reaches the reader.
            due_at=max(submission.feedback_sent_at, timezone.now()),
        )
    return submission


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

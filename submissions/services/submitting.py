"""Submitting a case: the submission, its clinical actions, then the feedback or the champion."""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ParamSpec

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue
from peerlearning.models import AuditEvent, Section, User
from submissions.disclosure import feedback_release_at
from submissions.models import (
    ActionKind,
    Reason,
    RequiredAction,
    SectionSubmissionSettings,
    Submission,
    SubmissionEvent,
)
from submissions.services._shared import _champions, _link
from submissions.services.feedback import _feedback_deliver, outside_reader_get_or_invite

# Submitting -----------------------------------------------------------------------------

P = ParamSpec("P")


@dataclass(frozen=True)
class ActionRequest:
    kind: str
    detail: str = ""


def _duplicate_refused(write: Callable[P, Submission]) -> Callable[P, Submission]:
    """A second submission of the same case by the same person (two tabs, a retried request)
    is refused with a field message.

    Checked after the transaction (or, when nested, its savepoint) rolled back rather than
    in a savepoint around the INSERT: that savepoint cost two round trips on every
    submission to catch a race the form's check almost always wins.
    """

    @functools.wraps(write)
    def refusing(*args: P.args, **kwargs: P.kwargs) -> Submission:
        try:
            return write(*args, **kwargs)
        except IntegrityError as error:
            if Submission.objects.filter(
                submitter=kwargs["submitter"], accession_number=kwargs["accession_number"]
            ).exists():
                raise ValidationError(
                    {"accession_number": "You have already submitted this case."}
                ) from error
            raise

    return refusing


@_duplicate_refused
@transaction.atomic
def submission_create(
    *,
    submitter: User,
    section: Section,
    accession_number: str,
    reason: str,
    description: str,
    reason_detail: str = "",
    learning_point: str = "",
    reader: User | None = None,
    reader_email: str = "",
    reader_outside: bool = False,
    actions: Iterable[ActionRequest] = (),
    urgency: str = "routine",
    attested: bool = False,
    signed: bool = False,
    study_instance_uid: str = "",
    request: HttpRequest | None = None,
) -> Submission:
    """Record a case and send the feedback (or hold it for the champion's review)."""
    now = timezone.now()
    if reason == Reason.DISCREPANCY and not attested:
        raise ValidationError({"attestation": "A discrepancy needs the attestation."})
    if reader is None and reader_email:
        reader, _ = outside_reader_get_or_invite(email=reader_email, actor=submitter)
        reader_outside = True
    if reader is not None and reader.pk == submitter.pk:
        raise ValidationError({"original_reader": "You cannot send feedback to yourself."})
    config = SectionSubmissionSettings.for_section(section)
    actions = _unique_actions(actions)
    # The status, the feedback time and the earliest due action are known before the row
    # is written: one INSERT instead of an INSERT and three UPDATEs (docs/performance.md).
    if reader is None:
        status = Submission.Status.SUBMITTED
    elif config.review_before_sending:
        status = Submission.Status.AWAITING_REVIEW
    else:
        status = Submission.Status.FEEDBACK_SENT
    due_at = now + config.window(urgency)
    submission = Submission(
        section=section,
        submitter=submitter,
        accession_number=accession_number,
        study_instance_uid=study_instance_uid,
        reason=reason,
        reason_detail=reason_detail if reason == Reason.DISCREPANCY else "",
        description=description,
        learning_point=learning_point,
        feedback_description=description,
        feedback_learning_point=learning_point,
        urgency=urgency,
        attested_at=now if attested else None,
        submitter_signed=signed,
        original_reader=reader,
        reader_named_by_submitter=reader is not None,
        reader_outside_roster=reader is not None and reader_outside,
        status=status,
        feedback_sent_at=(
            feedback_release_at(config=config, urgency=urgency, now=now)
            if status == Submission.Status.FEEDBACK_SENT
            else None
        ),
        next_action_due_at=due_at if actions else None,
        created_at=now,
        updated_at=now,
    )
    submission.save()
    created_actions = RequiredAction.objects.bulk_create(
        RequiredAction(
            submission=submission,
            kind=action.kind,
            detail=action.detail if action.kind == ActionKind.OTHER else "",
            due_at=due_at,
        )
        for action in actions
    )
    # The history's first entries in one INSERT: created, then held or sent.
    events = [_event_row(submission, SubmissionEvent.Kind.CREATED, submitter, at=now)]
    if status == Submission.Status.AWAITING_REVIEW:
        events.append(_event_row(submission, SubmissionEvent.Kind.HELD, None, at=now))
    elif status == Submission.Status.FEEDBACK_SENT:
        events.append(_event_row(submission, SubmissionEvent.Kind.FEEDBACK_SENT, submitter, at=now))
    SubmissionEvent.objects.bulk_create(events)
    audit_record(action=AuditEvent.Action.CREATE, actor=submitter, obj=submission, request=request)

    if status == Submission.Status.SUBMITTED:
        _notify_champions(submission, "new")
    elif status == Submission.Status.AWAITING_REVIEW:
        _notify_champions(submission, "review")
    else:
        _feedback_deliver(
            submission,
            actor=submitter,
            config=config,
            at=now,
            action_labels=[action.label for action in created_actions],
            event_recorded=True,
        )
    return submission


def _event_row(submission: Submission, kind: str, actor: User | None, *, at) -> SubmissionEvent:
    return SubmissionEvent(submission=submission, kind=kind, actor=actor, changes={}, at=at)


def _unique_actions(actions: Iterable[ActionRequest]) -> list[ActionRequest]:
    seen, unique = set(), []
    for action in actions:
        if action.kind in ActionKind.values and action.kind not in seen:
            seen.add(action.kind)
            unique.append(action)
    return unique


def _notify_champions(submission: Submission, why: str) -> None:
    """Tell the section's champions a submission waits for them (no names, no PHI)."""
    for champion in _champions(submission.section):
        if champion.pk in (submission.original_reader_id, submission.submitter_id):
            continue
        email_enqueue(
            key=f"submission:{submission.pk}:{why}:{champion.pk}",
            to=champion.email,
            subject=(
                "Feedback waiting for your review"
                if why == "review"
                else "A new submission needs a reader"
            ),
            template="submission_champion",
            context={
                "why": why,
                "section": submission.section.name,
                "urgent": submission.urgency == "urgent",
                "link": _link("submissions:review", submission.pk),
            },
        )

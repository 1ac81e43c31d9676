"""Champions: triage, notes, routing to quality, closing; and the section's settings."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Section, User
from submissions.models import (
    NotCountedReason,
    Reason,
    SectionSubmissionSettings,
    Significance,
    Submission,
    SubmissionEvent,
)
from submissions.services._shared import _event, _require_open, _touch

# Champion triage ---------------------------------------------------------------------------

TRIAGE_FIELDS = (
    "reason",
    "reason_detail",
    "significance",
    "conference_candidate",
    "counted",
    "not_counted_reason",
)


@transaction.atomic
def submission_triage(*, submission: Submission, actor: User, **values) -> Submission:
    """Classify, grade significance, flag for conference, count or not; each change kept."""
    unknown = set(values) - set(TRIAGE_FIELDS)
    if unknown:
        raise TypeError(f"Not triage fields: {sorted(unknown)}")
    merged = {field: values.get(field, getattr(submission, field)) for field in TRIAGE_FIELDS}
    if merged["reason"] not in Reason.values:
        raise ValidationError({"reason": "Unknown reason."})
    if merged["reason"] != Reason.DISCREPANCY:
        merged["reason_detail"] = ""
    elif submission.attested_at is None:
        raise ValidationError(
            {
                "reason": "Only the submitter can make this a discrepancy: it needs their "
                "attestation."
            }
        )
    if merged["significance"] not in ("", *Significance.values):
        raise ValidationError({"significance": "Unknown significance."})
    if merged["counted"]:
        merged["not_counted_reason"] = ""
    elif merged["not_counted_reason"] not in NotCountedReason.values:
        raise ValidationError(
            {"not_counted_reason": "Say why this submission does not count toward the target."}
        )
    changes = {
        field: [getattr(submission, field), value]
        for field, value in merged.items()
        if getattr(submission, field) != value
    }
    if not changes:
        return submission
    for field, (_, value) in changes.items():
        setattr(submission, field, value)
    _touch(submission, *changes)
    _event(submission, SubmissionEvent.Kind.TRIAGED, actor, changes=changes)
    return submission


@transaction.atomic
def note_add(*, submission: Submission, actor: User, text: str) -> SubmissionEvent:
    """A private note for the section's champions."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the note first."})
    _touch(submission)
    return _event(submission, SubmissionEvent.Kind.NOTE, actor, text=text)


@transaction.atomic
def submission_route_to_quality(*, submission: Submission, actor: User, note: str = "") -> None:
    """Flag the case for the quality team (issue 6 turns it into an improvement action)."""
    if submission.routed_to_quality_at:
        return
    submission.routed_to_quality_at = timezone.now()
    _touch(submission, "routed_to_quality_at")
    _event(
        submission,
        SubmissionEvent.Kind.TRIAGED,
        actor,
        changes={"routed_to_quality": [False, True]},
        text=note.strip(),
    )


@transaction.atomic
def submission_close(*, submission: Submission, actor: User) -> Submission:
    """Close a submission once every required clinical action is done."""
    _require_open(submission)
    pending = [a.label for a in submission.actions.all() if not a.is_done]
    if pending:
        raise ValidationError("Record these clinical actions first: " + "; ".join(pending) + ".")
    changes = {"status": [submission.status, Submission.Status.CLOSED]}
    submission.status = Submission.Status.CLOSED
    submission.closed_at = timezone.now()
    _touch(submission, "status", "closed_at")
    _event(submission, SubmissionEvent.Kind.CLOSED, actor, changes=changes)
    return submission


@transaction.atomic
def submission_reopen(*, submission: Submission, actor: User) -> Submission:
    if not submission.is_closed:
        return submission
    if submission.acknowledged_at:
        status = Submission.Status.ACKNOWLEDGED
    elif submission.feedback_sent_at:
        status = Submission.Status.FEEDBACK_SENT
    elif submission.original_reader_id:
        status = Submission.Status.AWAITING_REVIEW
    else:
        status = Submission.Status.SUBMITTED
    changes = {"status": [submission.status, status]}
    submission.status = status
    submission.closed_at = None
    _touch(submission, "status", "closed_at")
    _event(submission, SubmissionEvent.Kind.REOPENED, actor, changes=changes)
    return submission


@transaction.atomic
def section_settings_update(
    *, section: Section, actor: User, request: HttpRequest | None = None, **values
) -> SectionSubmissionSettings:
    """Change how a section runs its feedback loop (audited)."""
    # Read afresh: a form may already have written its values onto a cached instance.
    config = SectionSubmissionSettings.objects.filter(
        section=section
    ).first() or SectionSubmissionSettings(section=section)
    changes = {}
    for field, value in values.items():
        if getattr(config, field) != value:
            changes[field] = [getattr(config, field), value]
            setattr(config, field, value)
    config.full_clean()
    config.save()
    if changes:
        audit_record(
            action=AuditEvent.Action.UPDATE,
            actor=actor,
            obj=config,
            request=request,
            detail={"changed": sorted(changes)},
        )
    return config

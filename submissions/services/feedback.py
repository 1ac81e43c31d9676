"""The feedback loop to the original reader: sending, rewording, responding, the thread."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from peerlearning.lib.emails import email_enqueue
from peerlearning.models import OutboundEmail, User
from submissions.disclosure import feedback_release_at, feedback_visible_to_reader
from submissions.models import (
    ReaderResponse,
    Reply,
    SectionSubmissionSettings,
    Submission,
    SubmissionEvent,
)
from submissions.services._shared import _champions, _event, _link, _require_open, _touch

# The feedback to the original reader ------------------------------------------------------


def outside_reader_get_or_invite(*, email: str, actor: User) -> tuple[User, bool]:
    """The account of a reader outside the roster; made (no roles) and invited if new."""
    from peerlearning.roster import invitation_send

    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(email=email)
    # No membership: this account reaches only the feedback addressed to it.
    invitation_send(user=user, actor=actor)
    return user, True


def _feedback_send(
    submission: Submission, *, actor: User, config: SectionSubmissionSettings
) -> OutboundEmail:
    now = timezone.now()
    submission.status = Submission.Status.FEEDBACK_SENT
    # The reader gets it with the section's next batch, not at the minute of this click.
    submission.feedback_sent_at = feedback_release_at(
        config=config, urgency=submission.urgency, now=now
    )
    _touch(submission, "status", "feedback_sent_at")
    return _feedback_deliver(submission, actor=actor, config=config, at=now)


def _feedback_deliver(
    submission: Submission,
    *,
    actor: User,
    config: SectionSubmissionSettings,
    at,
    action_labels: list[str] | None = None,
    event_recorded: bool = False,
) -> OutboundEmail:
    """The "feedback sent" event and the reader's e-mail, for a submission marked sent. The
    e-mail leaves at `feedback_sent_at`, the batch time the reader's pages show it from.

    `action_labels`: the required actions' labels when the caller has them at hand (a new
    submission), saving a query; `event_recorded`: the caller wrote the event itself (a new
    submission writes its first events in one INSERT).
    """
    if not event_recorded:
        _event(submission, SubmissionEvent.Kind.FEEDBACK_SENT, actor, at=at)
    reader = submission.original_reader
    if action_labels is None:
        action_labels = [a.label for a in submission.actions.all()]
    email, created = email_enqueue(
        key=f"feedback:{submission.pk}:reader",
        to=reader.email,
        subject="A colleague shared a learning opportunity with you",
        template="submission_feedback",
        context={
            "reader": reader,
            "section": submission.section.name,
            "accession_number": (submission.accession_number if config.accession_in_email else ""),
            "actions": action_labels,
            "urgent": submission.urgency == "urgent",
            "new_account": submission.reader_outside_roster and not reader.has_usable_password(),
            "link": _link("submissions:feedback-detail", submission.pk),
        },
        due_at=submission.feedback_sent_at,
    )
    if created and config.attach_pdf:
        email.attachments = [_store_feedback_pdf(submission, config)]
        email.save(update_fields=["attachments"])
    return email


def _store_feedback_pdf(submission: Submission, config: SectionSubmissionSettings) -> dict:
    from submissions.pdf import feedback_pdf

    content = feedback_pdf(submission=submission, include_accession=config.accession_in_email)
    path = default_storage.save(
        f"outbox/feedback-{submission.pk}.pdf", ContentFile(content, name="feedback.pdf")
    )
    return {"filename": "learning-opportunity.pdf", "path": path, "mimetype": "application/pdf"}


@transaction.atomic
def feedback_release(
    *,
    submission: Submission,
    actor: User,
    description: str | None = None,
    learning_point: str | None = None,
) -> Submission:
    """A champion sends held feedback, reworded or not."""
    _require_open(submission)
    if submission.feedback_is_sent:
        raise ValidationError("This feedback has already been sent.")
    if submission.original_reader_id is None:
        raise ValidationError("Name the original reader before sending the feedback.")
    feedback_edit(
        submission=submission,
        actor=actor,
        description=description,
        learning_point=learning_point,
    )
    _feedback_send(
        submission, actor=actor, config=SectionSubmissionSettings.for_section(submission.section)
    )
    return submission


@transaction.atomic
def feedback_edit(
    *,
    submission: Submission,
    actor: User,
    description: str | None = None,
    learning_point: str | None = None,
) -> Submission:
    """A champion rewords the feedback before it is sent (the submitter's text stays)."""
    if submission.feedback_is_sent:
        raise ValidationError("Sent feedback cannot be reworded.")
    changes = {}
    for field, value in (
        ("feedback_description", description),
        ("feedback_learning_point", learning_point),
    ):
        if value is None:
            continue
        value = value.strip()
        if field == "feedback_description" and not value:
            raise ValidationError({"description": "The feedback needs a description."})
        if value != getattr(submission, field):
            changes[field] = [getattr(submission, field), value]
            setattr(submission, field, value)
    if changes:
        _touch(submission, *changes)
        _event(submission, SubmissionEvent.Kind.FEEDBACK_EDITED, actor, changes=changes)
    return submission


@transaction.atomic
def reader_assign(
    *,
    submission: Submission,
    actor: User,
    reader: User | None = None,
    reader_email: str = "",
) -> Submission:
    """A champion identifies the original reader of a submission that had none."""
    _require_open(submission)
    if submission.original_reader_id is not None:
        raise ValidationError("This submission already has an original reader.")
    outside = False
    if reader is None:
        reader, _ = outside_reader_get_or_invite(email=reader_email, actor=actor)
        outside = True
    if reader.pk == submission.submitter_id:
        raise ValidationError("The submitter cannot be the original reader.")
    submission.original_reader = reader
    submission.reader_outside_roster = outside
    # The submitter did not name this reader, so the submitter is never shown who it is.
    submission.reader_named_by_submitter = False
    _touch(submission, "original_reader", "reader_outside_roster", "reader_named_by_submitter")
    _event(submission, SubmissionEvent.Kind.READER_ASSIGNED, actor)
    config = SectionSubmissionSettings.for_section(submission.section)
    if config.review_before_sending:
        submission.status = Submission.Status.AWAITING_REVIEW
        _touch(submission, "status")
    else:
        _feedback_send(submission, actor=actor, config=config)
    return submission


@transaction.atomic
def feedback_respond(
    *, submission: Submission, response: str, actor: User, request: HttpRequest | None = None
) -> Submission:
    """The original reader acknowledges the feedback, agreeing or not."""
    if actor.pk != submission.original_reader_id:
        raise PermissionDenied
    if response not in ReaderResponse.values:
        raise ValidationError({"response": "Choose acknowledge, agree or disagree."})
    _require_open(submission)
    first = not submission.acknowledged_at
    newly_disagrees = response == ReaderResponse.DISAGREE and submission.reader_response != response
    changes = {"reader_response": [submission.reader_response, response]}
    submission.reader_response = response
    submission.acknowledged_at = submission.acknowledged_at or timezone.now()
    submission.status = Submission.Status.ACKNOWLEDGED
    _touch(submission, "reader_response", "acknowledged_at", "status")
    _event(submission, SubmissionEvent.Kind.ACKNOWLEDGED, actor, changes=changes)
    if first:
        email_enqueue(
            key=f"feedback:{submission.pk}:acknowledged",
            to=submission.submitter.email,
            subject=RESPONSE_SUBJECTS[response],
            template="submission_acknowledged",
            context={
                "response": response,
                "link": _link("submissions:mine-detail", submission.pk),
            },
        )
    if newly_disagrees:
        _disagreement_tell_champions(submission)
    return submission


RESPONSE_SUBJECTS = {
    ReaderResponse.ACKNOWLEDGED: "The original reader has read your submission",
    ReaderResponse.AGREE: "The original reader agrees with your submission",
    ReaderResponse.DISAGREE: "The original reader sees your submission differently",
}


def _disagreement_tell_champions(submission: Submission) -> None:
    """A reader who disagrees is a conversation for the champion, not a closed case."""
    for champion in _champions(submission.section):
        if champion.pk in (submission.original_reader_id, submission.submitter_id):
            continue
        email_enqueue(
            key=f"feedback:{submission.pk}:disagrees:{champion.pk}",
            to=champion.email,
            subject="A reader disagrees with feedback: please review",
            template="submission_disagreement",
            context={"link": _link("submissions:review", submission.pk)},
        )


@transaction.atomic
def reply_post(*, submission: Submission, author: User, body: str) -> Reply:
    """A message in the private thread, relayed to the other side without a name."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write a message first."})
    if author.pk == submission.submitter_id:
        side, to, link_name = Reply.Side.SUBMITTER, submission.original_reader, "feedback-detail"
        # Nothing reaches the reader before the feedback does (a message would say when).
        if to is None or not feedback_visible_to_reader(submission):
            raise ValidationError("The reader has not received this feedback yet.")
    elif author.pk == submission.original_reader_id and feedback_visible_to_reader(submission):
        side, to, link_name = Reply.Side.READER, submission.submitter, "mine-detail"
    else:
        raise PermissionDenied
    reply = Reply.objects.create(submission=submission, author=author, side=side, body=body)
    _touch(submission)
    _event(submission, SubmissionEvent.Kind.REPLY, author, changes={"side": side})
    email_enqueue(
        key=f"reply:{reply.pk}",
        to=to.email,
        subject="A new message about a case you discussed",
        template="submission_reply",
        context={
            "from_reader": side == Reply.Side.READER,
            "link": _link(f"submissions:{link_name}", submission.pk),
        },
    )
    return reply

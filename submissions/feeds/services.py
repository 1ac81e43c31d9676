"""Receiving results: store each message once, then let it close actions and suggest cases."""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from peerlearning.lib.emails import email_enqueue
from peerlearning.models import Membership, Role, User
from submissions.feeds.models import ResultMessage, Suggestion
from submissions.feeds.report import ResultReport, Signer, impressions_differ
from submissions.models import (
    ActionKind,
    RequiredAction,
    SectionSubmissionSettings,
    Submission,
    SubmissionEvent,
)
from submissions.services._shared import _event, _link, _next_action_due_refresh

logger = logging.getLogger(__name__)

FEED_LABEL = "the RIS feed"


def result_store(*, report: ResultReport, raw: str) -> tuple[ResultMessage, bool]:
    """Keep the message as received, once per sender and control id; (message, created)."""
    fields = {
        "raw": raw,
        "accession_number": report.accession_number,
        "result_status": report.status,
        "signer": signer_match(report.signer),
        "signer_label": report.signer.label[:200],
        "impression": report.impression,
        "message_time": report.message_time,
    }
    key = {"source": report.source, "sender": report.sender, "control_id": report.control_id}
    try:
        with transaction.atomic():
            return ResultMessage.objects.create(**key, **fields), True
    except IntegrityError:
        return ResultMessage.objects.get(**key), False


def signer_match(signer: Signer) -> User | None:
    """The user who signed: by NPI, then by RIS/PACS id, then by a name only one user has."""
    people = User.objects.filter(is_active=True)
    if signer.npi:
        found = people.filter(npi=signer.npi).first()
        if found:
            return found
    if signer.ris_id:
        found = people.filter(ris_id__iexact=signer.ris_id).first()
        if found:
            return found
    if signer.family_name and signer.given_name:
        named = list(
            people.filter(
                last_name__iexact=signer.family_name, first_name__iexact=signer.given_name
            )[:2]
        )
        if len(named) == 1:
            return named[0]
    return None


@transaction.atomic
def result_apply(*, message_id: int) -> str:
    """Close pending addendum actions and make suggestions; runs once per message."""
    message = ResultMessage.objects.select_for_update().get(pk=message_id)
    if message.processed_at:
        return message.outcome
    earlier = ResultMessage.objects.filter(
        accession_number=message.accession_number, received_at__lte=message.received_at
    ).exclude(pk=message.pk)
    earlier_final = earlier.filter(result_status=ResultMessage.Status.FINAL).order_by(
        "-received_at", "-id"
    )
    is_addendum = message.result_status == ResultMessage.Status.CORRECTED or (
        message.result_status == ResultMessage.Status.FINAL and earlier_final.exists()
    )
    outcomes = []
    if is_addendum:
        closed = _addendum_actions_close(message)
        if closed:
            outcomes.append(f"closed {closed} addendum action{'s' if closed != 1 else ''}")
        previous = earlier_final.first()
        if (
            previous
            and _different_people(previous, message)
            and _suggest(message, Suggestion.Kind.ADDENDUM_TO_OTHER, previous)
        ):
            outcomes.append("suggested to its signer")
    elif message.result_status == ResultMessage.Status.FINAL:
        preliminary = (
            earlier.filter(result_status=ResultMessage.Status.PRELIMINARY)
            .order_by("-received_at", "-id")
            .first()
        )
        if (
            preliminary
            and _different_people(preliminary, message)
            and impressions_differ(preliminary.impression, message.impression)
            and _suggest(message, Suggestion.Kind.PRELIMINARY_CHANGED, preliminary)
        ):
            outcomes.append("suggested to its signer")
    message.processed_at = timezone.now()
    message.outcome = "; ".join(outcomes) or "nothing to do"
    message.error = ""
    message.save(update_fields=["processed_at", "outcome", "error"])
    return message.outcome


def results_apply_pending(*, older_than: datetime.timedelta = datetime.timedelta(0)) -> int:
    """Apply stored messages whose processing did not finish (a crash, an error): beat runs it."""
    cutoff = timezone.now() - older_than
    pending = ResultMessage.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
    done = 0
    for message_id in pending.values_list("pk", flat=True)[:500]:
        try:
            result_apply(message_id=message_id)
            done += 1
        except Exception as error:
            logger.exception("Result message %s could not be applied", message_id)
            ResultMessage.objects.filter(pk=message_id).update(error=str(error)[:2000])
    return done


def results_expire(*, days: int) -> int:
    """Delete the raw messages after the retention period; suggestions stay."""
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = ResultMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted


# Addenda ------------------------------------------------------------------------------------


def _addendum_actions_close(message: ResultMessage) -> int:
    seen_at = message.message_time or message.received_at
    pending = (
        RequiredAction.objects.select_for_update(of=("self",))
        .filter(
            kind=ActionKind.ADDENDUM,
            done_at__isnull=True,
            submission__accession_number=message.accession_number,
        )
        .exclude(submission__status=Submission.Status.CLOSED)
        .select_related("submission", "submission__submitter", "submission__original_reader")
    )
    closed = 0
    for action in pending:
        submission = action.submission
        done_on = max(
            timezone.localtime(seen_at).date(), timezone.localtime(submission.created_at).date()
        )
        action.done_at = timezone.now()
        action.done_on = min(done_on, timezone.localdate())
        action.done_by = None
        action.done_note = f"Seen in {FEED_LABEL} (message {message.control_id})"[:200]
        action.save(update_fields=["done_at", "done_on", "done_by", "done_note"])
        _next_action_due_refresh(submission)
        _event(
            submission,
            SubmissionEvent.Kind.ACTION_DONE,
            None,
            changes={
                "action": action.label,
                "done_on": action.done_on.isoformat(),
                "by": FEED_LABEL,
                "message": message.control_id,
            },
            text=action.done_note,
        )
        _addendum_seen_tell(action)
        closed += 1
    return closed


def _addendum_seen_tell(action: RequiredAction) -> None:
    submission = action.submission
    people = [("submitter", submission.submitter, "submissions:mine-detail")]
    if submission.original_reader and submission.feedback_is_sent:
        people.append(("reader", submission.original_reader, "submissions:feedback-detail"))
    for side, person, page in people:
        if not person.is_active:
            continue
        email_enqueue(
            key=f"addendum-seen:{action.pk}:{side}",
            to=person.email,
            subject="The addendum was seen in the reporting system",
            template="submission_addendum_seen",
            context={"action": action, "link": _link(page, submission.pk)},
        )


# Suggestions --------------------------------------------------------------------------------


def _different_people(earlier: ResultMessage, later: ResultMessage) -> bool:
    if earlier.signer_id and later.signer_id:
        return earlier.signer_id != later.signer_id
    return bool(earlier.signer_label) and earlier.signer_label != later.signer_label


def _suggest(message: ResultMessage, kind: str, earlier: ResultMessage) -> bool:
    radiologist = message.signer
    if radiologist is None or not suggestions_enabled_for(radiologist):
        return False
    if Submission.objects.filter(
        submitter=radiologist, accession_number=message.accession_number
    ).exists():
        return False
    _, created = Suggestion.objects.get_or_create(
        radiologist=radiologist,
        accession_number=message.accession_number,
        defaults={
            "kind": kind,
            "original_reader": earlier.signer,
            "earlier_impression": earlier.impression,
            "later_impression": message.impression,
        },
    )
    return created


def suggestions_enabled_for(user: User) -> bool:
    """True when a section where this person submits has suggestions turned on."""
    sections = (
        Membership.objects.current()
        .filter(user=user, role__in=[Role.RADIOLOGIST, Role.TRAINEE])
        .values("section_id")
    )
    return SectionSubmissionSettings.objects.filter(
        Q(section_id__in=sections), suggestions_enabled=True
    ).exists()


@transaction.atomic
def suggestion_dismiss(*, suggestion: Suggestion, user: User) -> Suggestion:
    if suggestion.radiologist_id != user.pk:
        raise PermissionError("Only the radiologist it names may dismiss a suggestion.")
    if suggestion.dismissed_at is None:
        suggestion.dismissed_at = timezone.now()
        suggestion.save(update_fields=["dismissed_at"])
    return suggestion


def suggestion_prefill(suggestion: Suggestion) -> dict:
    """The submit form's pre-filled values for a suggestion (accession, reader, reason)."""
    prefill = {
        "source": "suggestion",
        "accession_number": suggestion.accession_number,
        "reason": "discrepancy",
    }
    if suggestion.original_reader and suggestion.original_reader.is_active:
        prefill["reader"] = suggestion.original_reader.email
    return prefill

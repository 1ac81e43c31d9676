"""A conference's agenda of teaching cases, and the audience's anonymous votes.

Only a case whose anonymizer check passed can be added. Positions run 1..n without gaps;
reordering moves every row out of the way first, so the unique (conference, position)
constraint holds on every database at every step.

Votes: one per person per question (agenda item). The receipt is an HMAC of the person's
id and the item's id under a server secret, so a second vote is refused without the
person being stored; the choice only increments a per-option counter.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.crypto import salted_hmac

from conferences.attendance.models import Attendance
from conferences.cases.models import AgendaItem, TeachingCase, VoteCount, VoteReceipt
from conferences.meetings.models import Conference
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, User

DEFAULT_MINUTES = 10
MAX_MINUTES = 240
# Added to every position before a reorder writes the final ones.
PARKING = 10_000


class AgendaRefused(Exception):
    """The agenda cannot change that way; the message says why."""


class VoteRefused(Exception):
    """The vote was not counted; the message says why."""


def _renumber(conference: Conference, ordered_ids: list[int]) -> None:
    AgendaItem.objects.filter(conference=conference).update(position=F("position") + PARKING)
    for position, item_id in enumerate(ordered_ids, start=1):
        AgendaItem.objects.filter(pk=item_id).update(position=position)


def _ids(conference: Conference) -> list[int]:
    return list(
        AgendaItem.objects.filter(conference=conference)
        .order_by("position")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def agenda_add(
    *, conference: Conference, case: TeachingCase, actor: User, minutes: int | None = None
) -> AgendaItem:
    """Put a checked case at the end of the agenda."""
    Conference.objects.select_for_update().filter(pk=conference.pk).first()
    case = TeachingCase.objects.get(pk=case.pk)
    if case.section_id != conference.section_id:
        raise AgendaRefused("The case belongs to another section.")
    if not case.check_passed:
        problems = len(case.check_findings)
        raise AgendaRefused(
            f"“{case.title}” cannot go on the agenda until the anonymizer's check passes "
            f"({problems} problem{'s' if problems != 1 else ''} to fix on the case's page)."
        )
    if AgendaItem.objects.filter(conference=conference, teaching_case=case).exists():
        raise AgendaRefused(f"“{case.title}” is on the agenda already.")
    last = AgendaItem.objects.filter(conference=conference).aggregate(m=Max("position"))["m"]
    item = AgendaItem.objects.create(
        conference=conference,
        teaching_case=case,
        position=(last or 0) + 1,
        minutes=minutes or DEFAULT_MINUTES,
        added_by=actor,
    )
    audit_record(
        action=AuditEvent.Action.UPDATE,
        actor=actor,
        obj=conference,
        detail={"what": "agenda add", "case": case.pk},
    )
    return item


@transaction.atomic
def agenda_remove(*, item: AgendaItem, actor: User) -> None:
    conference = item.conference
    Conference.objects.select_for_update().filter(pk=conference.pk).first()
    item.delete()
    _renumber(conference, _ids(conference))
    audit_record(
        action=AuditEvent.Action.UPDATE,
        actor=actor,
        obj=conference,
        detail={"what": "agenda remove", "case": item.teaching_case_id},
    )


@transaction.atomic
def agenda_reorder(*, conference: Conference, order: list[int], actor: User) -> None:
    """Put the items in the given order (every item of the agenda, each once)."""
    Conference.objects.select_for_update().filter(pk=conference.pk).first()
    current = _ids(conference)
    if sorted(order) != sorted(current):
        raise AgendaRefused("The agenda changed meanwhile; reload the page and try again.")
    if order != current:
        _renumber(conference, order)


@transaction.atomic
def agenda_move(*, item: AgendaItem, direction: str, actor: User) -> None:
    """Move an item one place up or down (the buttons beside drag and drop)."""
    conference = item.conference
    Conference.objects.select_for_update().filter(pk=conference.pk).first()
    order = _ids(conference)
    at = order.index(item.pk)
    other = at - 1 if direction == "up" else at + 1
    if 0 <= other < len(order):
        order[at], order[other] = order[other], order[at]
        _renumber(conference, order)


def agenda_set_minutes(*, item: AgendaItem, minutes: int, actor: User) -> AgendaItem:
    if not 1 <= minutes <= MAX_MINUTES:
        raise AgendaRefused(f"Minutes must be between 1 and {MAX_MINUTES}.")
    if minutes != item.minutes:
        item.minutes = minutes
        item.save(update_fields=["minutes"])
    return item


# Votes -------------------------------------------------------------------------------------


def voter_key(*, user_id: int, item_id: int) -> str:
    secret = getattr(settings, "VOTE_SECRET", None) or settings.SECRET_KEY
    return salted_hmac(
        "conferences.vote", f"{user_id}:{item_id}", secret=secret, algorithm="sha256"
    ).hexdigest()


@transaction.atomic
def vote_open(*, item: AgendaItem, actor: User) -> AgendaItem:
    """Open the question for the audience (closing any other open one of the conference)."""
    options = item.teaching_case.vote_options
    if not options:
        raise VoteRefused("This case asks no question to vote on.")
    if not item.teaching_case.check_passed:
        raise VoteRefused("This case is held back until its check passes.")
    now = timezone.now()
    AgendaItem.objects.filter(
        conference_id=item.conference_id, vote_state=AgendaItem.VoteState.OPEN
    ).exclude(pk=item.pk).update(vote_state=AgendaItem.VoteState.CLOSED, vote_closed_at=now)
    for choice in range(len(options)):
        VoteCount.objects.get_or_create(item=item, choice=choice)
    item.vote_state = AgendaItem.VoteState.OPEN
    item.vote_opened_at = now
    item.vote_closed_at = None
    item.save(update_fields=["vote_state", "vote_opened_at", "vote_closed_at"])
    return item


@transaction.atomic
def vote_close(*, item: AgendaItem, actor: User) -> AgendaItem:
    if item.vote_state == AgendaItem.VoteState.OPEN:
        item.vote_state = AgendaItem.VoteState.CLOSED
        item.vote_closed_at = timezone.now()
        item.save(update_fields=["vote_state", "vote_closed_at"])
    return item


def vote_cast(*, item: AgendaItem, user: User, choice: int) -> None:
    """Count one answer from someone present; a second answer to the question is refused."""
    item = AgendaItem.objects.select_related("teaching_case").get(pk=item.pk)
    if item.vote_state != AgendaItem.VoteState.OPEN:
        raise VoteRefused("Voting on this question has closed.")
    if not Attendance.objects.filter(conference_id=item.conference_id, user=user).exists():
        raise VoteRefused("Check in to the conference to vote.")
    if not 0 <= choice < len(item.teaching_case.vote_options):
        raise VoteRefused("Pick one of the answers.")
    try:
        with transaction.atomic():
            VoteReceipt.objects.create(
                item=item, voter_key=voter_key(user_id=user.pk, item_id=item.pk)
            )
            updated = VoteCount.objects.filter(item=item, choice=choice).update(
                count=F("count") + 1
            )
            if not updated:
                VoteCount.objects.create(item=item, choice=choice, count=1)
    except IntegrityError:
        raise VoteRefused("You have answered this question already.") from None

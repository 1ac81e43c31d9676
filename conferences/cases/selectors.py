"""Who sees which teaching case, agenda and question. Outsiders get 404.

| who                                  | sees                                                    |
| ------------------------------------ | ------------------------------------------------------- |
| champion of the case's section       | every case of the section, drafts and blocked ones too; |
|                                      | builds agendas; presents                                |
| presenter of a conference            | the cases on that conference's agenda; presents it      |
| any other member of the section      | the library: cases that passed the check and were on    |
|                                      | the agenda of a conference that has started             |
| someone present at a conference      | the open question of that conference, to vote           |
| each person                          | their own requests to be named on slides                |

A champion sees the source submissions of a case only where the submissions' own rules
let them (`submissions.selectors.champion_submissions`): never those they read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from conferences.attendance.models import Attendance
from conferences.cases.agenda import voter_key
from conferences.cases.models import (
    AgendaItem,
    CaseImage,
    CaseUpload,
    CreditConsent,
    KeyImage,
    TeachingCase,
    VoteCount,
    VoteReceipt,
)
from conferences.meetings.models import Conference
from conferences.meetings.selectors import member_section_ids, sections_by_role, sections_with_role
from peerlearning.models import Role, User
from submissions.disclosure import disclosure_for
from submissions.models import Submission
from submissions.selectors import champion_submissions


def championed(user: User) -> set[int]:
    return sections_with_role(user, Role.CHAMPION)


# Cases -------------------------------------------------------------------------------------


def _presented_case_ids(section_ids) -> QuerySet:
    return (
        AgendaItem.objects.filter(
            conference__section_id__in=section_ids,
            conference__starts_at__lte=timezone.now(),
            teaching_case__check_passed=True,
        )
        .exclude(conference__status=Conference.Status.CANCELLED)
        .values("teaching_case_id")
    )


def teaching_cases_visible_to(user: User, *, held: dict | None = None) -> QuerySet[TeachingCase]:
    held = sections_by_role(user) if held is None else held
    champion_of = sections_with_role(user, Role.CHAMPION, held=held)
    member_of = set().union(*held.values()) if held else set()
    presenting = AgendaItem.objects.filter(conference__presenters=user).values("teaching_case_id")
    return TeachingCase.objects.filter(
        Q(section_id__in=champion_of)
        | Q(pk__in=_presented_case_ids(member_of), check_passed=True)
        | Q(pk__in=presenting, check_passed=True)
    ).select_related("section")


def teaching_case_get_for_viewer(*, user: User, case_uuid: uuid.UUID) -> TeachingCase:
    try:
        return teaching_cases_visible_to(user).get(uuid=case_uuid)
    except TeachingCase.DoesNotExist:
        raise Http404("No such teaching case.") from None


def teaching_case_get_for_champion(*, user: User, case_uuid: uuid.UUID) -> TeachingCase:
    try:
        return TeachingCase.objects.select_related("section").get(
            uuid=case_uuid, section_id__in=championed(user)
        )
    except TeachingCase.DoesNotExist:
        raise Http404("No such teaching case.") from None


@dataclass(frozen=True)
class LibraryFilters:
    section: int | None = None
    modality: str = ""
    body_part: str = ""
    reason: str = ""
    tag: str = ""
    text: str = ""
    status: str = ""  # "ready", "blocked" (champions)


def library(
    *, user: User, filters: LibraryFilters, held: dict | None = None
) -> QuerySet[TeachingCase]:
    """The searchable library, newest first, with what a row shows (no query per row)."""
    cases = (
        teaching_cases_visible_to(user, held=held)
        .annotate(
            key_image_count=Count("key_images", distinct=True),
            agenda_count=Count("agenda_items", distinct=True),
        )
        .order_by("-updated_at", "-pk")
    )
    if filters.section:
        cases = cases.filter(section_id=filters.section)
    if filters.modality:
        cases = cases.filter(modality=filters.modality)
    if filters.body_part:
        cases = cases.filter(body_part=filters.body_part)
    if filters.reason:
        cases = cases.filter(reason=filters.reason)
    if filters.tag:
        cases = cases.filter(tags__icontains=f"|{filters.tag.strip().lower()}|")
    for word in filters.text.split()[:5]:
        cases = cases.filter(
            Q(title__icontains=word)
            | Q(history__icontains=word)
            | Q(findings__icontains=word)
            | Q(teaching_points__icontains=word)
            | Q(answer__icontains=word)
            | Q(tags__icontains=word)
        )
    if filters.status == "ready":
        cases = cases.filter(check_passed=True)
    elif filters.status == "blocked":
        cases = cases.filter(check_passed=False)
    return cases


def case_candidates(*, user: User) -> QuerySet[Submission]:
    """Submissions the champion marked as conference candidates (never ones they read)."""
    return (
        champion_submissions(user=user)
        .filter(conference_candidate=True)
        .select_related("section")
        .annotate(case_count=Count("teaching_cases"))
        .order_by("-created_at", "-id")
    )


def case_sources_for(*, user: User, case: TeachingCase) -> tuple[list[Submission], int]:
    """The case's submissions this champion may open, and how many others there are."""
    mine = list(
        case.sources.filter(pk__in=champion_submissions(user=user).values("pk")).order_by("pk")
    )
    return mine, case.sources.count() - len(mine)


def credits_visible_to(*, viewer: User, case: TeachingCase) -> list[CreditConsent]:
    """The case's credit requests this viewer may see by name (submissions/disclosure.py):
    never a source's submitter to its original reader (unless the submitter signed), nor a
    reader to a submitter who did not name them. The viewer's own request always shows."""
    hidden = set()
    for source in case.sources.select_related("submitter", "original_reader"):
        disclosure = disclosure_for(viewer=viewer, submission=source)
        if not disclosure.knows_submitter:
            hidden.add((CreditConsent.As.SUBMITTER, source.submitter_id))
        if source.original_reader_id and not disclosure.knows_reader:
            hidden.add((CreditConsent.As.READER, source.original_reader_id))
    return [
        consent
        for consent in case.credits.select_related("person")
        if consent.person_id == viewer.pk or (consent.credited_as, consent.person_id) not in hidden
    ]


def case_detail_parts(case: TeachingCase, *, viewer: User) -> dict:
    return {
        "key_images": list(case.key_images.select_related("image")),
        "credits": credits_visible_to(viewer=viewer, case=case),
        "agenda": list(
            case.agenda_items.select_related("conference").order_by("-conference__starts_at")
        ),
    }


def case_images(case: TeachingCase) -> list[CaseImage]:
    return list(
        case.images.order_by("series_number", "instance_number", "pk").prefetch_related(
            Prefetch("key_images", queryset=KeyImage.objects.order_by("position"))
        )
    )


def case_uploads(case: TeachingCase) -> QuerySet[CaseUpload]:
    return case.uploads.order_by("-created_at")


def case_upload_get(*, case: TeachingCase, upload_uuid: uuid.UUID) -> CaseUpload:
    try:
        return case.uploads.get(uuid=upload_uuid)
    except CaseUpload.DoesNotExist:
        raise Http404("No such upload.") from None


def case_image_get(*, case: TeachingCase, pk: int) -> CaseImage:
    try:
        return case.images.select_related("case").get(pk=pk)
    except CaseImage.DoesNotExist:
        raise Http404("No such image.") from None


def key_image_get(*, case: TeachingCase, pk: int) -> KeyImage:
    try:
        return case.key_images.select_related("case", "image").get(pk=pk)
    except KeyImage.DoesNotExist:
        raise Http404("No such key image.") from None


# Credits -------------------------------------------------------------------------------------


def credits_of(user: User) -> QuerySet[CreditConsent]:
    """My requests to be named on slides (the case's title only: never who else is on it)."""
    return (
        CreditConsent.objects.filter(person=user)
        .select_related("case__section")
        .order_by("-asked_at", "-pk")
    )


def credit_get_for_person(*, user: User, pk: int) -> CreditConsent:
    try:
        return credits_of(user).get(pk=pk)
    except CreditConsent.DoesNotExist:
        raise Http404("No such request.") from None


# Agendas and presenting ---------------------------------------------------------------------


def conference_get_for_agenda(*, user: User, pk: int) -> Conference:
    """A conference whose agenda this person builds: a champion of its section."""
    try:
        return Conference.objects.select_related("section").get(
            pk=pk, section_id__in=championed(user)
        )
    except Conference.DoesNotExist:
        raise Http404("No such conference.") from None


def conference_get_for_presenter(*, user: User, pk: int) -> Conference:
    """A conference this person may present: a champion of its section, or a presenter."""
    try:
        return (
            Conference.objects.select_related("section")
            .filter(Q(section_id__in=championed(user)) | Q(presenters=user))
            .distinct()
            .get(pk=pk)
        )
    except Conference.DoesNotExist:
        raise Http404("No such conference.") from None


def can_present(user: User, conference: Conference, *, held: dict | None = None) -> bool:
    """Whether the person may present this conference (`conference_get_for_presenter`'s rule)."""
    return (
        conference.section_id in sections_with_role(user, Role.CHAMPION, held=held)
        or conference.presenters.filter(pk=user.pk).exists()
    )


def agenda_items(conference: Conference) -> list[AgendaItem]:
    return list(
        AgendaItem.objects.filter(conference=conference)
        .select_related("teaching_case")
        .annotate(key_image_count=Count("teaching_case__key_images"))
        .order_by("position")
    )


def agenda_minutes(conference: Conference) -> int:
    return AgendaItem.objects.filter(conference=conference).aggregate(m=Sum("minutes"))["m"] or 0


def agenda_item_get(*, conference: Conference, pk: int) -> AgendaItem:
    try:
        return AgendaItem.objects.select_related("teaching_case", "conference").get(
            pk=pk, conference=conference
        )
    except AgendaItem.DoesNotExist:
        raise Http404("No such agenda item.") from None


def cases_to_add(conference: Conference, *, text: str = "") -> QuerySet[TeachingCase]:
    """The section's cases not on the agenda yet, ready ones first."""
    cases = (
        TeachingCase.objects.filter(section=conference.section)
        .exclude(agenda_items__conference=conference)
        .order_by("-check_passed", "-updated_at")
    )
    for word in text.split()[:5]:
        cases = cases.filter(
            Q(title__icontains=word) | Q(tags__icontains=word) | Q(findings__icontains=word)
        )
    return cases


def deck_items(conference: Conference) -> list[AgendaItem]:
    """The agenda as slides: each case with its key images and credits, in order.

    A case whose check no longer passes is held back (`item.held_back`), never shown.
    """
    items = list(
        AgendaItem.objects.filter(conference=conference)
        .select_related("teaching_case")
        .prefetch_related(
            Prefetch(
                "teaching_case__key_images", queryset=KeyImage.objects.order_by("position", "pk")
            ),
            Prefetch(
                "teaching_case__credits",
                queryset=CreditConsent.objects.select_related("person"),
            ),
        )
        .order_by("position")
    )
    for item in items:
        item.held_back = not item.teaching_case.check_passed
    return items


def vote_summaries(items: list[AgendaItem]) -> dict[int, tuple[int, list[dict]]]:
    """{item id: (answers, tally)} for a whole deck in two queries (tally once closed)."""
    ids = [item.pk for item in items]
    answers = dict(
        VoteReceipt.objects.filter(item_id__in=ids)
        .values("item_id")
        .annotate(n=Count("pk"))
        .values_list("item_id", "n")
    )
    counts: dict[int, dict[int, int]] = {}
    for item_id, choice, count in VoteCount.objects.filter(item_id__in=ids).values_list(
        "item_id", "choice", "count"
    ):
        counts.setdefault(item_id, {})[choice] = count
    return {
        item.pk: (
            answers.get(item.pk, 0),
            _tally(item, counts.get(item.pk, {}))
            if item.vote_state == AgendaItem.VoteState.CLOSED
            else [],
        )
        for item in items
    }


def tally(item: AgendaItem) -> list[dict]:
    """Each option with its count and share (for the presenter, after the vote closes)."""
    counts = dict(
        VoteCount.objects.filter(item=item).values_list("choice", "count").order_by("choice")
    )
    return _tally(item, counts)


def _tally(item: AgendaItem, counts: dict[int, int]) -> list[dict]:
    options = item.teaching_case.vote_options
    total = sum(counts.values())
    return [
        {
            "letter": chr(65 + n),
            "option": option,
            "count": counts.get(n, 0),
            "percent": round(100 * counts.get(n, 0) / total) if total else 0,
            "correct": item.teaching_case.correct_option == n,
        }
        for n, option in enumerate(options)
    ]


def votes_in(item: AgendaItem) -> int:
    return VoteReceipt.objects.filter(item=item).count()


# The audience -------------------------------------------------------------------------------


def conference_get_for_attendee(*, user: User, pk: int) -> Conference:
    """A conference the person is recorded present at (checked in or ticked)."""
    try:
        return Conference.objects.select_related("section").get(pk=pk, attendance__user=user)
    except Conference.DoesNotExist:
        raise Http404("No such conference.") from None


def is_member(user: User, conference: Conference) -> bool:
    return conference.section_id in member_section_ids(user)


def open_question(conference: Conference) -> AgendaItem | None:
    return (
        AgendaItem.objects.filter(
            conference=conference,
            vote_state=AgendaItem.VoteState.OPEN,
            teaching_case__check_passed=True,
        )
        .select_related("teaching_case")
        .first()
    )


def has_voted(*, item: AgendaItem, user: User) -> bool:
    return VoteReceipt.objects.filter(
        item=item, voter_key=voter_key(user_id=user.pk, item_id=item.pk)
    ).exists()


def attends(user: User, conference: Conference) -> bool:
    return Attendance.objects.filter(conference=conference, user=user).exists()

"""Reads that decide who sees which conference, CME credit and improvement action.

- A conference is visible to everyone with a current role in its section; champions and
  admin assistants of the section manage it (attendance, imports, edits). Anyone else gets
  404, as if it did not exist.
- Each person sees their own CME credit.
- Improvement actions: champions see and edit their sections' actions, leaders see them,
  the quality team sees (and reports on) those escalated to it in its sections.
"""

import datetime

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from conferences.attendance.models import Attendance
from conferences.meetings.models import Conference, ImprovementAction
from conferences.roles import ATTENDANCE_READERS, MANAGERS
from peerlearning.models import Membership, Role, Section, User


def member_section_ids(user: User) -> list[int]:
    return sorted({section for sections in sections_by_role(user).values() for section in sections})


def sections_by_role(user: User) -> dict[str, set[int]]:
    """{role: {section ids}} for the person's current memberships, in one query."""
    found: dict[str, set[int]] = {}
    for section_id, role in (
        Membership.objects.current().filter(user=user).order_by().values_list("section_id", "role")
    ):
        found.setdefault(role, set()).add(section_id)
    return found


def managed_sections(user: User) -> QuerySet[Section]:
    return Section.objects.filter(pk__in=sections_with_role(user, *MANAGERS))


def sections_with_role(user: User, *roles: str, held: dict | None = None) -> set[int]:
    """Section ids where the person holds one of the roles today (from `held` if given)."""
    held = sections_by_role(user) if held is None else held
    return set().union(*(held.get(role, set()) for role in roles))


def conferences_visible_to(user: User, *, section_ids=None) -> QuerySet[Conference]:
    if section_ids is None:
        section_ids = member_section_ids(user)
    return Conference.objects.filter(section_id__in=section_ids).select_related("section")


def conference_get_for_user(*, user: User, pk: int) -> Conference:
    try:
        return conferences_visible_to(user).get(pk=pk)
    except Conference.DoesNotExist:
        raise Http404("No such conference.") from None


def conference_get_for_manager(*, user: User, pk: int) -> Conference:
    """A conference the person may run; 404 otherwise (members who only attend included)."""
    try:
        return Conference.objects.select_related("section").get(
            pk=pk, section_id__in=sections_with_role(user, *MANAGERS)
        )
    except Conference.DoesNotExist:
        raise Http404("No such conference.") from None


def conference_get_for_attendance_reader(*, user: User, pk: int) -> Conference:
    try:
        return Conference.objects.select_related("section").get(
            pk=pk, section_id__in=sections_with_role(user, *ATTENDANCE_READERS)
        )
    except Conference.DoesNotExist:
        raise Http404("No such conference.") from None


def can_manage(user: User, conference: Conference) -> bool:
    return conference.section_id in sections_with_role(user, *MANAGERS)


def conferences_upcoming_and_past(user: User, *, section: Section | None = None, section_ids=None):
    """(upcoming, past) querysets for the list page, soonest and latest first."""
    now = timezone.now()
    visible = conferences_visible_to(user, section_ids=section_ids).annotate(
        attendees=Count("attendance", filter=Q(attendance__kind=Attendance.Kind.ATTENDING))
    )
    if section is not None:
        visible = visible.filter(section=section)
    upcoming = visible.filter(ends_at__gte=now).order_by("starts_at")
    past = visible.filter(ends_at__lt=now).order_by("-starts_at")
    return upcoming, past


def cme_attendance_for(user: User, *, year: int | None = None) -> QuerySet[Attendance]:
    """Live, credited attendance at conferences that carry CME hours (recordings do not)."""
    rows = Attendance.objects.filter(
        user=user,
        credited=True,
        conference__cme_hours__gt=0,
        conference__status=Conference.Status.HELD,
    ).exclude(recorded_via=Attendance.Via.RECORDING)
    if year is not None:
        start, end = local_bounds(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        rows = rows.filter(conference__starts_at__gte=start, conference__starts_at__lt=end)
    return rows.select_related("conference__section").order_by("conference__starts_at")


def cme_attendance_get(*, user: User, conference_pk: int) -> Attendance:
    try:
        return cme_attendance_for(user).get(conference_id=conference_pk)
    except Attendance.DoesNotExist:
        raise Http404("No CME credit for this conference.") from None


# Improvement actions -----------------------------------------------------------------


def improvement_actions_visible_to(user: User, *, held=None) -> QuerySet[ImprovementAction]:
    held = sections_by_role(user) if held is None else held
    program = sections_with_role(user, Role.CHAMPION, Role.LEADER, held=held)
    quality = sections_with_role(user, Role.QUALITY, held=held)
    return ImprovementAction.objects.filter(
        Q(section_id__in=program) | Q(section_id__in=quality, escalated=True)
    ).select_related("section", "owner", "conference")


def improvement_action_get_for_user(*, user: User, pk: int) -> ImprovementAction:
    try:
        return improvement_actions_visible_to(user).get(pk=pk)
    except ImprovementAction.DoesNotExist:
        raise Http404("No such improvement action.") from None


def improvement_action_editable_fields(user: User, action: ImprovementAction) -> tuple[str, ...]:
    """What this person may change: everything (champions), status and outcome (quality)."""
    from conferences.meetings.services import CHAMPION_FIELDS, QUALITY_FIELDS

    held = sections_by_role(user)
    if action.section_id in held.get(Role.CHAMPION, set()):
        return CHAMPION_FIELDS
    if action.escalated and action.section_id in held.get(Role.QUALITY, set()):
        return QUALITY_FIELDS
    return ()


def local_bounds(start: datetime.date, end: datetime.date):
    """[start 00:00, the day after end 00:00) in the site's time zone, as aware datetimes."""
    tz = timezone.get_default_timezone()
    first = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    after = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
    )
    return first, after


def improvement_actions_for_report(
    *, sections, start: datetime.date, end: datetime.date
) -> QuerySet[ImprovementAction]:
    """Actions open at some time in [start, end] (dates inclusive), for the ACR annual report.

    That is: created on or before `end`, and not closed (done or abandoned) before `start`.
    Each row carries its section, conference, owner, status, outcome and `closed_on`.
    """
    _, after = local_bounds(start, end)
    return (
        ImprovementAction.objects.filter(section__in=sections, created_at__lt=after)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gte=start))
        .select_related("section", "conference", "owner")
        .order_by("section__name", "created_at")
    )

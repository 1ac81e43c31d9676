"""Reads of attendance: a conference's list and roster, its imports, figures for targets.

Attendance lists (who came) are for the section's champions, assistants and leaders; each
person sees their own attendance. Anyone else gets 404.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from conferences.attendance.models import Attendance, AttendanceImport
from conferences.meetings.models import Conference
from conferences.meetings.selectors import local_bounds, sections_with_role
from conferences.roles import MANAGERS, ROSTER_ROLES
from peerlearning.lib.months import as_month, months_between
from peerlearning.models import Membership, Role, User


def attendance_for_conference(conference: Conference) -> QuerySet[Attendance]:
    return (
        Attendance.objects.filter(conference=conference)
        .select_related("user")
        .order_by("kind", "user__last_name", "user__first_name", "guest_name")
    )


def attendance_counts(conference: Conference) -> dict[str, int]:
    """Present and credited, attendings apart from trainees and guests."""
    rows = (
        Attendance.objects.filter(conference=conference)
        .values("kind")
        .annotate(present=Count("pk"), credited=Count("pk", filter=Q(credited=True)))
    )
    counts = {
        f"{kind}_{what}": 0 for kind in Attendance.Kind.values for what in ("present", "credited")
    }
    for row in rows:
        counts[f"{row['kind']}_present"] = row["present"]
        counts[f"{row['kind']}_credited"] = row["credited"]
    counts["total_present"] = sum(counts[f"{k}_present"] for k in Attendance.Kind.values)
    return counts


def roster_for(conference: Conference) -> list[tuple[User, list[str], Attendance | None]]:
    """The section's current members (each once, with their roles) and their attendance."""
    roles: dict[int, list[str]] = {}
    for user_id, role in (
        Membership.objects.current()
        .filter(
            section=conference.section,
            role__in=ROSTER_ROLES,
        )
        .values_list("user_id", "role")
    ):
        roles.setdefault(user_id, []).append(role)
    users = User.objects.filter(pk__in=roles, is_active=True).order_by("last_name", "first_name")
    attendance = {
        a.user_id: a for a in Attendance.objects.filter(conference=conference, user_id__in=roles)
    }
    labels = dict(Role.choices)
    return [
        (user, sorted(labels[r] for r in roles[user.pk]), attendance.get(user.pk)) for user in users
    ]


def imports_for(conference: Conference) -> QuerySet[AttendanceImport]:
    return conference.imports.select_related("imported_by")


def attendance_import_get_for_manager(*, user: User, pk: int) -> AttendanceImport:
    try:
        return AttendanceImport.objects.select_related("conference__section", "imported_by").get(
            pk=pk, conference__section_id__in=sections_with_role(user, *MANAGERS)
        )
    except AttendanceImport.DoesNotExist:
        raise Http404("No such import.") from None


def my_attendance(user: User, conference: Conference) -> Attendance | None:
    return Attendance.objects.filter(conference=conference, user=user).first()


@dataclass(frozen=True)
class AttendanceForTargets:
    """A section's conferences held and, per person, how many of them earned credit, month by
    month (a month is its first day in the site's time zone)."""

    held: dict[datetime.date, int]  # month -> conferences held
    attended: dict[datetime.date, dict[int, int]]  # month -> user id -> credited conferences
    by_recording: dict[int, int]  # user id -> of those, how many by recording attestation

    @property
    def conferences_held(self) -> int:
        return sum(self.held.values())

    @property
    def credited(self) -> dict[int, int]:
        """User id -> credited conferences over the whole period (attending role only)."""
        total: dict[int, int] = {}
        for per_user in self.attended.values():
            for user_id, n in per_user.items():
                total[user_id] = total.get(user_id, 0) + n
        return total

    def for_user(self, user_id: int) -> int:
        return self.credited.get(user_id, 0)


def attendance_for_targets(
    *, sections, start: datetime.date, end: datetime.date
) -> dict[int, AttendanceForTargets]:
    """{section id: credited conferences per month} for [start, end] (dates inclusive).

    Only conferences marked held count; only attendings (not trainees or guests) with an
    account are counted. A recording attestation counts, and is reported apart in
    `by_recording`. Two grouped queries whatever the number of sections or months.
    """
    sections = list(sections)
    first, after = local_bounds(start, end)
    months = months_between(start, end)
    tz = timezone.get_current_timezone()
    held = Conference.objects.filter(
        section__in=sections,
        status=Conference.Status.HELD,
        starts_at__gte=first,
        starts_at__lt=after,
    )
    found = {
        section.pk: AttendanceForTargets(
            held=dict.fromkeys(months, 0), attended={m: {} for m in months}, by_recording={}
        )
        for section in sections
    }
    for row in (
        held.annotate(month=TruncMonth("starts_at", tzinfo=tz))
        .values("section_id", "month")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        found[row["section_id"]].held[as_month(row["month"])] = row["n"]
    for row in (
        Attendance.objects.filter(
            conference__in=held, credited=True, kind=Attendance.Kind.ATTENDING, user__isnull=False
        )
        .annotate(month=TruncMonth("conference__starts_at", tzinfo=tz))
        .values("conference__section_id", "month", "user_id")
        .annotate(
            n=Count("pk"),
            by_recording=Count("pk", filter=Q(recorded_via=Attendance.Via.RECORDING)),
        )
        .order_by()
    ):
        figures = found[row["conference__section_id"]]
        figures.attended.setdefault(as_month(row["month"]), {})[row["user_id"]] = row["n"]
        if row["by_recording"]:
            user_id = row["user_id"]
            figures.by_recording[user_id] = (
                figures.by_recording.get(user_id, 0) + row["by_recording"]
            )
    return found

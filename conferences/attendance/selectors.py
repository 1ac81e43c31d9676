"""Reads of attendance: a conference's list and roster, its imports, figures for targets.

Attendance lists (who came) are for the section's champions, assistants and leaders; each
person sees their own attendance. Anyone else gets 404.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from conferences.attendance.models import Attendance, AttendanceImport
from conferences.meetings.models import Conference
from conferences.meetings.selectors import local_bounds, sections_with_role
from conferences.roles import MANAGERS, ROSTER_ROLES
from peerlearning.models import Membership, Role, Section, User


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
    """Conferences held in a period and, per person, how many of them earned credit."""

    conferences_held: int
    credited: dict[int, int]  # user id -> credited conferences (attending role only)
    by_recording: dict[int, int]  # of those, how many by recording attestation

    def for_user(self, user_id: int) -> int:
        return self.credited.get(user_id, 0)


def attendance_for_targets(
    *, section: Section, start: datetime.date, end: datetime.date
) -> AttendanceForTargets:
    """Per-user credited conferences of a section in [start, end] (dates inclusive).

    Only conferences marked held count; only attendings (not trainees or guests) are
    counted. A recording attestation counts, and is reported apart in `by_recording`.
    """
    first, after = local_bounds(start, end)
    held = Conference.objects.filter(
        section=section,
        status=Conference.Status.HELD,
        starts_at__gte=first,
        starts_at__lt=after,
    )
    rows = (
        Attendance.objects.filter(
            conference__in=held, credited=True, kind=Attendance.Kind.ATTENDING, user__isnull=False
        )
        .values("user_id")
        .annotate(
            credited=Count("pk"),
            by_recording=Count("pk", filter=Q(recorded_via=Attendance.Via.RECORDING)),
        )
    )
    credited, by_recording = {}, {}
    for row in rows:
        credited[row["user_id"]] = row["credited"]
        if row["by_recording"]:
            by_recording[row["user_id"]] = row["by_recording"]
    return AttendanceForTargets(held.count(), credited, by_recording)

"""Targets, read: which sections a person may monitor, one radiologist's month and its
submissions, exemptions and the people who can hold them. Visibility is decided here."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from peerlearning.access import user_sections_with_role
from peerlearning.models import Membership, Role, Section, User
from reporting.months import month_of, month_start_at, next_month
from reporting.targets.ledger import Cell, ledger_build, target_policy_for
from reporting.targets.models import ReminderSettings, TargetExemption, TargetPolicy
from submissions.disclosure import countable_by
from submissions.models import Reason, Submission

MONITOR_ROLES = (Role.ADMIN_ASSISTANT, Role.CHAMPION, Role.LEADER)
# Who may read the submissions behind the numbers (date, reason, accession number).
DETAIL_ROLES = (Role.ADMIN_ASSISTANT, Role.CHAMPION)
POLICY_ROLES = (Role.CHAMPION, Role.LEADER)
EXEMPTION_ROLES = (Role.ADMIN_ASSISTANT, Role.LEADER)
REMINDER_ROLES = (Role.ADMIN_ASSISTANT, Role.CHAMPION)

# Who may see which section ----------------------------------------------------------------


def sections_for_monitoring(*, user: User) -> QuerySet[Section]:
    return Section.objects.filter(
        pk__in=user_sections_with_role(user, *MONITOR_ROLES), is_active=True
    ).order_by("name")


def section_for(*, user: User, pk: int | str | None, allowed=MONITOR_ROLES) -> Section:
    """A section the person holds one of the roles in (the first one when pk is empty); 404."""
    sections = Section.objects.filter(
        pk__in=user_sections_with_role(user, *allowed), is_active=True
    ).order_by("name")
    if pk in (None, ""):
        section = sections.first()
    else:
        try:
            section = sections.filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            section = None
    if section is None:
        raise Http404
    return section


@dataclass(frozen=True)
class MonitoringScope:
    section: Section  # the one asked for (the first by name when none was)
    sections: list[Section]  # every active section they monitor, by name
    roles: frozenset[str]  # theirs today in `section`


def monitoring_scope(*, user: User, pk: int | str | None, allowed=MONITOR_ROLES) -> MonitoringScope:
    """`section_for`, `sections_for_monitoring` and `roles_in_section` in one query; 404.

    The section's reminder settings come along (`ReminderSettings.for_section` reads them
    from the section without a query): the month page shows them.
    """
    memberships = (
        Membership.objects.current()
        .filter(user=user, section__is_active=True)
        .select_related("section__reminder_settings")
        .order_by("section__name", "section_id")
    )
    sections: dict[int, Section] = {}
    roles: dict[int, set[str]] = {}
    for membership in memberships:
        sections.setdefault(membership.section_id, membership.section)
        roles.setdefault(membership.section_id, set()).add(membership.role)
    eligible = [s for s in sections.values() if roles[s.pk] & set(allowed)]
    if pk in (None, ""):
        section = eligible[0] if eligible else None
    else:
        try:
            section = next((s for s in eligible if s.pk == int(pk)), None)
        except (TypeError, ValueError):
            section = None
    if section is None:
        raise Http404
    return MonitoringScope(
        section=section,
        sections=[s for s in sections.values() if roles[s.pk] & set(MONITOR_ROLES)],
        roles=frozenset(roles[section.pk]),
    )


def roles_in_section(*, user: User, section: Section) -> frozenset[str]:
    return frozenset(
        Membership.objects.current()
        .filter(user=user, section=section)
        .values_list("role", flat=True)
    )


def sees_detail(roles: frozenset[str]) -> bool:
    """Assistants and champions read the submissions; leaders see counts only."""
    return bool(roles & set(DETAIL_ROLES))


# One radiologist's month (the drill-down, and the reminder's "current submissions") ----------


@dataclass(frozen=True)
class SubmissionLine:
    created_at: datetime.datetime
    reason: str
    reason_label: str
    accession_number: str
    counts: bool
    not_counted_label: str


def month_submission_lines(
    *,
    section: Section,
    month: datetime.date,
    viewer: User | None,
    policy: TargetPolicy | None = None,
    user_ids: list[int] | None = None,
) -> dict[int, list[SubmissionLine]]:
    """{submitter id: their submissions to the section in the month}, in one query, without
    those `viewer` read.

    What the reminder calls "current submissions": date, reason, accession number, and
    whether each counts toward the target (and why not).
    """
    month = month_of(month)
    policy = policy or target_policy_for(section=section, month=month)
    rows = countable_by(
        Submission.objects.filter(
            section=section,
            created_at__gte=month_start_at(month),
            created_at__lt=month_start_at(next_month(month)),
        ),
        viewer=viewer,
    )
    if user_ids is not None:
        rows = rows.filter(submitter_id__in=user_ids)
    found: dict[int, list[SubmissionLine]] = defaultdict(list)
    for s in rows.only(
        "submitter_id",
        "created_at",
        "reason",
        "reason_detail",
        "accession_number",
        "counted",
        "not_counted_reason",
    ).order_by("created_at", "pk"):
        counts = s.counted and s.reason in (policy.counted_reasons or [])
        if not s.counted:
            why = f"not counted: {s.get_not_counted_reason_display().lower()}"
        elif not counts:
            why = "this reason does not count toward the target"
        else:
            why = ""
        found[s.submitter_id].append(
            SubmissionLine(
                created_at=s.created_at,
                reason=s.reason,
                reason_label=s.reason_label,
                accession_number=s.accession_number,
                counts=counts,
                not_counted_label=why,
            )
        )
    return found


@dataclass
class PersonMonth:
    user: User
    month: datetime.date
    cell: Cell | None
    lines: list[SubmissionLine] | None  # None for viewers who see counts only
    by_reason: list[tuple[str, int, int]]  # (reason label, submitted, counted)
    exemptions: list[TargetExemption]


def person_month(*, viewer: User, section: Section, user_id: int, month: datetime.date):
    """One radiologist's month for the dashboard's drill-down; 404 when not in the program.

    Leaders get counts by reason only; assistants and champions the list (audited, because
    accession numbers identify a patient's study).
    """
    month = month_of(month)
    ledger = ledger_build(section=section, months=[month], viewer=viewer, with_attendance=True)
    person = next((p for p in ledger.people if p.user.pk == user_id), None)
    if person is None:
        raise Http404
    policy = ledger.policy(month)
    counts: dict[str, list[int]] = {value: [0, 0] for value in Reason.values}
    all_lines = month_submission_lines(
        section=section, month=month, viewer=viewer, policy=policy, user_ids=[user_id]
    ).get(user_id, [])
    for line in all_lines:
        counts[line.reason][0] += 1
        counts[line.reason][1] += int(line.counts)
    labels = dict(Reason.choices)
    by_reason = [(labels[value], n, c) for value, (n, c) in counts.items() if n]
    lines = None
    if sees_detail(roles_in_section(user=viewer, section=section)):
        lines = all_lines
    return PersonMonth(
        user=person.user,
        month=month,
        cell=person.cells.get(month),
        lines=lines,
        by_reason=by_reason,
        exemptions=person.exemptions,
    )


def submission_target_for(*, user: User, month: datetime.date) -> int | None:
    """A person's submission target for a month, summed over their sections (None: no target).

    For `submissions.selectors.monthly_target_for`, the radiologist's own progress panel.
    """
    month = month_of(month)
    sections = Section.objects.filter(
        pk__in=Membership.objects.filter(
            user=user, role__in=(Role.RADIOLOGIST, Role.TRAINEE), participating=True
        ).values("section_id"),
        is_active=True,
    )
    total, found = 0, False
    for section in sections:
        person = next(
            (
                p
                for p in ledger_build(
                    section=section, months=[month], viewer=user, with_attendance=False
                ).people
                if p.user.pk == user.pk
            ),
            None,
        )
        if person is not None and month in person.cells:
            total += person.cells[month].target
            found = True
    return total if found else None


def exemptions_for(*, section: Section) -> QuerySet[TargetExemption]:
    return (
        TargetExemption.objects.filter(section=section)
        .select_related("user", "created_by")
        .order_by("-starts_on", "pk")
    )


def exemption_get(*, section: Section, pk: int) -> TargetExemption:
    exemption = TargetExemption.objects.filter(section=section, pk=pk).first()
    if exemption is None:
        raise Http404
    return exemption


def section_radiologists(*, section: Section) -> QuerySet[User]:
    """People who can hold an exemption in the section (radiologists and trainees, current)."""
    return User.objects.filter(
        pk__in=Membership.objects.current()
        .filter(section=section, role__in=(Role.RADIOLOGIST, Role.TRAINEE))
        .values("user_id")
    ).order_by("last_name", "first_name")


def reminder_settings_for(*, section: Section) -> ReminderSettings:
    return ReminderSettings.for_section(section)

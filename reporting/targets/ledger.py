"""Targets: who has one, how big it is in a month, and how far each person has got.

Reads (selectors) first, then the few writes that change a section's targets. Every
figure for a section and a span of months comes from a fixed number of queries whatever
the number of radiologists or months: the policies, the memberships, the exemptions, one
grouped aggregate of the submissions, and two of the conference attendance. Pro-rating and
sorting happen in Python over those few rows. See docs/targets.md.

Rules, in one place:

- The policy of a month is the section's row with the latest start on or before the
  month's first day; without any row, the defaults (2 a month, 50% of conferences, the
  reasons the section's submission settings count, trainees excluded).
- A person has a target in a month when they hold a participating radiologist membership
  (or trainee, when the policy includes trainees) in the section during that month.
- The target is pro-rated by the share of the month's days they are in the program and
  not on leave, times their FTE on part-time days; rounded to the nearest whole number
  (halves up) for the month; year-to-date targets add the exact monthly shares and round once.
- A submission counts when it was made to the section in the month (site time zone),
  is not marked "not counted" by a champion, and its reason is one the policy counts.
"""

import calendar
import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from peerlearning.access import user_sections_with_role
from peerlearning.lib.audit import audit_record
from peerlearning.lib.figures import figures_cached, figures_changed
from peerlearning.models import AuditEvent, Membership, Role, Section, User
from reporting.targets.models import ReminderSettings, TargetExemption, TargetPolicy
from submissions.models import Reason, SectionSubmissionSettings, Submission

MONITOR_ROLES = (Role.ADMIN_ASSISTANT, Role.CHAMPION, Role.LEADER)
# Who may read the submissions behind the numbers (date, reason, accession number).
DETAIL_ROLES = (Role.ADMIN_ASSISTANT, Role.CHAMPION)
POLICY_ROLES = (Role.CHAMPION, Role.LEADER)
EXEMPTION_ROLES = (Role.ADMIN_ASSISTANT, Role.LEADER)
REMINDER_ROLES = (Role.ADMIN_ASSISTANT, Role.CHAMPION)

ONE = Decimal(1)
ZERO = Decimal(0)

# Cached figures (peerlearning/lib/figures.py): the ledgers and the leader's dashboard are
# kept under the "program" version, which every saved change to what they count bumps
# (`program_changed`, connected in apps.py), and expire after FIGURES_TTL seconds, the
# longest a change that bypasses saving (bulk imports, renamed people) stays unseen.
PROGRAM = "program"
FIGURES_TTL = 60
# Submission fields the figures depend on; saves of others (status, due times: several per
# submission) leave them alone.
SUBMISSION_FIELDS_COUNTED = {"section", "submitter", "reason", "counted", "created_at"}


# Months ---------------------------------------------------------------------------------


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def days_in(month: datetime.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_start_at(month: datetime.date) -> datetime.datetime:
    """Midnight on the month's first day in the site's time zone."""
    return datetime.datetime.combine(month, datetime.time(), tzinfo=timezone.get_current_timezone())


def parse_month(text: str | None) -> datetime.date | None:
    """'2026-03' -> date(2026, 3, 1); None for anything else."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        return None


def month_key(month: datetime.date) -> str:
    return f"{month:%Y-%m}"


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def round_target(value: Decimal) -> int:
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def program_changed(sender, instance=None, created=False, update_fields=None, **kwargs) -> None:
    """post_save / post_delete receiver: a change to what the cached figures count."""
    if (
        sender is Submission
        and not created
        and update_fields is not None
        and not SUBMISSION_FIELDS_COUNTED & set(update_fields)
    ):
        return
    figures_changed(PROGRAM)


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


# Policies -----------------------------------------------------------------------------------


def default_policy(*, section: Section) -> TargetPolicy:
    """The unsaved policy of a section that has never set one."""
    counted = SectionSubmissionSettings.for_section(section).counted_reasons
    return TargetPolicy(
        section=section,
        effective_from=datetime.date.min,
        counted_reasons=list(counted) if counted else list(Reason.values),
    )


def section_policies(*, section: Section) -> list[TargetPolicy]:
    """The section's policies, oldest first, with the default in front when none starts early."""
    policies = list(TargetPolicy.objects.filter(section=section).order_by("effective_from"))
    return [default_policy(section=section), *policies]


def policy_for(policies: list[TargetPolicy], month: datetime.date) -> TargetPolicy:
    """The policy in force in a month (policies as `section_policies` returns them)."""
    chosen = policies[0]
    for policy in policies:
        if policy.effective_from <= month:
            chosen = policy
    return chosen


def target_policy_for(*, section: Section, month: datetime.date) -> TargetPolicy:
    return policy_for(section_policies(section=section), month_of(month))


def eligible_roles(policy: TargetPolicy) -> set[str]:
    return {Role.RADIOLOGIST, Role.TRAINEE} if policy.include_trainees else {Role.RADIOLOGIST}


# The engine ----------------------------------------------------------------------------------


@dataclass
class Cell:
    """One person's figures for one month."""

    month: datetime.date
    share: Decimal  # of the month they owe: days present, not on leave, times FTE
    target_exact: Decimal
    counted: int = 0
    submitted: int = 0
    attended: int | None = None
    attendance_target_exact: Decimal | None = None

    @property
    def target(self) -> int:
        return round_target(self.target_exact)

    @property
    def attendance_target(self) -> int | None:
        if self.attendance_target_exact is None:
            return None
        return round_target(self.attendance_target_exact)

    @property
    def still_needed(self) -> int:
        return max(self.target - self.counted, 0)

    @property
    def met(self) -> bool:
        return self.counted >= self.target

    @property
    def not_counted(self) -> int:
        return self.submitted - self.counted


@dataclass
class Person:
    user: User
    cells: dict[datetime.date, Cell] = field(default_factory=dict)
    exemptions: list[TargetExemption] = field(default_factory=list)
    # Membership spans [start, end) in a role that has targets, as of the last month.
    spans: list[tuple[datetime.date, datetime.date | None]] = field(default_factory=list)

    def member_on(self, day: datetime.date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in self.spans)


@dataclass
class Attendance:
    """Credited conferences per person and conferences held, per month (None: unknown)."""

    held: dict[datetime.date, int]
    attended: dict[datetime.date, dict[int, int]]


@dataclass
class Ledger:
    section: Section
    months: list[datetime.date]
    policies: list[TargetPolicy]
    people: list[Person]
    attendance: Attendance | None

    def policy(self, month: datetime.date) -> TargetPolicy:
        return policy_for(self.policies, month)

    def held(self, month: datetime.date) -> int | None:
        return None if self.attendance is None else self.attendance.held.get(month, 0)


def _memberships(section: Section, start: datetime.date, end: datetime.date) -> list[Membership]:
    """Participating radiologist and trainee memberships that overlap [start, end)."""
    return list(
        Membership.objects.filter(
            section=section,
            role__in=(Role.RADIOLOGIST, Role.TRAINEE),
            participating=True,
            started_on__lt=end,
        )
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .select_related("user")
        .only(
            "user_id",
            "role",
            "started_on",
            "ended_on",
            "user__first_name",
            "user__last_name",
            "user__email",
            "user__is_active",
        )
    )


def _exemptions(section: Section, start: datetime.date, end: datetime.date):
    found = defaultdict(list)
    rows = TargetExemption.objects.filter(section=section, starts_on__lt=end).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=start)
    )
    for exemption in rows.order_by("starts_on", "pk"):
        found[exemption.user_id].append(exemption)
    return found


def _exemption_in(exemption: TargetExemption, month: datetime.date) -> bool:
    return exemption.starts_on < next_month(month) and (
        exemption.ends_on is None or exemption.ends_on >= month
    )


def _share(
    month: datetime.date,
    spans: list[tuple[datetime.date, datetime.date | None]],
    exemptions: list[TargetExemption],
) -> Decimal:
    """The share of a month a person owes a target for (0 to 1)."""
    following = next_month(month)
    covers_all = any(start <= month and (end is None or end >= following) for start, end in spans)
    relevant = [e for e in exemptions if _exemption_in(e, month)]
    if covers_all and not relevant:
        return ONE
    total = ZERO
    for offset in range(days_in(month)):
        day = month + datetime.timedelta(days=offset)
        if not any(start <= day and (end is None or day < end) for start, end in spans):
            continue
        factor = ONE
        for exemption in relevant:
            if not exemption.covers(day):
                continue
            if exemption.kind == TargetExemption.Kind.LEAVE:
                factor = ZERO
                break
            factor = min(factor, exemption.fte)
        total += factor
    return total / days_in(month)


def _count_rule(section_id: int, months: list[datetime.date], policies: list[TargetPolicy]) -> Q:
    """Submissions of one section that count in these months, under each month's policy.

    Runs of months under the same policy become one date range, so a year is one or two
    clauses, not twelve.
    """
    rule = Q()
    run: list[datetime.date] = []

    def close(run):
        reasons = list(policy_for(policies, run[0]).counted_reasons or [])
        if not reasons:
            return Q()
        return Q(
            section_id=section_id,
            created_at__gte=month_start_at(run[0]),
            created_at__lt=month_start_at(next_month(run[-1])),
            reason__in=reasons,
        )

    for month in months:
        if run and (
            policy_for(policies, month) is not policy_for(policies, run[-1])
            or month != next_month(run[-1])
        ):
            rule |= close(run)
            run = []
        run.append(month)
    if run:
        rule |= close(run)
    return rule


def _submission_counts_many(
    policies_by_section: dict[int, list[TargetPolicy]], months: list[datetime.date]
) -> dict[tuple[int, int, datetime.date], tuple[int, int]]:
    """{(section id, submitter id, month): (submitted, counted)} in one grouped query."""
    start, end = month_start_at(months[0]), month_start_at(next_month(months[-1]))
    rule = Q()
    for section_id, policies in policies_by_section.items():
        rule |= _count_rule(section_id, months, policies)
    aggregates = {"submitted": Count("pk")}
    if rule:
        aggregates["counted_n"] = Count("pk", filter=Q(counted=True) & rule)
    rows = (
        Submission.objects.filter(
            section_id__in=list(policies_by_section), created_at__gte=start, created_at__lt=end
        )
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("section_id", "submitter_id", "month")
        .annotate(**aggregates)
        .order_by()
    )
    found = {}
    for row in rows:
        month = _as_month(row["month"])
        found[(row["section_id"], row["submitter_id"], month)] = (
            row["submitted"],
            row.get("counted_n", 0),
        )
    return found


@functools.lru_cache(maxsize=256)
def _as_month(value) -> datetime.date:
    """A TruncMonth value as the month's first day in the site's time zone.

    Cached: a grouped query returns the same dozen months on thousands of rows, and the
    time-zone conversion was a tenth of the dashboards' Python time.
    """
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _submission_counts(
    section: Section, months: list[datetime.date], policies: list[TargetPolicy]
) -> dict[tuple[int, datetime.date], tuple[int, int]]:
    """{(submitter id, month): (submitted, counted)} in one grouped query."""
    return {
        (user_id, month): figures
        for (_, user_id, month), figures in _submission_counts_many(
            {section.pk: policies}, months
        ).items()
    }


def attendance_selector():
    """conferences' `attendance_for_targets(section, start, end)` (dates inclusive), or None.

    None while the conferences app does not provide it: attendance then shows as "—".
    """
    try:
        from conferences.selectors import attendance_for_targets
    except ImportError:
        return None
    return attendance_for_targets


def _attendance(section: Section, months: list[datetime.date]) -> Attendance | None:
    """The section's attendance month by month: `_attendance_many` for one section (two
    grouped queries for the whole span, rather than two per month)."""
    found = _attendance_many([section], months)
    return None if found is None else found[section.pk]


def _attendance_target(policy: TargetPolicy, held: int | None, share: Decimal) -> Decimal | None:
    if held is None:
        return None
    if policy.attendance_rule == TargetPolicy.AttendanceRule.PER_YEAR:
        return Decimal(policy.attendance_per_year) / 12 * share
    return Decimal(held) * policy.attendance_percent / 100 * share


def _people(
    months: list[datetime.date],
    policies: list[TargetPolicy],
    memberships: list[Membership],
    exemptions: dict[int, list[TargetExemption]],
    counts: dict[tuple[int, datetime.date], tuple[int, int]],
    attendance: Attendance | None,
) -> list[Person]:
    spans: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    users: dict[int, User] = {}
    for membership in memberships:
        users[membership.user_id] = membership.user
        spans[membership.user_id][membership.role].append(
            (membership.started_on, membership.ended_on)
        )

    people = []
    for user_id, user in users.items():
        person = Person(user=user, exemptions=exemptions.get(user_id, []))
        for month in months:
            policy = policy_for(policies, month)
            own = [s for role in eligible_roles(policy) for s in spans[user_id].get(role, [])]
            if not own or not any(
                start_ < next_month(month) and (end_ is None or end_ > month)
                for start_, end_ in own
            ):
                continue
            person.spans = own
            share = _share(month, own, person.exemptions)
            submitted, counted = counts.get((user_id, month), (0, 0))
            cell = Cell(
                month=month,
                share=share,
                target_exact=Decimal(policy.submissions_per_month) * share,
                counted=counted,
                submitted=submitted,
            )
            if attendance is not None:
                cell.attended = attendance.attended.get(month, {}).get(user_id, 0)
                cell.attendance_target_exact = _attendance_target(
                    policy, attendance.held.get(month, 0), share
                )
            person.cells[month] = cell
        if person.cells:
            people.append(person)
    people.sort(key=lambda p: (p.user.last_name.lower(), p.user.first_name.lower(), p.user.pk))
    return people


def ledger_build(
    *, section: Section, months: list[datetime.date], with_attendance: bool = True
) -> Ledger:
    """Everyone with a target in the section in these months, with their figures.

    From the cache while nothing they count has changed (see `program_changed`).
    """
    return figures_cached(
        PROGRAM,
        "ledger",
        section.pk,
        ",".join(month_key(m) for m in months),
        int(with_attendance),
        compute=lambda: _ledger_compute(section, months, with_attendance),
        ttl=FIGURES_TTL,
    )


def _ledger_compute(section: Section, months: list[datetime.date], with_attendance: bool) -> Ledger:
    start, end = months[0], next_month(months[-1])
    policies = section_policies(section=section)
    memberships = _memberships(section, start, end)
    exemptions = _exemptions(section, start, end)
    counts = _submission_counts(section, months, policies)
    attendance = _attendance(section, months) if with_attendance else None
    people = _people(months, policies, memberships, exemptions, counts, attendance)
    return Ledger(
        section=section, months=months, policies=policies, people=people, attendance=attendance
    )


def _attendance_many(
    sections: list[Section], months: list[datetime.date]
) -> dict[int, Attendance] | None:
    """Attendance month by month for several sections in two grouped queries.

    The same rule as `conferences.selectors.attendance_for_targets` (conferences marked
    held, starting in the month in the site's time zone; credited attendance of attendings
    with an account), grouped by month in the database instead of one call per month;
    `reporting/tests/test_ledgers.py` checks the two agree.
    """
    if attendance_selector() is None:
        return None
    from conferences.models import Attendance as ConferenceAttendance
    from conferences.models import Conference

    tz = timezone.get_current_timezone()
    start, end = month_start_at(months[0]), month_start_at(next_month(months[-1]))
    held = Conference.objects.filter(
        section__in=sections,
        status=Conference.Status.HELD,
        starts_at__gte=start,
        starts_at__lt=end,
    )
    found = {s.pk: Attendance(held=dict.fromkeys(months, 0), attended={}) for s in sections}
    for row in (
        held.annotate(month=TruncMonth("starts_at", tzinfo=tz))
        .values("section_id", "month")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        found[row["section_id"]].held[_as_month(row["month"])] = row["n"]
    for row in (
        ConferenceAttendance.objects.filter(
            conference__in=held,
            credited=True,
            kind=ConferenceAttendance.Kind.ATTENDING,
            user__isnull=False,
        )
        .annotate(month=TruncMonth("conference__starts_at", tzinfo=tz))
        .values("conference__section_id", "month", "user_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        attended = found[row["conference__section_id"]].attended
        attended.setdefault(_as_month(row["month"]), {})[row["user_id"]] = row["n"]
    for figures in found.values():
        for month in months:
            figures.attended.setdefault(month, {})
    return found


def ledgers_build(
    *, sections, months: list[datetime.date], with_attendance: bool = True
) -> dict[int, Ledger]:
    """`ledger_build` for several sections at once: {section id: ledger}.

    A fixed number of queries (policies, submission settings, memberships, exemptions, the
    submissions aggregate, and two for attendance) whatever the number of sections, months
    or radiologists: for the leader's dashboard and the department's annual report.
    """
    sections = list(sections)
    if not sections:
        return {}
    start, end = months[0], next_month(months[-1])
    ids = [s.pk for s in sections]
    settings_by_section = {
        row.section_id: row for row in SectionSubmissionSettings.objects.filter(section_id__in=ids)
    }
    saved: dict[int, list[TargetPolicy]] = defaultdict(list)
    for policy in TargetPolicy.objects.filter(section_id__in=ids).order_by("effective_from"):
        saved[policy.section_id].append(policy)
    policies_by_section = {}
    for section in sections:
        counted = (
            settings_by_section.get(section.pk) or SectionSubmissionSettings(section=section)
        ).counted_reasons
        default = TargetPolicy(
            section=section,
            effective_from=datetime.date.min,
            counted_reasons=list(counted) if counted else list(Reason.values),
        )
        policies_by_section[section.pk] = [default, *saved[section.pk]]

    memberships: dict[int, list[Membership]] = defaultdict(list)
    for membership in (
        Membership.objects.filter(
            section_id__in=ids,
            role__in=(Role.RADIOLOGIST, Role.TRAINEE),
            participating=True,
            started_on__lt=end,
        )
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .select_related("user")
        .only(
            "section_id",
            "user_id",
            "role",
            "started_on",
            "ended_on",
            "user__first_name",
            "user__last_name",
            "user__email",
            "user__is_active",
            "user__npi",
        )
    ):
        memberships[membership.section_id].append(membership)
    exemptions: dict[int, dict[int, list[TargetExemption]]] = defaultdict(lambda: defaultdict(list))
    for exemption in (
        TargetExemption.objects.filter(section_id__in=ids, starts_on__lt=end)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=start))
        .order_by("starts_on", "pk")
    ):
        exemptions[exemption.section_id][exemption.user_id].append(exemption)
    counts: dict[int, dict] = defaultdict(dict)
    for (section_id, user_id, month), figures in _submission_counts_many(
        policies_by_section, months
    ).items():
        counts[section_id][(user_id, month)] = figures
    attendance = _attendance_many(sections, months) if with_attendance else None

    ledgers = {}
    for section in sections:
        policies = policies_by_section[section.pk]
        section_attendance = attendance[section.pk] if attendance is not None else None
        people = _people(
            months,
            policies,
            memberships[section.pk],
            exemptions[section.pk],
            counts[section.pk],
            section_attendance,
        )
        ledgers[section.pk] = Ledger(
            section=section,
            months=months,
            policies=policies,
            people=people,
            attendance=section_attendance,
        )
    return ledgers


# The month dashboard ------------------------------------------------------------------------


@dataclass
class MonthRow:
    person: Person
    cell: Cell
    ytd_counted: int
    ytd_target: int
    ytd_attended: int | None
    ytd_attendance_target: int | None
    exemptions: list[TargetExemption]

    @property
    def user(self) -> User:
        return self.person.user

    @property
    def submissions_behind(self) -> bool:
        return self.cell.counted < self.cell.target

    @property
    def attendance_behind(self) -> bool:
        # Conferences are too few to judge a single month: the year so far decides.
        return self.ytd_attendance_target is not None and (
            (self.ytd_attended or 0) < self.ytd_attendance_target
        )

    @property
    def behind(self) -> bool:
        # A month without a target (all of it on leave) flags nobody.
        return not self.exempt and (self.submissions_behind or self.attendance_behind)

    @property
    def exempt(self) -> bool:
        return self.cell.target == 0

    @property
    def progress(self) -> float:
        """Share of the month's target done, for sorting (no target sorts as done)."""
        return self.cell.counted / self.cell.target if self.cell.target else 1.0

    @property
    def counted(self) -> int:
        return self.cell.counted

    @property
    def search(self) -> str:
        """First name, last name and e-mail, lower-case, a line each: what the name filter
        matches (a filter word never spans two lines)."""
        user = self.user
        return f"{user.first_name.lower()}\n{user.last_name.lower()}\n{user.email.lower()}"

    @property
    def exemption_labels(self) -> list[str]:
        labels = []
        for exemption in self.exemptions:
            if exemption.kind == TargetExemption.Kind.PART_TIME:
                labels.append(f"Part-time {exemption.fte:.2f} FTE")
            else:
                labels.append("Leave")
        return labels


@dataclass
class MonthLine:
    """A month row reduced to what filtering and sorting need, with the row's HTML rendered
    once: what the month page keeps in the cache (a `MonthRow` holds the whole year)."""

    user_id: int
    search: str
    behind: bool
    exempt: bool
    progress: float
    counted: int
    ytd_attended: int | None
    html: str

    @classmethod
    def of(cls, row: MonthRow, html: str) -> "MonthLine":
        return cls(
            user_id=row.user.pk,
            search=row.search,
            behind=row.behind,
            exempt=row.exempt,
            progress=row.progress,
            counted=row.counted,
            ytd_attended=row.ytd_attended,
            html=html,
        )


@dataclass
class MonthTotals:
    people: int = 0
    met: int = 0
    behind: int = 0
    exempt: int = 0
    counted: int = 0
    submitted: int = 0
    target: int = 0
    held: int | None = None
    held_ytd: int | None = None
    attended: int | None = None
    attendance_target: int | None = None

    @property
    def percent_of_target(self) -> int | None:
        return round(100 * self.counted / self.target) if self.target else None


@dataclass
class MonthReport:
    section: Section
    month: datetime.date
    policy: TargetPolicy
    rows: list[MonthRow]
    totals: MonthTotals
    attendance_known: bool


MONTH_SORTS = {
    "name": "Name",
    "progress": "Furthest behind first",
    "submissions": "Most submissions first",
    "attendance": "Least attendance first",
}
R = TypeVar("R")  # a month row: `MonthRow`, or the `MonthLine` the page caches
STATUS_FILTERS = {"": "Everyone", "behind": "Behind", "met": "On target", "exempt": "No target"}


def month_report(
    *,
    section: Section,
    month: datetime.date,
    status: str = "",
    query: str = "",
    sort: str = "name",
) -> MonthReport:
    """Each participating radiologist's month and year to date, filtered and sorted."""
    month = month_of(month)
    ledger = ledger_build(section=section, months=months_between(month.replace(month=1), month))
    rows = []
    for person in ledger.people:
        cell = person.cells.get(month)
        if cell is None:
            continue
        cells = list(person.cells.values())
        known = ledger.attendance is not None
        rows.append(
            MonthRow(
                person=person,
                cell=cell,
                ytd_counted=sum(c.counted for c in cells),
                ytd_target=round_target(sum((c.target_exact for c in cells), ZERO)),
                ytd_attended=sum(c.attended or 0 for c in cells) if known else None,
                ytd_attendance_target=round_target(
                    sum((c.attendance_target_exact or ZERO for c in cells), ZERO)
                )
                if known
                else None,
                exemptions=[e for e in person.exemptions if _exemption_in(e, month)],
            )
        )
    totals = _month_totals(rows, ledger, month)
    rows = filter_and_sort(rows, status=status, query=query, sort=sort)
    return MonthReport(
        section=section,
        month=month,
        policy=ledger.policy(month),
        rows=rows,
        totals=totals,
        attendance_known=ledger.attendance is not None,
    )


def _month_totals(rows: list[MonthRow], ledger: Ledger, month: datetime.date) -> MonthTotals:
    # `people` counts those with a target; a whole month of leave is counted apart.
    totals = MonthTotals()
    for row in rows:
        totals.counted += row.cell.counted
        totals.submitted += row.cell.submitted
        totals.target += row.cell.target
        if row.exempt:
            totals.exempt += 1
            continue
        totals.people += 1
        if row.cell.met:
            totals.met += 1
        if row.behind:
            totals.behind += 1
    if ledger.attendance is not None:
        totals.held = ledger.held(month)
        totals.held_ytd = sum(ledger.attendance.held.values())
        totals.attended = sum(row.cell.attended or 0 for row in rows)
        totals.attendance_target = sum(row.cell.attendance_target or 0 for row in rows)
    return totals


def filter_and_sort(rows: list[R], *, status: str, query: str, sort: str) -> list[R]:
    """The month's rows (`MonthRow` or `MonthLine`) the filters keep, in the order asked."""
    if status == "behind":
        rows = [r for r in rows if r.behind]
    elif status == "met":
        rows = [r for r in rows if not r.behind and not r.exempt]
    elif status == "exempt":
        rows = [r for r in rows if r.exempt]
    for word in query.lower().split()[:3]:
        rows = [r for r in rows if word in r.search]
    rows = list(rows)
    if sort == "progress":
        rows.sort(key=lambda r: (r.progress, r.counted))
    elif sort == "submissions":
        rows.sort(key=lambda r: -r.counted)
    elif sort == "attendance":
        rows.sort(key=lambda r: r.ytd_attended if r.ytd_attended is not None else 0)
    return rows


# The year grid --------------------------------------------------------------------------------


@dataclass
class YearRow:
    user: User
    cells: list[Cell | None]  # January to December; None: no target that month, or not yet
    counted: int
    target: int
    attended: int | None
    attendance_target: int | None

    @property
    def behind(self) -> bool:
        return self.counted < self.target or (
            self.attendance_target is not None and (self.attended or 0) < self.attendance_target
        )


@dataclass
class YearReport:
    section: Section
    year: int
    months: list[datetime.date]  # the twelve months
    through: datetime.date  # the last month with figures (this month, for the current year)
    rows: list[YearRow]
    month_counted: list[int | None]
    month_target: list[int | None]
    held: list[int | None]
    attendance_known: bool


def year_report(
    *, section: Section, year: int, today: datetime.date | None = None, query: str = ""
) -> YearReport:
    """Radiologists by months for one calendar year, through this month when it is this year."""
    today = today or timezone.localdate()
    twelve = [datetime.date(year, m, 1) for m in range(1, 13)]
    through = min(twelve[-1], month_of(today)) if year >= today.year else twelve[-1]
    months = [m for m in twelve if m <= through] or twelve[:1]
    ledger = ledger_build(section=section, months=months)
    known = ledger.attendance is not None
    rows = []
    for person in ledger.people:
        cells = list(person.cells.values())
        rows.append(
            YearRow(
                user=person.user,
                cells=[person.cells.get(m) if m <= through else None for m in twelve],
                counted=sum(c.counted for c in cells),
                target=round_target(sum((c.target_exact for c in cells), ZERO)),
                attended=sum(c.attended or 0 for c in cells) if known else None,
                attendance_target=round_target(
                    sum((c.attendance_target_exact or ZERO for c in cells), ZERO)
                )
                if known
                else None,
            )
        )
    for word in query.lower().split()[:3]:
        rows = [
            r
            for r in rows
            if word in f"{r.user.first_name} {r.user.last_name} {r.user.email}".lower()
        ]
    month_counted, month_target, held = [], [], []
    for m in twelve:
        if m > through or m not in months:
            month_counted.append(None)
            month_target.append(None)
            held.append(None)
            continue
        month_cells = [r.cells[m.month - 1] for r in rows if r.cells[m.month - 1] is not None]
        month_counted.append(sum(c.counted for c in month_cells))
        month_target.append(sum(c.target for c in month_cells))
        held.append(ledger.held(m))
    return YearReport(
        section=section,
        year=year,
        months=twelve,
        through=through,
        rows=rows,
        month_counted=month_counted,
        month_target=month_target,
        held=held,
        attendance_known=known,
    )


# One radiologist's month (the drill-down, and the reminder's "current submissions") ----------


@dataclass(frozen=True)
class SubmissionLine:
    created_at: datetime.datetime
    reason: str
    reason_label: str
    accession_number: str
    counts: bool
    not_counted_label: str
    original_reader_id: int | None


def month_submission_lines(
    *,
    section: Section,
    month: datetime.date,
    policy: TargetPolicy | None = None,
    user_ids: list[int] | None = None,
) -> dict[int, list[SubmissionLine]]:
    """{submitter id: their submissions to the section in the month}, in one query.

    What the reminder calls "current submissions": date, reason, accession number, and
    whether each counts toward the target (and why not).
    """
    month = month_of(month)
    policy = policy or target_policy_for(section=section, month=month)
    rows = Submission.objects.filter(
        section=section,
        created_at__gte=month_start_at(month),
        created_at__lt=month_start_at(next_month(month)),
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
        "original_reader_id",
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
                original_reader_id=s.original_reader_id,
            )
        )
    return found


def without_reader(lines: list[SubmissionLine], reader: User | None) -> list[SubmissionLine]:
    """Leave out submissions whose original reader is `reader`.

    A champion or assistant reading someone's list (or previewing their e-mail) must not
    learn who gave them feedback (DOMAIN.md principle 2).
    """
    if reader is None:
        return lines
    return [line for line in lines if line.original_reader_id != reader.pk]


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
    ledger = ledger_build(section=section, months=[month], with_attendance=True)
    person = next((p for p in ledger.people if p.user.pk == user_id), None)
    if person is None:
        raise Http404
    policy = ledger.policy(month)
    counts: dict[str, list[int]] = {value: [0, 0] for value in Reason.values}
    all_lines = month_submission_lines(
        section=section, month=month, policy=policy, user_ids=[user_id]
    ).get(user_id, [])
    for line in all_lines:
        counts[line.reason][0] += 1
        counts[line.reason][1] += int(line.counts)
    labels = dict(Reason.choices)
    by_reason = [(labels[value], n, c) for value, (n, c) in counts.items() if n]
    lines = None
    if sees_detail(roles_in_section(user=viewer, section=section)):
        lines = without_reader(all_lines, viewer)
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
                for p in ledger_build(section=section, months=[month], with_attendance=False).people
                if p.user.pk == user.pk
            ),
            None,
        )
        if person is not None and month in person.cells:
            total += person.cells[month].target
            found = True
    return total if found else None


# Writes: policies and exemptions -----------------------------------------------------------


@transaction.atomic
def target_policy_create(*, section: Section, actor: User, request=None, **values) -> TargetPolicy:
    """Start a new policy from a month on; the months before keep the policy they had."""
    effective_from = month_of(values.pop("effective_from"))
    policy, created = TargetPolicy.objects.get_or_create(
        section=section,
        effective_from=effective_from,
        defaults={"created_by": actor, **values},
    )
    if not created:
        # Correcting the policy that starts that month (e.g. a typo): the row is replaced.
        for name, value in values.items():
            setattr(policy, name, value)
        policy.created_by = actor
        policy.created_at = timezone.now()
    policy.full_clean()
    policy.save()
    audit_record(
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        actor=actor,
        obj=policy,
        request=request,
        detail={"section": section.pk, "from": month_key(effective_from)},
    )
    return policy


def target_policy_update_counted_reasons(
    *, section: Section, reasons: list[str], actor: User, month: datetime.date | None = None
) -> TargetPolicy:
    """Count other reasons from this month on, keeping the rest of the policy in force.

    For the submissions settings page, so the reasons a champion ticks there become the
    target policy's (the policy is the source of truth; see docs/targets.md).
    """
    month = month_of(month or timezone.localdate())
    current = target_policy_for(section=section, month=month)
    return target_policy_create(
        section=section,
        actor=actor,
        effective_from=month,
        submissions_per_month=current.submissions_per_month,
        attendance_rule=current.attendance_rule,
        attendance_percent=current.attendance_percent,
        attendance_per_year=current.attendance_per_year,
        counted_reasons=list(reasons),
        include_trainees=current.include_trainees,
        note="Counted reasons changed in the section's submission settings.",
    )


@transaction.atomic
def exemption_create(*, section: Section, actor: User, request=None, **values) -> TargetExemption:
    """Record leave or part-time work that reduces a radiologist's target."""
    user = values["user"]
    if not Membership.objects.filter(
        section=section, user=user, role__in=(Role.RADIOLOGIST, Role.TRAINEE)
    ).exists():
        raise ValidationError({"user": "This person is not a radiologist in the section."})
    exemption = TargetExemption(section=section, created_by=actor, **values)
    exemption.full_clean()
    exemption.save()
    # The reason may be personal: the trail keeps ids and dates, not the words.
    audit_record(
        action=AuditEvent.Action.CREATE,
        actor=actor,
        obj=exemption,
        request=request,
        detail={"section": section.pk, "user": user.pk, "kind": exemption.kind},
    )
    return exemption


@transaction.atomic
def exemption_delete(*, exemption: TargetExemption, actor: User, request=None) -> None:
    audit_record(
        action=AuditEvent.Action.DELETE,
        actor=actor,
        obj=exemption,
        request=request,
        detail={"section": exemption.section_id, "user": exemption.user_id},
    )
    exemption.delete()


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

"""Targets: who has one, how big it is in a month, and how far each person has got.

Every figure for any number of sections and a span of months comes from a fixed number of
queries whatever the number of sections, radiologists or months: the policies, the
memberships, the exemptions, one grouped aggregate of the submissions, and two of the
conference attendance (`conferences.selectors.attendance_for_targets`). Pro-rating and
sorting happen in Python over those few rows. See docs/targets.md.

Rules, in one place:

- The policy of a month is the section's row with the latest start on or before the
  month's first day; without any row, the defaults (2 a month, 50% of conferences, every
  reason counts, trainees excluded). The policy alone decides which reasons count: the
  monitoring pages, the radiologist's own progress, reminders and reports all read it here.
- A person has a target in a month when they hold a participating radiologist membership
  (or trainee, when the policy includes trainees) in the section during that month.
- The target is pro-rated by the share of the month's days they are in the program and
  not on leave, times their FTE on part-time days; rounded to the nearest whole number
  (halves up) for the month; year-to-date targets add the exact monthly shares and round once.
- A submission counts when it was made to the section in the month (site time zone),
  is not marked "not counted" by a champion, and its reason is one the policy counts.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from conferences.selectors import AttendanceForTargets, attendance_for_targets
from peerlearning.lib.figures import figures_cached, figures_changed
from peerlearning.lib.months import (
    as_month,
    days_in,
    month_key,
    month_of,
    month_start_at,
    next_month,
)
from peerlearning.models import Membership, Role, Section, User
from reporting.targets.models import TargetExemption, TargetPolicy
from submissions.models import Reason, Submission

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


# Policies -----------------------------------------------------------------------------------


def default_policy(*, section: Section) -> TargetPolicy:
    """The unsaved policy of a section that has never set one (every reason counts)."""
    return TargetPolicy(
        section=section, effective_from=datetime.date.min, counted_reasons=list(Reason.values)
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
class Ledger:
    section: Section
    months: list[datetime.date]
    policies: list[TargetPolicy]
    people: list[Person]
    attendance: AttendanceForTargets | None
    # {(submitter id, month): (submitted, counted)} for everyone who submitted to the section,
    # with or without a target there.
    counts: dict[tuple[int, datetime.date], tuple[int, int]] = field(default_factory=dict)

    def policy(self, month: datetime.date) -> TargetPolicy:
        return policy_for(self.policies, month)

    def held(self, month: datetime.date) -> int | None:
        return None if self.attendance is None else self.attendance.held.get(month, 0)


def exemption_in(exemption: TargetExemption, month: datetime.date) -> bool:
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
    relevant = [e for e in exemptions if exemption_in(e, month)]
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
        month = as_month(row["month"])
        found[(row["section_id"], row["submitter_id"], month)] = (
            row["submitted"],
            row.get("counted_n", 0),
        )
    return found


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
    attendance: AttendanceForTargets | None,
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


def ledgers_build(
    *, sections, months: list[datetime.date], with_attendance: bool = True
) -> dict[int, Ledger]:
    """Everyone with a target in each section in these months, with their figures:
    {section id: ledger}.

    A fixed number of queries (policies, memberships, exemptions, the submissions aggregate,
    and two for attendance) whatever the number of sections, months or radiologists. From the
    cache while nothing they count has changed (see `program_changed`).
    """
    sections = list(sections)
    if not sections:
        return {}
    return figures_cached(
        PROGRAM,
        "ledgers",
        ",".join(str(s.pk) for s in sections),
        ",".join(month_key(m) for m in months),
        int(with_attendance),
        compute=lambda: _ledgers_compute(sections, months, with_attendance),
        ttl=FIGURES_TTL,
    )


def _ledgers_compute(sections, months: list[datetime.date], with_attendance: bool):
    start, end = months[0], next_month(months[-1])
    ids = [s.pk for s in sections]
    saved: dict[int, list[TargetPolicy]] = defaultdict(list)
    for policy in TargetPolicy.objects.filter(section_id__in=ids).order_by("effective_from"):
        saved[policy.section_id].append(policy)
    policies_by_section = {
        section.pk: [default_policy(section=section), *saved[section.pk]] for section in sections
    }

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
    attendance = (
        attendance_for_targets(sections=sections, start=start, end=end - datetime.timedelta(days=1))
        if with_attendance
        else None
    )

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
            counts=counts[section.pk],
        )
    return ledgers

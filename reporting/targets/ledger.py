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
- Every figure is for a viewer: the submissions the viewer read are in none of them
  (`submissions.disclosure.countable_by`), or a reader watching a colleague's count would
  learn who sent the feedback. The ledgers are cached without a viewer and corrected per
  viewer by one query for what that viewer read (`_seen_by`).
"""

import dataclasses
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from peerlearning.lib.figures import figures_cached, figures_changed
from peerlearning.models import Membership, Role, Section, User
from reporting.months import as_month, days_in, month_key, month_of, month_start_at, next_month
from reporting.targets.models import TargetExemption, TargetPolicy
from submissions.disclosure import read_by
from submissions.models import Reason, SectionSubmissionSettings, Submission

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
    policies_by_section: dict[int, list[TargetPolicy]],
    months: list[datetime.date],
    only: Q | None = None,
) -> dict[tuple[int, int, datetime.date], tuple[int, int]]:
    """{(section id, submitter id, month): (submitted, counted)} in one grouped query;
    `only` narrows the submissions (those a viewer read)."""
    start, end = month_start_at(months[0]), month_start_at(next_month(months[-1]))
    rule = Q()
    for section_id, policies in policies_by_section.items():
        rule |= _count_rule(section_id, months, policies)
    aggregates = {"submitted": Count("pk")}
    if rule:
        aggregates["counted_n"] = Count("pk", filter=Q(counted=True) & rule)
    submissions = Submission.objects.filter(
        section_id__in=list(policies_by_section), created_at__gte=start, created_at__lt=end
    )
    if only is not None:
        submissions = submissions.filter(only)
    rows = (
        submissions.annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
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


def _read_by_viewer(
    policies_by_section: dict[int, list[TargetPolicy]],
    months: list[datetime.date],
    viewer: User | None,
) -> dict[int, dict[tuple[int, datetime.date], tuple[int, int]]]:
    """{section id: {(submitter id, month): (submitted, counted)}} of what the viewer read."""
    if viewer is None:
        return {}
    found: dict[int, dict] = defaultdict(dict)
    for (section_id, user_id, month), figures in _submission_counts_many(
        policies_by_section, months, only=read_by(viewer)
    ).items():
        found[section_id][(user_id, month)] = figures
    return found


def _seen_by(ledger: Ledger, read: dict[tuple[int, datetime.date], tuple[int, int]]) -> Ledger:
    """The ledger without the submissions the viewer read (a copy; the cached one stays)."""
    if not read:
        return ledger
    people = []
    for person in ledger.people:
        cells = {}
        for month, cell in person.cells.items():
            submitted, counted = read.get((person.user.pk, month), (0, 0))
            cells[month] = (
                dataclasses.replace(
                    cell, submitted=cell.submitted - submitted, counted=cell.counted - counted
                )
                if submitted
                else cell
            )
        people.append(dataclasses.replace(person, cells=cells))
    return dataclasses.replace(ledger, people=people)


def viewer_figures_key(*, sections, months: list[datetime.date], viewer: User | None) -> str:
    """A cache key part for figures built for `viewer`: "" when the viewer read none of
    the sections' submissions in these months (their figures are everyone's), otherwise
    one of their own. One query, whatever the number of sections."""
    if viewer is None:
        return ""
    read = Submission.objects.filter(
        read_by(viewer),
        section__in=list(sections),
        created_at__gte=month_start_at(months[0]),
        created_at__lt=month_start_at(next_month(months[-1])),
    ).exists()
    return f"reader-{viewer.pk}" if read else ""


def ledger_build(
    *,
    section: Section,
    months: list[datetime.date],
    viewer: User | None,
    with_attendance: bool = True,
) -> Ledger:
    """Everyone with a target in the section in these months, with their figures as
    `viewer` may see them (None: a radiologist's own e-mail, a job with no one watching).

    From the cache while nothing they count has changed (see `program_changed`).
    """
    ledger = _ledger_cached(section, months, with_attendance)
    read = _read_by_viewer({section.pk: ledger.policies}, months, viewer)
    return _seen_by(ledger, read.get(section.pk, {}))


def _ledger_cached(section: Section, months: list[datetime.date], with_attendance: bool) -> Ledger:
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
        found[row["section_id"]].held[as_month(row["month"])] = row["n"]
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
        attended.setdefault(as_month(row["month"]), {})[row["user_id"]] = row["n"]
    for figures in found.values():
        for month in months:
            figures.attended.setdefault(month, {})
    return found


def ledgers_build(
    *,
    sections,
    months: list[datetime.date],
    viewer: User | None,
    with_attendance: bool = True,
) -> dict[int, Ledger]:
    """`ledger_build` for several sections at once: {section id: ledger}, as `viewer` may
    see them.

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

    read = _read_by_viewer(policies_by_section, months, viewer)
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
        ledgers[section.pk] = _seen_by(
            Ledger(
                section=section,
                months=months,
                policies=policies,
                people=people,
                attendance=section_attendance,
            ),
            read.get(section.pk, {}),
        )
    return ledgers

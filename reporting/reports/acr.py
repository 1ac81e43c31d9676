"""The ACR Accreditation Pathway annual report: what the program did in a year, for one
section or the whole department.

`acr_report_build()` gathers everything into an `AcrReport` (a fixed number of queries,
whatever the number of sections or radiologists); `acr_report_pdf()`, `acr_report_xlsx()` and
`acr_report_csv_zip()` turn it into files.

**Participation only** (DOMAIN.md principle 1). Nothing here reads who the original reader of
a submission was: per-radiologist rows hold the submissions a person *made* and the
conferences they attended, against the targets; discrepancies appear only as program-wide
counts by reason and month. Tests plant a discrepancy with a distinctive reader's name and
check it appears nowhere in the rendered report.
"""

import calendar
import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from conferences.models import Attendance, Conference, ImprovementAction
from conferences.selectors import improvement_actions_for_report
from peerlearning.models import Membership, Role, Section, User
from reporting.months import month_start_at, months_between, next_month
from reporting.reports import charts
from reporting.targets.ledger import ZERO, Ledger, ledgers_build, policy_for, round_target
from submissions.models import DiscrepancyType, Reason, Submission

Progress = Callable[[int, str], None]


def _no_progress(percent: int, text: str) -> None:
    pass


# The data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyLine:
    section: str
    starts: datetime.date | None  # None: the defaults, in force since the program began
    submissions_per_month: int
    attendance: str
    counted_reasons: list[str]
    include_trainees: bool
    note: str


@dataclass(frozen=True)
class SectionPeople:
    section: str
    radiologists: int  # participating radiologists on the last day
    not_participating: int
    trainees: int
    champions: list[str]
    leaders: list[str]
    assistants: int
    quality: int
    joined: int  # participating radiologists who started during the period
    left: int  # and who left


@dataclass
class RadiologistRow:
    """One participating radiologist's year: submissions made and conferences attended."""

    user: User
    sections: list[str]
    submitted: int = 0  # every submission they made to these sections
    counted: int = 0  # of those, counted toward the target
    target: int = 0
    months_with_target: int = 0
    months_met: int = 0
    attended: int | None = None
    attendance_target: int | None = None
    held: int | None = None  # conferences held while they were in the program

    @property
    def has_target(self) -> bool:
        return self.target > 0

    @property
    def met_submissions(self) -> bool:
        return self.counted >= self.target

    @property
    def has_attendance_target(self) -> bool:
        return bool(self.attendance_target)

    @property
    def met_attendance(self) -> bool | None:
        if self.attended is None or self.attendance_target is None:
            return None
        return self.attended >= self.attendance_target

    @property
    def attendance_percent(self) -> int | None:
        if not self.held or self.attended is None:
            return None
        return round(100 * self.attended / self.held)


@dataclass(frozen=True)
class ConferenceRow:
    pk: int
    starts_at: datetime.datetime
    section: str
    title: str
    attendings: int  # attendings present
    credited: int  # attendings whose attendance earned credit
    trainees: int
    guests: int
    cme_hours: Decimal
    learning_points: str

    @property
    def present(self) -> int:
        return self.attendings + self.trainees + self.guests


@dataclass(frozen=True)
class ActionRow:
    section: str
    title: str
    category: str
    origin: str
    created_on: datetime.date
    due_on: datetime.date | None
    status: str
    is_open: bool
    escalated: bool
    outcome: str
    closed_on: datetime.date | None


@dataclass
class Share:
    met: int
    of: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.of) if self.of else None


@dataclass
class AcrReport:
    title: str
    scope: str  # "Neuroradiology" or "the whole department (8 sections)"
    department: bool
    sections: list[Section]
    start: datetime.date
    end: datetime.date
    through: datetime.date  # the last day with figures (today, for the current year)
    months: list[datetime.date]
    generated_at: datetime.datetime
    policies: list[PolicyLine]
    people: list[SectionPeople]
    radiologists: list[RadiologistRow]
    submissions_share: Share
    attendance_share: Share
    both_share: Share
    attendance_known: bool
    # Cases submitted to the program, every submitter: per month per reason, and in all.
    by_month: dict[str, list[int]]  # reason value -> counts per month
    by_reason: list[tuple[str, int]]
    by_discrepancy_type: list[tuple[str, int]]
    total_submissions: int
    conferences: list[ConferenceRow]
    cancelled_conferences: int
    actions: list[ActionRow]
    signatories: list[str]
    charts: dict[str, str] = field(default_factory=dict)

    @property
    def month_totals(self) -> list[int]:
        return [
            sum(counts[i] for counts in self.by_month.values()) for i in range(len(self.months))
        ]

    @property
    def month_rows(self) -> list[tuple[datetime.date, list[int], int]]:
        reasons = list(self.by_month)
        return [
            (month, [self.by_month[r][i] for r in reasons], self.month_totals[i])
            for i, month in enumerate(self.months)
        ]

    @property
    def reason_labels(self) -> list[str]:
        labels = dict(Reason.choices)
        return [labels[r] for r in self.by_month]

    @property
    def reason_totals(self) -> list[int]:
        return [sum(counts) for counts in self.by_month.values()]

    @property
    def conferences_held(self) -> int:
        return len(self.conferences)

    @property
    def attendance_total(self) -> int:
        return sum(c.present for c in self.conferences)

    @property
    def mean_attendance(self) -> float | None:
        if not self.conferences:
            return None
        return sum(c.attendings for c in self.conferences) / len(self.conferences)

    @property
    def actions_open(self) -> int:
        return sum(a.is_open for a in self.actions)

    @property
    def actions_done(self) -> int:
        return sum(a.status == ImprovementAction.Status.DONE.label for a in self.actions)

    @property
    def is_partial(self) -> bool:
        return self.through < self.end

    @property
    def period_label(self) -> str:
        if self.start == datetime.date(self.start.year, 1, 1) and self.end == datetime.date(
            self.start.year, 12, 31
        ):
            return str(self.start.year)
        return f"{self.start:%B %Y} to {self.end:%B %Y}"


def scope_label(sections, department: bool) -> str:
    """ "Neuroradiology", "Neuroradiology and Body imaging", "the whole department (8 sections)"."""
    names = [s.name for s in sections]
    if department:
        return f"the whole department ({len(names)} section{'s' if len(names) != 1 else ''})"
    if len(names) <= 3:
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    return f"{len(names)} sections"


def period_for_year(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def _month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _policies(ledgers: dict[int, Ledger], sections, months) -> list[PolicyLine]:
    """Each section's policy in force at the start, then each change during the period."""
    lines = []
    for section in sections:
        policies = ledgers[section.pk].policies
        first = policy_for(policies, months[0])
        changes = [p for p in policies if months[0] < p.effective_from <= months[-1]]
        for policy in [first, *changes]:
            lines.append(
                PolicyLine(
                    section=section.name,
                    starts=None if policy.pk is None else policy.effective_from,
                    submissions_per_month=policy.submissions_per_month,
                    attendance=policy.attendance_label,
                    counted_reasons=policy.counted_reason_labels,
                    include_trainees=policy.include_trainees,
                    note=policy.note,
                )
            )
    return lines


def _people(sections, start: datetime.date, end: datetime.date) -> list[SectionPeople]:
    """Who took part, per section: counts by role on the last day, names of the program's
    champions and leaders (they run it; nothing here says who read which study)."""
    rows = (
        Membership.objects.filter(section__in=sections, started_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .select_related("user")
        .only(
            "section_id",
            "role",
            "participating",
            "started_on",
            "ended_on",
            "user__first_name",
            "user__last_name",
            "user__email",
        )
        .order_by("user__last_name", "user__first_name")
    )
    found = {
        s.pk: {
            "radiologists": 0,
            "not_participating": 0,
            "trainees": 0,
            "champions": [],
            "leaders": [],
            "assistants": 0,
            "quality": 0,
            "joined": 0,
            "left": 0,
        }
        for s in sections
    }
    for m in rows:
        counts = found[m.section_id]
        on_last_day = m.started_on <= end and (m.ended_on is None or m.ended_on > end)
        if m.role == Role.RADIOLOGIST and m.participating:
            counts["joined"] += start < m.started_on <= end
            counts["left"] += m.ended_on is not None and start < m.ended_on <= end
        if not on_last_day:
            continue
        if m.role == Role.RADIOLOGIST:
            counts["radiologists" if m.participating else "not_participating"] += 1
        elif m.role == Role.TRAINEE:
            counts["trainees"] += 1
        elif m.role == Role.CHAMPION:
            counts["champions"].append(m.user.display_name)
        elif m.role == Role.LEADER:
            counts["leaders"].append(m.user.display_name)
        elif m.role == Role.ADMIN_ASSISTANT:
            counts["assistants"] += 1
        elif m.role == Role.QUALITY:
            counts["quality"] += 1
    return [SectionPeople(section=s.name, **found[s.pk]) for s in sections]


def radiologist_rows(ledgers: dict[int, Ledger], months) -> list[RadiologistRow]:
    """Everyone with a target in any of the sections, their sections added up."""
    rows: dict[int, RadiologistRow] = {}
    month_targets: dict[int, dict[datetime.date, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    known = all(ledger.attendance is not None for ledger in ledgers.values())
    for ledger in ledgers.values():
        for person in ledger.people:
            row = rows.get(person.user.pk)
            if row is None:
                row = rows[person.user.pk] = RadiologistRow(
                    user=person.user,
                    sections=[],
                    attended=0 if known else None,
                    attendance_target=0 if known else None,
                    held=0 if known else None,
                )
            cells = list(person.cells.values())
            row.sections.append(ledger.section.name)
            row.submitted += sum(c.submitted for c in cells)
            row.counted += sum(c.counted for c in cells)
            # Rounded per section over the year, as the section's own monitoring page does.
            row.target += round_target(sum((c.target_exact for c in cells), ZERO))
            if known:
                row.attended += sum(c.attended or 0 for c in cells)
                row.attendance_target += round_target(
                    sum((c.attendance_target_exact or ZERO for c in cells), ZERO)
                )
                row.held += sum(ledger.held(c.month) or 0 for c in cells if c.share > 0)
            for cell in cells:
                pair = month_targets[person.user.pk][cell.month]
                pair[0] += cell.counted
                pair[1] += cell.target
    for user_id, by_month in month_targets.items():
        row = rows[user_id]
        row.months_with_target = sum(1 for _, target in by_month.values() if target > 0)
        row.months_met = sum(
            1 for counted, target in by_month.values() if target > 0 and counted >= target
        )
    return sorted(
        rows.values(),
        key=lambda r: (r.user.last_name.lower(), r.user.first_name.lower(), r.user.pk),
    )


def cases_by_month(sections, months) -> tuple[dict[str, list[int]], list[tuple[str, int]]]:
    """Every submission made to the sections, per month and reason (one grouped query), and
    discrepancies by type. Counts for the program, never per person."""
    tz = timezone.get_current_timezone()
    index = {month: i for i, month in enumerate(months)}
    by_month = {reason: [0] * len(months) for reason in Reason.values}
    by_type: dict[str, int] = defaultdict(int)
    rows = (
        Submission.objects.filter(
            section__in=sections,
            created_at__gte=month_start_at(months[0]),
            created_at__lt=month_start_at(next_month(months[-1])),
        )
        .annotate(month=TruncMonth("created_at", tzinfo=tz))
        .values("month", "reason", "reason_detail")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        by_month[row["reason"]][index[month]] += row["n"]
        if row["reason"] == Reason.DISCREPANCY:
            by_type[row["reason_detail"] or "unspecified"] += row["n"]
    labels = {value: label.split(" (")[0] for value, label in DiscrepancyType.choices}
    labels["unspecified"] = "Not specified"
    types = [(labels[key], by_type[key]) for key in [*DiscrepancyType.values, "unspecified"]]
    return by_month, [(label, n) for label, n in types if n]


def conferences_in(sections, start, end) -> tuple[list[ConferenceRow], int]:
    """Conferences held in the period with who was there (one query), and how many were
    cancelled."""
    in_period = Conference.objects.filter(
        section__in=sections,
        starts_at__gte=month_start_at(start.replace(day=1)),
        starts_at__lt=month_start_at(next_month(end.replace(day=1))),
    )
    kinds = Attendance.Kind
    rows = (
        in_period.filter(status=Conference.Status.HELD)
        .annotate(
            attendings=Count("attendance", filter=Q(attendance__kind=kinds.ATTENDING)),
            credited_n=Count(
                "attendance",
                filter=Q(attendance__kind=kinds.ATTENDING, attendance__credited=True),
            ),
            trainees=Count("attendance", filter=Q(attendance__kind=kinds.TRAINEE)),
            guests=Count("attendance", filter=Q(attendance__kind=kinds.GUEST)),
        )
        .select_related("section")
        .order_by("starts_at", "pk")
    )
    held = [
        ConferenceRow(
            pk=c.pk,
            starts_at=timezone.localtime(c.starts_at),
            section=c.section.name,
            title=c.title,
            attendings=c.attendings,
            credited=c.credited_n,
            trainees=c.trainees,
            guests=c.guests,
            cme_hours=c.cme_hours,
            learning_points=c.learning_points.strip(),
        )
        for c in rows
    ]
    cancelled = in_period.filter(status=Conference.Status.CANCELLED).count()
    return held, cancelled


def _actions(sections, start, end) -> list[ActionRow]:
    rows = []
    for action in improvement_actions_for_report(sections=sections, start=start, end=end):
        if action.conference_id:
            origin = f"Conference {timezone.localtime(action.conference.starts_at):%Y-%m-%d}" + (
                f": {action.origin_text}" if action.origin_text else ""
            )
        else:
            origin = action.origin_text or "—"
        rows.append(
            ActionRow(
                section=action.section.name,
                title=action.title,
                category=action.get_category_display(),
                origin=origin,
                created_on=timezone.localtime(action.created_at).date(),
                due_on=action.due_on,
                status=action.get_status_display(),
                is_open=action.is_open,
                escalated=action.escalated,
                outcome=action.outcome.strip(),
                closed_on=action.closed_on,
            )
        )
    return rows


def acr_report_build(
    *,
    sections,
    start: datetime.date,
    end: datetime.date,
    department: bool = False,
    today: datetime.date | None = None,
    progress: Progress = _no_progress,
    viewer: User | None = None,
) -> AcrReport:
    """The annual report's figures for these sections, months `start` to `end` (whole months;
    a period that is not over yet runs through this month), as `viewer` (who asked for it)
    may see them: without the submissions the viewer read."""
    today = today or timezone.localdate()
    sections = sorted(sections, key=lambda s: s.name)
    if not sections:
        raise ValueError("A report needs at least one section.")
    start, end = start.replace(day=1), _month_end(end)
    through = min(end, today)
    months = months_between(start, through) or [start]
    progress(5, "Targets and participation")
    ledgers = ledgers_build(sections=sections, months=months, viewer=viewer)
    radiologists = radiologist_rows(ledgers, months)
    with_target = [r for r in radiologists if r.has_target]
    attendance_known = all(ledger.attendance is not None for ledger in ledgers.values())
    with_attendance_target = [r for r in radiologists if r.has_attendance_target]
    progress(20, "Cases, conferences and improvement actions")
    by_month, by_type = cases_by_month(sections, months)
    conferences, cancelled = conferences_in(sections, start, through)
    people = _people(sections, start, through)
    scope = scope_label(sections, department)
    labels = dict(Reason.choices)
    report = AcrReport(
        title="Peer learning program: ACR Accreditation Pathway annual report",
        scope=scope,
        department=department,
        sections=sections,
        start=start,
        end=end,
        through=through,
        months=months,
        generated_at=timezone.localtime(),
        policies=_policies(ledgers, sections, months),
        people=people,
        radiologists=radiologists,
        submissions_share=Share(sum(r.met_submissions for r in with_target), len(with_target)),
        attendance_share=Share(
            sum(bool(r.met_attendance) for r in with_attendance_target),
            len(with_attendance_target),
        ),
        both_share=Share(
            sum(
                r.met_submissions and (not r.has_attendance_target or bool(r.met_attendance))
                for r in with_target
            ),
            len(with_target),
        ),
        attendance_known=attendance_known,
        by_month=by_month,
        by_reason=[(labels[r], sum(counts)) for r, counts in by_month.items()],
        by_discrepancy_type=by_type,
        total_submissions=sum(sum(counts) for counts in by_month.values()),
        conferences=conferences,
        cancelled_conferences=cancelled,
        actions=_actions(sections, start, through),
        signatories=sorted({name for p in people for name in p.leaders}),
    )
    progress(30, "Charts")
    report.charts = acr_charts(report)
    return report


# Charts -------------------------------------------------------------------------------------


def acr_charts(report: AcrReport) -> dict[str, str]:
    month_labels = [f"{m:%b}" if len(report.months) <= 12 else f"{m:%b %y}" for m in report.months]
    found = {
        "per_month": charts.vertical_bar_chart(
            chart_id="chart-per-month",
            title=f"Cases submitted per month, {report.period_label}",
            categories=month_labels,
            series=[
                charts.Series(label, counts)
                for label, counts in zip(
                    report.reason_labels, report.by_month.values(), strict=True
                )
            ],
            y_label="Cases",
        ),
        "reasons": charts.horizontal_bar_chart(
            chart_id="chart-reasons",
            title=f"Cases by reason, {report.period_label}",
            bars=report.by_reason,
        ),
        "targets": charts.horizontal_bar_chart(
            chart_id="chart-targets",
            title="Share of radiologists meeting each target",
            bars=[
                ("Submissions", report.submissions_share.percent or 0),
                ("Conference attendance", report.attendance_share.percent or 0),
                ("Both", report.both_share.percent or 0),
            ],
            value_suffix="%",
        ),
    }
    # Attendance per conference: one chart per section, so bars stay readable.
    found["attendance"] = []
    for section in report.sections:
        rows = [c for c in report.conferences if c.section == section.name]
        if not rows:
            continue
        found["attendance"].append(
            (
                section.name,
                charts.vertical_bar_chart(
                    chart_id=f"chart-attendance-{section.pk}",
                    title=f"Attendance per conference, {section.name}",
                    categories=[f"{c.starts_at:%b %d}".replace(" 0", " ") for c in rows],
                    category_titles=[f"{c.starts_at:%Y-%m-%d} {c.title}" for c in rows],
                    series=[
                        charts.Series("Attendings", [c.attendings for c in rows]),
                        charts.Series("Trainees", [c.trainees for c in rows]),
                        charts.Series("Guests", [c.guests for c in rows]),
                    ],
                    y_label="People present",
                ),
            )
        )
    return found


def report_sections(*, section: Section | None) -> list[Section]:
    """One section, or every active section (the whole department)."""
    if section is not None:
        return [section]
    return list(Section.objects.filter(is_active=True).order_by("name"))

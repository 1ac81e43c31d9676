"""The department leader's home page: the program at a glance for this year.

Aggregates only (DOMAIN.md principle 1): cases per month by reason, people at each
conference, the share of radiologists meeting the targets, improvement actions still open.
A fixed number of queries whatever the number of sections or radiologists: the targets
ledger of every section at once (`ledgers_build`), one grouped query each for the cases and
the conferences, two for the actions.

The page shows `leader_dashboard_html`: the figures, rendered, are kept in the cache for
`FIGURES_TTL` seconds under the "program" figures version, which every saved change to
what they count bumps (reporting/targets/ledger.py `program_changed`). So a leader sees a saved
change on the next load, and one that bypasses saving (bulk imports) within FIGURES_TTL;
docs/reports.md states the rule.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from conferences.models import ImprovementAction
from peerlearning.lib.figures import figures_cached
from peerlearning.models import Section, User
from reporting.months import months_between
from reporting.reports import charts
from reporting.reports.acr import (
    ConferenceRow,
    RadiologistRow,
    Share,
    cases_by_month,
    conferences_in,
    radiologist_rows,
)
from reporting.targets.ledger import FIGURES_TTL, PROGRAM, ledgers_build, viewer_figures_key
from submissions.models import Reason

RECENT_CONFERENCES = 24
OPEN_ACTIONS_LISTED = 8


@dataclass
class SectionShare:
    section: Section
    submissions: Share
    attendance: Share


@dataclass
class LeaderDashboard:
    year: int
    sections: list[Section]
    through: datetime.date
    months: list[datetime.date]
    by_month: dict[str, list[int]]
    radiologists: list[RadiologistRow]
    submissions_share: Share
    attendance_share: Share
    by_section: list[SectionShare]
    cases: int
    cases_this_month: int
    conferences: list[ConferenceRow]
    open_actions: list[ImprovementAction]
    open_actions_count: int
    overdue_actions_count: int
    charts: dict[str, str] = field(default_factory=dict)

    @property
    def month_rows(self) -> list[tuple[datetime.date, list[int], int]]:
        columns = list(self.by_month.values())
        return [
            (month, [c[i] for c in columns], sum(c[i] for c in columns))
            for i, month in enumerate(self.months)
        ]

    @property
    def reason_labels(self) -> list[str]:
        labels = dict(Reason.choices)
        return [labels[r] for r in self.by_month]

    @property
    def mean_attendance(self) -> float | None:
        if not self.conferences:
            return None
        return sum(c.attendings for c in self.conferences) / len(self.conferences)


def _open_actions(sections) -> tuple[list[ImprovementAction], int, int]:
    open_ = ImprovementAction.objects.filter(
        section__in=sections,
        status__in=(ImprovementAction.Status.PROPOSED, ImprovementAction.Status.IN_PROGRESS),
    )
    listed = list(
        open_.select_related("section", "conference").order_by("due_on", "created_at")[
            :OPEN_ACTIONS_LISTED
        ]
    )
    counts = open_.aggregate(
        n=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=timezone.localdate()))
    )
    return listed, counts["n"], counts["overdue"]


def _attendance_series(rows: list[ConferenceRow], sections) -> list[charts.Series]:
    """One section: attendings, trainees and guests stacked. Several: one colour per section,
    so the bars of different sections on the same day tell themselves apart."""
    if len(sections) <= 1:
        return [
            charts.Series("Attendings", [c.attendings for c in rows]),
            charts.Series("Trainees", [c.trainees for c in rows]),
            charts.Series("Guests", [c.guests for c in rows]),
        ]
    names = [s.name for s in sections if any(c.section == s.name for c in rows)]
    return [
        charts.Series(name, [c.present if c.section == name else 0 for c in rows]) for name in names
    ]


def leader_dashboard(
    *,
    sections: QuerySet[Section] | list[Section],
    viewer: User | None,
    year: int | None = None,
    today=None,
) -> LeaderDashboard:
    today = today or timezone.localdate()
    year = year or today.year
    sections = sorted(sections, key=lambda s: s.name)
    start = datetime.date(year, 1, 1)
    through = min(datetime.date(year, 12, 31), today)
    months = months_between(start, through) or [start]
    ledgers = ledgers_build(sections=sections, months=months, viewer=viewer) if sections else {}
    radiologists = radiologist_rows(ledgers, months)
    with_target = [r for r in radiologists if r.has_target]
    with_attendance = [r for r in radiologists if r.has_attendance_target]
    by_section = []
    for section in sections:
        names = {section.name}
        rows = [r for r in with_target if names & set(r.sections)]
        # Per section, a radiologist in two sections is judged on their total; good enough
        # for a glance (the annual report has the exact rows).
        by_section.append(
            SectionShare(
                section=section,
                submissions=Share(sum(r.met_submissions for r in rows), len(rows)),
                attendance=Share(
                    sum(bool(r.met_attendance) for r in rows if r.has_attendance_target),
                    sum(1 for r in rows if r.has_attendance_target),
                ),
            )
        )
    by_month, _ = (
        cases_by_month(sections, months)
        if sections
        else ({r: [0] * len(months) for r in Reason.values}, [])
    )
    conferences, _ = conferences_in(sections, start, through) if sections else ([], 0)
    actions, open_count, overdue = _open_actions(sections) if sections else ([], 0, 0)
    dashboard = LeaderDashboard(
        year=year,
        sections=sections,
        through=through,
        months=months,
        by_month=by_month,
        radiologists=radiologists,
        submissions_share=Share(sum(r.met_submissions for r in with_target), len(with_target)),
        attendance_share=Share(
            sum(bool(r.met_attendance) for r in with_attendance), len(with_attendance)
        ),
        by_section=by_section,
        cases=sum(sum(v) for v in by_month.values()),
        cases_this_month=sum(v[-1] for v in by_month.values()) if by_month else 0,
        conferences=conferences,
        open_actions=actions,
        open_actions_count=open_count,
        overdue_actions_count=overdue,
    )
    labels = dict(Reason.choices)
    recent = conferences[-RECENT_CONFERENCES:]
    several = len(sections) > 1
    dashboard.charts = {
        "per_month": charts.vertical_bar_chart(
            chart_id="leader-per-month",
            title=f"Cases submitted per month, {year}",
            categories=[f"{m:%b}" for m in months],
            series=[charts.Series(labels[r], counts) for r, counts in by_month.items()],
            y_label="Cases",
            width=600,
            height=300,
        ),
        "attendance": charts.vertical_bar_chart(
            chart_id="leader-attendance",
            title=(
                f"People present at the last {len(recent)} conferences"
                if len(conferences) > len(recent)
                else f"People present at each conference, {year}"
            ),
            categories=[f"{c.starts_at:%b %d}".replace(" 0", " ") for c in recent],
            category_titles=[
                f"{c.starts_at:%Y-%m-%d} {c.title}" + (f" ({c.section})" if several else "")
                for c in recent
            ],
            series=_attendance_series(recent, sections),
            y_label="People present",
            width=600,
            height=300,
        ),
        "targets": charts.horizontal_bar_chart(
            chart_id="leader-targets",
            title=f"Radiologists meeting the submission target, {year} so far",
            bars=[
                (row.section.name, row.submissions.percent or 0)
                for row in by_section
                if row.submissions.of
            ],
            value_suffix="%",
            width=600,
        ),
    }
    return dashboard


def leader_dashboard_html(
    *,
    sections: QuerySet[Section] | list[Section],
    viewer: User | None,
    year: int,
    today: datetime.date,
    links: bool,
) -> str:
    """The dashboard's figures as HTML (`leader.html#figures`), from the cache while nothing
    they count has changed. `links`: to the leaders' other pages (site administrators get none).

    The HTML is kept rather than the `LeaderDashboard`: unpickling and rendering the figures
    took as long as the rest of a cached request.
    """
    sections = sorted(sections, key=lambda s: s.name)
    start = datetime.date(year, 1, 1)
    months = months_between(start, min(datetime.date(year, 12, 31), today)) or [start]
    # A leader who read some of these submissions gets figures without them, kept apart.
    viewer_key = viewer_figures_key(sections=sections, months=months, viewer=viewer)

    def render() -> str:
        dashboard = leader_dashboard(sections=sections, viewer=viewer, year=year, today=today)
        return render_to_string(
            "reporting/leader.html#figures", {"dashboard": dashboard, "is_leader": links}
        )

    html = figures_cached(
        PROGRAM,
        "leader",
        year,
        today.isoformat(),
        ",".join(str(s.pk) for s in sections),
        int(links),
        viewer_key,
        compute=render,
        ttl=FIGURES_TTL,
    )
    return mark_safe(html)  # our own template's output, escaped when rendered

"""The monitoring pages' figures: the month dashboard and the year grid, from the ledger."""

import datetime
from dataclasses import dataclass
from typing import TypeVar

from django.utils import timezone

from peerlearning.models import Section, User
from reporting.months import month_of, months_between
from reporting.targets.ledger import (
    ZERO,
    Cell,
    Ledger,
    Person,
    exemption_in,
    ledger_build,
    round_target,
)
from reporting.targets.models import TargetExemption, TargetPolicy

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
    viewer: User | None,
    status: str = "",
    query: str = "",
    sort: str = "name",
) -> MonthReport:
    """Each participating radiologist's month and year to date, filtered and sorted."""
    month = month_of(month)
    ledger = ledger_build(
        section=section, months=months_between(month.replace(month=1), month), viewer=viewer
    )
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
                exemptions=[e for e in person.exemptions if exemption_in(e, month)],
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
    *,
    section: Section,
    year: int,
    viewer: User | None,
    today: datetime.date | None = None,
    query: str = "",
) -> YearReport:
    """Radiologists by months for one calendar year, through this month when it is this year."""
    today = today or timezone.localdate()
    twelve = [datetime.date(year, m, 1) for m in range(1, 13)]
    through = min(twelve[-1], month_of(today)) if year >= today.year else twelve[-1]
    months = [m for m in twelve if m <= through] or twelve[:1]
    ledger = ledger_build(section=section, months=months, viewer=viewer)
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

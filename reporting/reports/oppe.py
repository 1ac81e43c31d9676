"""The OPPE report per radiologist, the article's table, and the ABR MOC Part 4 letter.

Quantitative (one row per ACGME competency, each rated against a threshold of `OppePolicy`):

| competency | metric | from |
| --- | --- | --- |
| patient care | report turnaround: median, 90th percentile, share in time | `tat_summary` |
| medical knowledge | state licence and board certification maintained | credentials |
| practice-based learning | PL conference participation (share of those held) | targets |
| interpersonal, communication | PL feedback: follow-up actions confirmed, how fast | actions |
| professionalism | PL targets met: submissions a month, months on target | targets |
| systems-based practice | local choice, not measured | |

Qualitative: the anonymous peer-evaluation summary (closed cycles with at least two answers,
the rule the radiologist's own page follows, because the PDF may be handed to them) and the
FPPE event counts of figure 3.

**No discrepancy counts.** The PL feedback metric is about the radiologist's own follow-through
on actions that feedback on their studies asked for (an addendum, a call): how many they
confirmed and how fast. It appears only in that radiologist's own OPPE report, never in a
list or an aggregate across people.

`oppe_reports_build()` computes every radiologist of a batch with a fixed number of queries;
`oppe_report_pdf()` renders one; `oppe_batch_zip()` writes the department's zip.
"""

import csv
import datetime
import io
import statistics
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from peerlearning.lib.pdf import html_to_pdf
from peerlearning.models import Membership, Role, Section, User
from reporting.models import EvaluationCycle, OppePolicy, OppeReferral
from reporting.months import month_of, months_between
from reporting.oppe.evaluations import (
    SUBJECT_MIN_EVALUATORS,
    EvaluationSummary,
    evaluation_summaries,
)
from reporting.oppe.sources import (
    CredentialStatus,
    FppeSummary,
    credentials_status,
    fppe_summaries,
)
from reporting.oppe.tat_summary import TatSummary, tat_summary
from reporting.targets.exports import _text
from reporting.targets.ledger import ZERO, ledgers_build
from submissions.models import RequiredAction

# Who an OPPE report is for: leaders (the default), or the radiologist themself.
LEADERS = "leader"
SELF = "self"
# The PL feedback competency is never shown to leaders over less than this.
FOLLOWUP_MIN_MONTHS = 6

ACCEPTABLE = "acceptable"
NEEDS_IMPROVEMENT = "needs_improvement"
NOT_APPLICABLE = "not_applicable"
RATING_LABELS = {
    ACCEPTABLE: "Acceptable",
    NEEDS_IMPROVEMENT: "Needs improvement",
    NOT_APPLICABLE: "Not applicable",
}

Progress = Callable[[int, str], None]


def _local_bounds(start: datetime.date, end: datetime.date):
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(start, datetime.time(), tzinfo=tz),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tzinfo=tz),
    )


# The figures ----------------------------------------------------------------------------------


@dataclass
class FollowUp:
    """Actions that feedback on the radiologist's own studies asked for, and what became of them."""

    asked: int = 0
    confirmed: int = 0  # marked done by the radiologist
    confirmed_on_time: int = 0  # by the action's due time
    done_by_others: int = 0  # done, but marked by a champion
    still_open: int = 0
    hours: list[float] = field(default_factory=list)  # feedback sent -> confirmed

    @property
    def confirmed_percent(self) -> int | None:
        return round(100 * self.confirmed / self.asked) if self.asked else None

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.hours) if self.hours else None


@dataclass
class Participation:
    sections: list[str] = field(default_factory=list)
    months_in_program: Decimal = ZERO  # months owed a target, pro-rated (leave, part-time)
    months_with_target: int = 0
    months_met: int = 0
    submitted: int = 0
    counted: int = 0
    attended: int = 0
    held: int = 0  # conferences held in their sections while they were in the program
    attendance_known: bool = True

    @property
    def per_month(self) -> float | None:
        if not self.months_in_program:
            return None
        return float(self.counted / self.months_in_program)

    @property
    def attendance_percent(self) -> int | None:
        if not self.attendance_known or not self.held:
            return None
        return round(100 * self.attended / self.held)


@dataclass(frozen=True)
class Metric:
    key: str
    competency: str
    name: str
    value: str
    threshold: str
    rating: str

    @property
    def rating_label(self) -> str:
        return RATING_LABELS[self.rating]


@dataclass
class OppeReport:
    radiologist: User
    start: datetime.date
    end: datetime.date
    policy: OppePolicy
    generated_at: datetime.datetime
    tat: TatSummary
    credentials: CredentialStatus
    participation: Participation
    followup: FollowUp
    fppe: FppeSummary
    evaluations: list[EvaluationSummary]
    referral: OppeReferral | None
    metrics: list[Metric] = field(default_factory=list)
    # "leader": the PL feedback competency is one word over a whole fixed period, with no
    # count of follow-ups (they rest on discrepancies the radiologist received);
    # "self": the radiologist's own report, with the details.
    audience: str = "leader"
    followup_period: tuple[datetime.date, datetime.date] | None = None

    @property
    def for_leaders(self) -> bool:
        return self.audience == LEADERS

    @property
    def needs_improvement(self) -> list[Metric]:
        return [m for m in self.metrics if m.rating == NEEDS_IMPROVEMENT]

    @property
    def needs_improvement_for_index(self) -> list[Metric]:
        """What a batch's index.csv lists: never the PL feedback competency, which would turn
        the index into a list of who received discrepancies."""
        return [m for m in self.needs_improvement if m.key != "followup"]

    @property
    def file_name(self) -> str:
        name = slugify(self.radiologist.display_name) or f"radiologist-{self.radiologist.pk}"
        return f"oppe-{name}-{self.start:%Y-%m}-{self.end:%Y-%m}.pdf"


def _hours_minutes(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    minutes = round(minutes)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _metrics(report: OppeReport) -> list[Metric]:
    policy, tat, part, follow = (
        report.policy,
        report.tat.overall,
        report.participation,
        report.followup,
    )
    metrics = []

    share = tat.share_within_threshold
    metrics.append(
        Metric(
            key="tat",
            competency="Patient care",
            name="Report turnaround time (from the RIS)",
            value=(
                f"{tat.count:,} reports; median {_hours_minutes(tat.median_minutes)}, 90th "
                f"percentile {_hours_minutes(tat.p90_minutes)}; {round(100 * share)}% within "
                f"{policy.tat_threshold_hours} h"
                if tat.count
                else "No reports in the period"
            ),
            threshold=f"≥ {policy.tat_within_threshold_percent}% within "
            f"{policy.tat_threshold_hours} h",
            rating=NOT_APPLICABLE
            if not tat.count
            else ACCEPTABLE
            if share * 100 >= policy.tat_within_threshold_percent
            else NEEDS_IMPROVEMENT,
        )
    )

    creds = report.credentials
    flags = [f for f in creds.credentials if f.flagged]
    if creds.licensure_maintained:
        value = "State licence and board certification current"
    elif not creds.credentials:
        value = "No licence or certification on record"
    else:
        value = "State licence or board certification not current"
    if flags:
        value += "; " + ", ".join(
            f"{f.credential.get_kind_display().lower()} {f.label.lower()}" for f in flags
        )
    metrics.append(
        Metric(
            key="licensure",
            competency="Medical knowledge",
            name="State licensure and board certification maintained",
            value=value,
            threshold=f"Both current (flagged {policy.credential_warning_days} days before expiry)",
            rating=ACCEPTABLE if creds.licensure_maintained else NEEDS_IMPROVEMENT,
        )
    )

    attendance = part.attendance_percent
    metrics.append(
        Metric(
            key="conferences",
            competency="Practice-based learning and improvement",
            name="PL conference participation",
            value=f"{part.attended} of {part.held} conferences attended ({attendance}%)"
            if attendance is not None
            else "No conference held while in the program",
            threshold=f"≥ {policy.attendance_percent}% of conferences held",
            rating=NOT_APPLICABLE
            if attendance is None
            else ACCEPTABLE
            if attendance >= policy.attendance_percent
            else NEEDS_IMPROVEMENT,
        )
    )

    if report.for_leaders:
        met = not follow.asked or follow.confirmed_percent >= policy.followup_confirmed_percent
        first, last = report.followup_period
        metrics.append(
            Metric(
                key="followup",
                competency="Interpersonal and communication skills",
                name="PL feedback: follow-up actions (addenda, calls) confirmed",
                # One word, the same whether nothing was asked or everything was done.
                value=f"{'Meets' if met else 'Does not meet'} ({first:%b %Y} – {last:%b %Y})",
                threshold=f"≥ {policy.followup_confirmed_percent}% confirmed, over the whole "
                "OPPE period",
                rating=ACCEPTABLE if met else NEEDS_IMPROVEMENT,
            )
        )
    elif follow.asked:
        median = follow.median_hours
        value = (
            f"{follow.confirmed} of {follow.asked} follow-up actions confirmed "
            f"({follow.confirmed_percent}%)"
            + (f", median {median:.0f} h after the feedback" if median is not None else "")
            + (f"; {follow.done_by_others} done by a champion" if follow.done_by_others else "")
            + (f"; {follow.still_open} still open" if follow.still_open else "")
        )
    if not report.for_leaders and not follow.asked:
        value = "Feedback on the radiologist's studies asked for no follow-up action"
    if not report.for_leaders:
        metrics.append(
            Metric(
                key="followup",
                competency="Interpersonal and communication skills",
                name="PL feedback: follow-up actions (addenda, calls) confirmed",
                value=value,
                threshold=f"≥ {policy.followup_confirmed_percent}% confirmed",
                rating=NOT_APPLICABLE
                if not follow.asked
                else ACCEPTABLE
                if follow.confirmed_percent >= policy.followup_confirmed_percent
                else NEEDS_IMPROVEMENT,
            )
        )

    per_month = part.per_month
    if per_month is None:
        value, rating = "No target in the period (not in the program, or on leave)", NOT_APPLICABLE
    else:
        value = (
            f"{part.counted} case submissions ({per_month:.1f} a month); "
            f"the section's monthly target met in {part.months_met} of "
            f"{part.months_with_target} months"
        )
        if attendance is not None:
            value += f"; attendance {attendance}%"
        ok = per_month >= float(policy.submissions_per_month) and (
            attendance is None or attendance >= policy.attendance_percent
        )
        rating = ACCEPTABLE if ok else NEEDS_IMPROVEMENT
    metrics.append(
        Metric(
            key="targets",
            competency="Professionalism",
            name="PL targets met",
            value=value,
            threshold=f"≥ {policy.submissions_per_month:g} submissions a month and "
            f"≥ {policy.attendance_percent}% attendance",
            rating=rating,
        )
    )
    metrics.append(
        Metric(
            key="systems",
            competency="Systems-based practice",
            name="Local choice",
            value="Not measured by the program",
            threshold="—",
            rating=NOT_APPLICABLE,
        )
    )
    return metrics


def followup_period(
    policy: OppePolicy, start: datetime.date, end: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The fixed period leaders see the PL feedback competency over: the whole OPPE
    periods that hold `start` and `end`, and never less than FOLLOWUP_MIN_MONTHS, so no
    choice of dates narrows it to one discrepancy."""
    first = policy.period_containing(start)[0]
    last = policy.period_containing(end)[1]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months < FOLLOWUP_MIN_MONTHS:
        shortfall = first.month - 1 + FOLLOWUP_MIN_MONTHS
        last = datetime.date(first.year + shortfall // 12, shortfall % 12 + 1, 1)
        last -= datetime.timedelta(days=1)
    return first, last


def _followups(ids: list[int], start, end) -> dict[int, FollowUp]:
    """Per radiologist, the actions feedback on their studies asked for (one query). An
    open action not yet due is not counted yet: it says nothing about follow-through."""
    first, after = _local_bounds(start, end)
    found = {pk: FollowUp() for pk in ids}
    rows = (
        RequiredAction.objects.filter(
            submission__original_reader_id__in=ids,
            submission__feedback_sent_at__lte=timezone.now(),
            submission__created_at__gte=first,
            submission__created_at__lt=after,
        )
        .exclude(done_at__isnull=True, due_at__gt=timezone.now())
        .values_list(
            "submission__original_reader_id",
            "submission__feedback_sent_at",
            "due_at",
            "done_at",
            "done_by_id",
        )
    )
    for reader_id, sent_at, due_at, done_at, done_by_id in rows:
        item = found[reader_id]
        item.asked += 1
        if done_at is None:
            item.still_open += 1
        elif done_by_id == reader_id:
            item.confirmed += 1
            item.confirmed_on_time += done_at <= due_at
            item.hours.append(max((done_at - sent_at).total_seconds(), 0) / 3600)
        else:
            item.done_by_others += 1
    return found


def _participation(
    people: list[User], start, end, today, viewer: User | None
) -> dict[int, Participation]:
    """Submissions and attendance against the sections' targets, added up over sections."""
    found = {p.pk: Participation() for p in people}
    months = months_between(month_of(start), min(end, today))
    if not months or not people:
        return found
    sections = Section.objects.filter(
        pk__in=Membership.objects.filter(
            user__in=people, role__in=(Role.RADIOLOGIST, Role.TRAINEE)
        ).values("section_id")
    ).order_by("name")
    ledgers = ledgers_build(sections=sections, months=months, viewer=viewer)
    by_month: dict[int, dict[datetime.date, list]] = defaultdict(
        lambda: defaultdict(lambda: [ZERO, 0, 0])
    )
    for ledger in ledgers.values():
        for person in ledger.people:
            item = found.get(person.user.pk)
            if item is None:
                continue
            item.sections.append(ledger.section.name)
            item.attendance_known &= ledger.attendance is not None
            for cell in person.cells.values():
                item.submitted += cell.submitted
                item.counted += cell.counted
                item.attended += cell.attended or 0
                if cell.share > 0:
                    item.held += ledger.held(cell.month) or 0
                slot = by_month[person.user.pk][cell.month]
                slot[0] = max(slot[0], cell.share)
                slot[1] += cell.counted
                slot[2] += cell.target
    for user_id, months_seen in by_month.items():
        item = found[user_id]
        item.months_in_program = sum((share for share, _, _ in months_seen.values()), ZERO)
        item.months_with_target = sum(1 for _, _, target in months_seen.values() if target > 0)
        item.months_met = sum(
            1 for _, counted, target in months_seen.values() if target > 0 and counted >= target
        )
    return found


def _evaluations(ids: list[int], start, end) -> dict[int, list[EvaluationSummary]]:
    """Closed cycles about the year up to the period's end, with enough answers to be shown
    to the radiologist (the PDF may be handed to them): the anonymous summaries."""
    found: dict[int, list[EvaluationSummary]] = defaultdict(list)
    cycles = EvaluationCycle.objects.filter(
        closed_at__isnull=False,
        period_start__lte=end,
        period_end__gte=end - datetime.timedelta(days=365),
        forms__subject_id__in=ids,
    ).distinct()
    for cycle in cycles.order_by("-period_end"):
        for subject_id, summary in evaluation_summaries(cycle=cycle, subjects=ids).items():
            if summary.evaluators >= SUBJECT_MIN_EVALUATORS:
                found[subject_id].append(summary)
    return found


def oppe_reports_build(
    *,
    radiologists: Iterable[User],
    start: datetime.date,
    end: datetime.date,
    today: datetime.date | None = None,
    policy: OppePolicy | None = None,
    viewer: User | None = None,
    audience: str = LEADERS,
) -> list[OppeReport]:
    """The OPPE report of each radiologist for one period, in a fixed number of queries, as
    `viewer` (who asked for it) may see it."""
    today = today or timezone.localdate()
    policy = policy or OppePolicy.load()
    people = list(radiologists)
    ids = [p.pk for p in people]
    if not ids:
        return []
    tat = tat_summary(
        radiologists=ids, start=start, end=end, threshold_hours=policy.tat_threshold_hours
    )
    # Credentials as they stand at the end of the period (or today, for a period not over).
    credentials = credentials_status(
        radiologists=ids, on=min(end, today), warning_days=policy.credential_warning_days
    )
    fppe = fppe_summaries(radiologists=ids, start=start, end=end)
    fixed = followup_period(policy, start, end) if audience == LEADERS else (start, end)
    followups = _followups(ids, *fixed)
    participation = _participation(people, start, end, today, viewer)
    evaluations = _evaluations(ids, start, end)
    referrals = {
        r.radiologist_id: r
        for r in OppeReferral.objects.filter(
            radiologist_id__in=ids, period_start=start, period_end=end
        ).select_related("referred_by")
    }
    generated_at = timezone.localtime()
    reports = []
    for person in people:
        report = OppeReport(
            radiologist=person,
            start=start,
            end=end,
            policy=policy,
            generated_at=generated_at,
            tat=tat[person.pk],
            credentials=credentials[person.pk],
            participation=participation[person.pk],
            followup=followups[person.pk],
            fppe=fppe[person.pk],
            evaluations=evaluations.get(person.pk, []),
            referral=referrals.get(person.pk),
            audience=audience,
            followup_period=fixed,
        )
        report.metrics = _metrics(report)
        reports.append(report)
    return reports


def oppe_report_build(
    *,
    radiologist: User,
    start,
    end,
    today=None,
    viewer: User | None = None,
    audience: str = LEADERS,
) -> OppeReport:
    return oppe_reports_build(
        radiologists=[radiologist],
        start=start,
        end=end,
        today=today,
        viewer=viewer,
        audience=audience,
    )[0]


def oppe_report_html(report: OppeReport) -> str:
    return render_to_string(
        "reporting/pdf/oppe.html", {"report": report, "site_name": settings.SITE_NAME}
    )


def oppe_report_pdf(report: OppeReport) -> bytes:
    return html_to_pdf(oppe_report_html(report))


def oppe_batch_radiologists(*, sections) -> list[User]:
    """Radiologists of these sections who were members at some time (a batch's people)."""
    return list(
        User.objects.filter(
            pk__in=Membership.objects.filter(section__in=sections, role=Role.RADIOLOGIST).values(
                "user_id"
            )
        ).order_by("last_name", "first_name", "pk")
    )


def oppe_batch_zip(
    *,
    radiologists: list[User],
    start: datetime.date,
    end: datetime.date,
    progress: Progress,
    chunk: int = 50,
    viewer: User | None = None,
) -> bytes:
    """One PDF per radiologist in a zip, with an index; built in chunks of radiologists so
    the figures of the whole department are never held at once."""
    buffer = io.BytesIO()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(["Radiologist", "NPI", "File", "Needs improvement"])
    total = len(radiologists) or 1
    done = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for offset in range(0, len(radiologists), chunk):
            group = radiologists[offset : offset + chunk]
            for report in oppe_reports_build(
                radiologists=group, start=start, end=end, viewer=viewer
            ):
                # The id keeps two colleagues with the same name apart.
                name = report.file_name.replace("oppe-", f"oppe-{report.radiologist.pk}-", 1)
                archive.writestr(name, oppe_report_pdf(report))
                writer.writerow(
                    [
                        _text(report.radiologist.display_name),
                        report.radiologist.npi,
                        name,
                        "; ".join(m.competency for m in report.needs_improvement_for_index),
                    ]
                )
                done += 1
                progress(5 + int(90 * done / total), f"{done} of {len(radiologists)} radiologists")
        archive.writestr("index.csv", index.getvalue().encode("utf-8-sig"))
    return buffer.getvalue()

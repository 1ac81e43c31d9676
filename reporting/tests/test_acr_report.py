"""The ACR annual report: its numbers against the database, counted here independently with
plain queries and loops (not the report's selectors); what it shows in the PDF, the workbook
and the CSV files; and that no page ever names the original reader of a discrepancy."""

import calendar
import csv
import datetime
import io
import zipfile
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conferences.models import Attendance, Conference, ImprovementAction
from peerlearning.models import Membership, Role, Section, User
from peerlearning.testing import UserFactory
from reporting.reports.acr import acr_report_build
from reporting.reports.acr_files import (
    acr_report_csv_zip,
    acr_report_html,
    acr_report_pdf,
    acr_report_xlsx,
)
from submissions.models import Reason, Submission
from submissions.tests.pdftext import pdf_text

pytestmark = pytest.mark.django_db

READER = ("Zebediah", "Quillfeather-Oduya")


def local_month(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date().replace(day=1)


def aware(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=timezone.get_current_timezone())


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected(sections: list[Section], year: int, today: datetime.date) -> dict:
    """The report's figures from the tables, with the program's default policy (2 a month,
    50% of conferences; the demo sets no other policy and no exemption)."""
    months = [datetime.date(year, m, 1) for m in range(1, 13) if datetime.date(year, m, 1) <= today]
    first, after = (
        aware(months[0]),
        aware((months[-1] + datetime.timedelta(days=32)).replace(day=1)),
    )
    ids = [s.pk for s in sections]

    submissions = list(
        Submission.objects.filter(
            section_id__in=ids, created_at__gte=first, created_at__lt=after
        ).values_list("submitter_id", "section_id", "reason", "created_at", "counted")
    )
    per_month = Counter(local_month(created) for *_, created, _ in submissions)
    per_reason = Counter(reason for _, _, reason, _, _ in submissions)
    made = Counter((who, section, local_month(c)) for who, section, _, c, _ in submissions)
    counted = Counter(
        (who, section, local_month(c)) for who, section, _, c, ok in submissions if ok
    )

    held = list(
        Conference.objects.filter(
            section_id__in=ids, status="held", starts_at__gte=first, starts_at__lt=after
        ).values_list("pk", "section_id", "starts_at")
    )
    held_per_month = Counter((section, local_month(start)) for _, section, start in held)
    section_of = {pk: (section, local_month(start)) for pk, section, start in held}
    rows = Attendance.objects.filter(conference_id__in=section_of).values_list(
        "conference_id", "kind", "credited", "user_id"
    )
    present = defaultdict(Counter)
    attended = Counter()
    for conference, kind, credited, user in rows:
        present[conference][kind] += 1
        if kind == "attending" and credited and user:
            attended[(user, *section_of[conference])] += 1

    people = defaultdict(
        lambda: {"made": 0, "counted": 0, "target": 0, "attended": 0, "attendance_target": 0}
    )
    spans = defaultdict(list)
    for m in Membership.objects.filter(
        section_id__in=ids, role=Role.RADIOLOGIST, participating=True
    ):
        spans[(m.user_id, m.section_id)].append((m.started_on, m.ended_on))
    for (user, section), periods in spans.items():
        target = attendance_target = Decimal(0)
        seen = False
        for month in months:
            days = calendar.monthrange(month.year, month.month)[1]
            inside = sum(
                1
                for d in range(days)
                if any(
                    s <= month + datetime.timedelta(days=d)
                    and (e is None or month + datetime.timedelta(days=d) < e)
                    for s, e in periods
                )
            )
            touches = any(
                s < (month + datetime.timedelta(days=days)) and (e is None or e > month)
                for s, e in periods
            )
            if not touches:
                continue
            seen = True
            share = Decimal(inside) / days
            target += 2 * share
            attendance_target += Decimal(held_per_month[(section, month)]) * Decimal("0.5") * share
            row = people[user]
            row["made"] += made[(user, section, month)]
            row["counted"] += counted[(user, section, month)]
            row["attended"] += attended[(user, section, month)]
        if seen:
            people[user]["target"] += half_up(target)
            people[user]["attendance_target"] += half_up(attendance_target)

    with_target = [p for p in people.values() if p["target"] > 0]
    with_attendance = [p for p in people.values() if p["attendance_target"] > 0]
    closed_before = Q(closed_on__lt=datetime.date(year, 1, 1))
    actions = ImprovementAction.objects.filter(section_id__in=ids, created_at__lt=after).exclude(
        closed_before
    )
    return {
        "months": months,
        "total": len(submissions),
        "per_month": [per_month[m] for m in months],
        "per_reason": {r: per_reason[r] for r in Reason.values},
        "conferences": len(held),
        "present": {pk: present[pk] for pk in section_of},
        "people": dict(people),
        "met_submissions": (
            sum(p["counted"] >= p["target"] for p in with_target),
            len(with_target),
        ),
        "met_attendance": (
            sum(p["attended"] >= p["attendance_target"] for p in with_attendance),
            len(with_attendance),
        ),
        "actions": actions.count(),
    }


@pytest.fixture
def year(demo):
    """This year, unless it is too young to have conferences yet (then last year's)."""
    return demo.today.year if demo.today.month > 2 else demo.today.year - 1


@pytest.mark.parametrize("scope", ["department", "one section"])
def test_the_report_equals_the_numbers_counted_from_the_database(demo, year, scope):
    sections = list(Section.objects.order_by("name"))
    if scope == "one section":
        sections = sections[:1]
    want = expected(sections, year, demo.today)

    report = acr_report_build(
        sections=sections,
        start=datetime.date(year, 1, 1),
        end=datetime.date(year, 12, 31),
        department=scope == "department",
        today=demo.today,
    )

    assert report.months == want["months"]
    assert report.total_submissions == want["total"] > 0
    assert report.month_totals == want["per_month"]
    assert dict(zip(Reason.values, report.reason_totals, strict=True)) == want["per_reason"]
    assert report.conferences_held == want["conferences"] > 0
    assert len(report.actions) == want["actions"] > 0
    rows = {r.user.pk: r for r in report.radiologists}
    assert set(rows) == set(want["people"])
    for user_id, figures in want["people"].items():
        row = rows[user_id]
        assert (row.submitted, row.counted, row.target) == (
            figures["made"],
            figures["counted"],
            figures["target"],
        ), row.user
        assert (row.attended, row.attendance_target) == (
            figures["attended"],
            figures["attendance_target"],
        ), row.user
    assert (report.submissions_share.met, report.submissions_share.of) == want["met_submissions"]
    assert (report.attendance_share.met, report.attendance_share.of) == want["met_attendance"]


def test_each_conference_row_counts_who_was_there(demo, year):
    sections = list(Section.objects.all())
    want = expected(sections, year, demo.today)

    report = acr_report_build(
        sections=sections, start=datetime.date(year, 1, 1), end=datetime.date(year, 12, 31)
    )

    assert {row.pk for row in report.conferences} == set(want["present"])
    for row in report.conferences:
        counts = want["present"][row.pk]
        assert (row.attendings, row.trainees, row.guests) == (
            counts["attending"],
            counts["trainee"],
            counts["guest"],
        )


def test_the_key_numbers_appear_in_the_rendered_report_and_its_pdf(demo, year):
    sections = list(Section.objects.all())
    want = expected(sections, year, demo.today)
    report = acr_report_build(
        sections=sections,
        start=datetime.date(year, 1, 1),
        end=datetime.date(year, 12, 31),
        department=True,
        today=demo.today,
    )

    html = acr_report_html(report)
    text = pdf_text(acr_report_pdf(report))

    met, of = want["met_submissions"]
    percent = f"{round(100 * met / of)}%"
    assert f'<td class="num" id="cases-total">{want["total"]}</td>' in html
    assert f'id="fig-cases">{want["total"]}<' in html
    assert f'id="fig-conferences">{want["conferences"]}<' in html
    assert f'id="fig-met-submissions">{percent}<' in html
    assert f'id="fig-radiologists">{of}<' in html
    for needle in (str(want["total"]), percent, f"({met} of {of})", "Attestation"):
        assert needle in text.replace("\u00a0", " "), needle
    some = next(r for r in report.radiologists if r.target)
    assert f"{some.counted} / {some.target}" in html
    assert some.user.display_name in text


def test_no_page_names_the_original_reader_of_a_discrepancy(demo, year):
    """A reader with a name found nowhere else, from outside the program, and a discrepancy
    on a study they read: the name must not appear in any form of the report."""
    reader = UserFactory(first_name=READER[0], last_name=READER[1])
    section = Section.objects.order_by("name").first()
    submitter = User.objects.filter(
        memberships__section=section, memberships__role=Role.RADIOLOGIST
    ).first()
    Submission.objects.create(
        section=section,
        submitter=submitter,
        accession_number="PLANTED0001",
        reason=Reason.DISCREPANCY,
        reason_detail="perceptual",
        description=f"Missed finding on a study read by {reader.display_name}",
        attested_at=timezone.now(),
        original_reader=reader,
        feedback_sent_at=timezone.now(),
        created_at=aware(demo.today.replace(day=1)) + datetime.timedelta(hours=10),
    )
    for sections in ([section], list(Section.objects.all())):
        report = acr_report_build(
            sections=sections,
            start=datetime.date(year, 1, 1),
            end=datetime.date(year, 12, 31),
            today=demo.today,
        )
        html = acr_report_html(report)
        text = pdf_text(acr_report_pdf(report))
        sheets = openpyxl.load_workbook(io.BytesIO(acr_report_xlsx(report)))
        cells = " ".join(
            str(v) for ws in sheets for row in ws.iter_rows(values_only=True) for v in row if v
        )
        with zipfile.ZipFile(io.BytesIO(acr_report_csv_zip(report))) as archive:
            csvs = " ".join(archive.read(n).decode("utf-8-sig") for n in archive.namelist())
        for found in (html, text, cells, csvs):
            for word in (*READER, reader.email, "PLANTED0001", "Missed finding"):
                assert word not in found


def test_a_participating_readers_row_holds_only_what_they_submitted_and_attended(demo, year):
    section = Section.objects.order_by("name").first()
    reader, submitter = User.objects.filter(
        memberships__section=section,
        memberships__role=Role.RADIOLOGIST,
        memberships__participating=True,
        memberships__ended_on__isnull=True,
    ).order_by("pk")[:2]

    def row():
        report = acr_report_build(
            sections=[section],
            start=datetime.date(year, 1, 1),
            end=datetime.date(year, 12, 31),
            today=demo.today,
        )
        found = next(r for r in report.radiologists if r.user.pk == reader.pk)
        return (found.submitted, found.counted, found.target, found.attended, found.months_met)

    before = row()
    for n in range(3):
        Submission.objects.create(
            section=section,
            submitter=submitter,
            accession_number=f"PLANTED{n:04d}",
            reason=Reason.DISCREPANCY,
            description="Synthetic discrepancy.",
            attested_at=timezone.now(),
            original_reader=reader,
            created_at=aware(demo.today.replace(day=1)) + datetime.timedelta(hours=n),
        )
    assert row() == before


def test_the_workbook_has_one_sheet_per_table_with_the_same_numbers(demo, year):
    report = acr_report_build(
        sections=list(Section.objects.all()),
        start=datetime.date(year, 1, 1),
        end=datetime.date(year, 12, 31),
        today=demo.today,
    )

    book = openpyxl.load_workbook(io.BytesIO(acr_report_xlsx(report)))
    with zipfile.ZipFile(io.BytesIO(acr_report_csv_zip(report))) as archive:
        names = archive.namelist()
        radiologists = list(
            csv.DictReader(io.StringIO(archive.read("04-radiologists.csv").decode("utf-8-sig")))
        )

    assert book.sheetnames == [
        "Summary",
        "Policy and targets",
        "Participants",
        "Radiologists",
        "Cases by month",
        "Cases by reason",
        "Conferences",
        "Improvement actions",
    ]
    assert len(names) == 8
    months = list(book["Cases by month"].iter_rows(values_only=True))
    assert months[-1][-1] == report.total_submissions
    assert len(list(book["Conferences"].iter_rows())) == report.conferences_held + 1
    assert len(radiologists) == len(report.radiologists)
    first = report.radiologists[0]
    assert radiologists[0]["Submissions made"] == str(first.submitted)
    assert radiologists[0]["Submission target"] == str(first.target)


def test_a_period_of_months_and_a_year_not_over_run_through_today(demo):
    today = demo.today
    report = acr_report_build(
        sections=list(Section.objects.all()),
        start=datetime.date(today.year, 1, 1),
        end=datetime.date(today.year, 12, 31),
        today=today,
    )

    assert report.through == today
    assert report.is_partial == (today < datetime.date(today.year, 12, 31))
    assert report.months[-1] == today.replace(day=1)
    last_year = today.year - 1
    spring = acr_report_build(
        sections=list(Section.objects.all()),
        start=datetime.date(last_year, 3, 1),
        end=datetime.date(last_year, 5, 20),
        today=today,
    )
    assert spring.end == datetime.date(last_year, 5, 31)  # whole months
    assert len(spring.months) == 3
    assert spring.period_label == f"March {last_year} to May {last_year}"


def test_the_department_report_takes_no_more_queries_than_one_section(demo, year):
    def queries(sections) -> int:
        with CaptureQueriesContext(connection) as captured:
            acr_report_build(
                sections=sections,
                start=datetime.date(year, 1, 1),
                end=datetime.date(year, 12, 31),
                today=demo.today,
            )
        return len(captured)

    assert queries(list(Section.objects.all())) == queries([Section.objects.first()]) <= 15


def test_the_command_writes_each_format_and_refuses_an_unknown_section(demo, year, tmp_path):
    from django.core.management import CommandError, call_command

    from peerlearning.models import AuditEvent

    out = io.StringIO()
    call_command(
        "acr_annual_report", year=year, format="xlsx", output=str(tmp_path / "r.xlsx"), stdout=out
    )
    assert "the whole department (2 sections)" in out.getvalue()
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert "Radiologists" in book.sheetnames
    slug = Section.objects.order_by("name").first().slug
    call_command(
        "acr_annual_report",
        year=year,
        section=slug,
        output=str(tmp_path / "r.pdf"),
        stdout=io.StringIO(),
    )
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 2
    with pytest.raises(CommandError, match="No section with the slug 'nope'"):
        call_command("acr_annual_report", year=year, section="nope", output=str(tmp_path / "x"))

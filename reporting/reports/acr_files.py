"""The ACR annual report as files: the PDF, the workbook and the CSV archive, and their names."""

import io
import zipfile

import tablib
from django.conf import settings
from django.template.loader import render_to_string

from peerlearning.lib.pdf import html_to_pdf
from peerlearning.lib.spreadsheets import spreadsheet_dataset
from reporting.reports.acr import AcrReport
from submissions.models import Reason

# Files --------------------------------------------------------------------------------------


def acr_report_html(report: AcrReport) -> str:
    return render_to_string(
        "reporting/pdf/acr_annual.html",
        {"report": report, "site_name": settings.SITE_NAME, "Reason": Reason},
    )


def acr_report_pdf(report: AcrReport) -> bytes:
    return html_to_pdf(acr_report_html(report))


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def acr_tables(report: AcrReport) -> list[tablib.Dataset]:
    """The report's tables as datasets: an XLSX sheet or a CSV file each."""
    summary = tablib.Dataset(title="Summary", headers=["Figure", "Value"])
    for label, value in [
        ("Report", report.title),
        ("Scope", report.scope),
        ("Sections", ", ".join(s.name for s in report.sections)),
        ("Period", f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}"),
        ("Figures through", f"{report.through:%Y-%m-%d}"),
        ("Radiologists with a target", report.submissions_share.of),
        ("Met the submission target", report.submissions_share.met),
        ("Met the submission target (%)", report.submissions_share.percent or ""),
        ("Met the attendance target", report.attendance_share.met),
        ("Met the attendance target (%)", report.attendance_share.percent or ""),
        ("Met both targets", report.both_share.met),
        ("Cases submitted", report.total_submissions),
        ("Conferences held", report.conferences_held),
        ("Conferences cancelled", report.cancelled_conferences),
        ("Improvement actions", len(report.actions)),
        ("Improvement actions done", report.actions_done),
        ("Improvement actions open", report.actions_open),
        ("Generated", f"{report.generated_at:%Y-%m-%d %H:%M}"),
    ]:
        summary.append([label, value])

    policy = tablib.Dataset(
        title="Policy and targets",
        headers=[
            "Section",
            "From",
            "Submissions per radiologist per month",
            "Attendance",
            "Reasons that count",
            "Trainees have targets",
            "Note",
        ],
    )
    for line in report.policies:
        policy.append(
            [
                line.section,
                f"{line.starts:%Y-%m}" if line.starts else "program start (defaults)",
                line.submissions_per_month,
                line.attendance,
                "; ".join(line.counted_reasons),
                _yes_no(line.include_trainees),
                line.note,
            ]
        )

    people = tablib.Dataset(
        title="Participants",
        headers=[
            "Section",
            "Participating radiologists",
            "Radiologists not participating",
            "Trainees",
            "Champions",
            "Leaders",
            "Admin assistants",
            "Quality team",
            "Radiologists who joined",
            "Radiologists who left",
        ],
    )
    for p in report.people:
        people.append(
            [
                p.section,
                p.radiologists,
                p.not_participating,
                p.trainees,
                "; ".join(p.champions),
                "; ".join(p.leaders),
                p.assistants,
                p.quality,
                p.joined,
                p.left,
            ]
        )

    radiologists = tablib.Dataset(
        title="Radiologists",
        headers=[
            "Radiologist",
            "Sections",
            "Submissions made",
            "Submissions counted",
            "Submission target",
            "Met the submission target",
            "Months with a target",
            "Months meeting the target",
            "Conferences attended",
            "Attendance target",
            "Conferences held while in the program",
            "Met the attendance target",
        ],
    )
    for r in report.radiologists:
        radiologists.append(
            [
                r.user.display_name,
                "; ".join(r.sections),
                r.submitted,
                r.counted,
                r.target,
                _yes_no(r.met_submissions) if r.has_target else "no target",
                r.months_with_target,
                r.months_met,
                "" if r.attended is None else r.attended,
                "" if r.attendance_target is None else r.attendance_target,
                "" if r.held is None else r.held,
                _yes_no(r.met_attendance) if r.has_attendance_target else "no target",
            ]
        )

    per_month = tablib.Dataset(
        title="Cases by month", headers=["Month", *report.reason_labels, "All cases"]
    )
    for month, counts, total in report.month_rows:
        per_month.append([f"{month:%Y-%m}", *counts, total])
    per_month.append(["Total", *report.reason_totals, report.total_submissions])

    reasons = tablib.Dataset(title="Cases by reason", headers=["Reason", "Cases"])
    for label, n in report.by_reason:
        reasons.append([label, n])
    for label, n in report.by_discrepancy_type:
        reasons.append([f"Discrepancy: {label.lower()}", n])

    conferences = tablib.Dataset(
        title="Conferences",
        headers=[
            "Date",
            "Section",
            "Conference",
            "Attendings present",
            "Attendings credited",
            "Trainees",
            "Guests",
            "CME hours",
        ],
    )
    for c in report.conferences:
        conferences.append(
            [
                f"{c.starts_at:%Y-%m-%d %H:%M}",
                c.section,
                c.title,
                c.attendings,
                c.credited,
                c.trainees,
                c.guests,
                float(c.cme_hours),
            ]
        )

    actions = tablib.Dataset(
        title="Improvement actions",
        headers=[
            "Section",
            "Action",
            "Category",
            "Origin",
            "Created",
            "Due",
            "Status",
            "Escalated to quality",
            "Closed",
            "Outcome",
        ],
    )
    for a in report.actions:
        actions.append(
            [
                a.section,
                a.title,
                a.category,
                a.origin,
                f"{a.created_on:%Y-%m-%d}",
                f"{a.due_on:%Y-%m-%d}" if a.due_on else "",
                a.status,
                _yes_no(a.escalated),
                f"{a.closed_on:%Y-%m-%d}" if a.closed_on else "",
                a.outcome,
            ]
        )
    return [summary, policy, people, radiologists, per_month, reasons, conferences, actions]


def _safe_tables(report: AcrReport) -> list[tablib.Dataset]:
    # Typed text (a policy note, titles, names) as text, never as a formula: one helper for
    # every spreadsheet the product writes (peerlearning/lib/spreadsheets.py).
    return [spreadsheet_dataset(table) for table in acr_tables(report)]


def acr_report_xlsx(report: AcrReport) -> bytes:
    """One workbook, one sheet per table."""
    return tablib.Databook(_safe_tables(report)).export("xlsx")


def acr_report_csv_zip(report: AcrReport) -> bytes:
    """A zip holding one CSV per table (UTF-8 with a byte-order mark, which Excel reads)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, table in enumerate(_safe_tables(report), start=1):
            name = f"{number:02d}-{table.title.lower().replace(' ', '-')}.csv"
            archive.writestr(name, table.export("csv").encode("utf-8-sig"))
    return buffer.getvalue()


def acr_file_name(report: AcrReport, fmt: str) -> str:
    if report.department:
        scope = "department"
    elif len(report.sections) == 1:
        scope = report.sections[0].slug
    else:
        scope = f"{len(report.sections)}-sections"
    period = (
        str(report.start.year)
        if report.period_label == str(report.start.year)
        else f"{report.start:%Y-%m}-{report.end:%Y-%m}"
    )
    extension = {"pdf": "pdf", "xlsx": "xlsx", "csv": "csv.zip"}[fmt]
    return f"acr-annual-report-{scope}-{period}.{extension}"


def acr_report_bytes(report: AcrReport, fmt: str) -> bytes:
    if fmt == "pdf":
        return acr_report_pdf(report)
    if fmt == "xlsx":
        return acr_report_xlsx(report)
    if fmt == "csv":
        return acr_report_csv_zip(report)
    raise ValueError(f"Unknown format {fmt!r}")

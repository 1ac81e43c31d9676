"""The monitoring dashboard as CSV and XLSX: participation numbers only.

No accession numbers, reasons or readers: an export leaves the product, and leaders may
take one. Every export is audited by the view that serves it.
"""

import tablib

from peerlearning.lib.spreadsheets import spreadsheet_dataset
from reporting.targets.monitoring import MonthReport, YearReport

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


def _blank(value):
    return "" if value is None else value


def month_dataset(report: MonthReport) -> tablib.Dataset:
    data = tablib.Dataset(
        title=f"{report.month:%Y-%m}",
        headers=[
            "Name",
            "E-mail",
            "Submissions counted",
            "Submissions target",
            "Still needed",
            "Submissions made (all)",
            "Conferences attended",
            "Attendance target",
            "Year to date: submissions",
            "Year to date: target",
            "Year to date: conferences attended",
            "Year to date: attendance target",
            "Status",
            "Target reduced for",
        ],
    )
    for row in report.rows:
        status = "No target" if row.exempt else ("Behind" if row.behind else "On target")
        data.append(
            [
                row.user.display_name,
                row.user.email,
                row.cell.counted,
                row.cell.target,
                row.cell.still_needed,
                row.cell.submitted,
                _blank(row.cell.attended),
                _blank(row.cell.attendance_target),
                row.ytd_counted,
                row.ytd_target,
                _blank(row.ytd_attended),
                _blank(row.ytd_attendance_target),
                status,
                "; ".join(row.exemption_labels),
            ]
        )
    totals = report.totals
    data.append(
        [
            "Section total",
            f"{totals.people} radiologists, {totals.met} met, {totals.behind} behind",
            totals.counted,
            totals.target,
            "",
            totals.submitted,
            _blank(totals.attended),
            _blank(totals.attendance_target),
            "",
            "",
            "",
            "",
            "",
            "",
        ]
    )
    return data


def year_dataset(report: YearReport) -> tablib.Dataset:
    month_names = [f"{m:%b}" for m in report.months]
    headers = ["Name", "E-mail"]
    for name in month_names:
        headers += [f"{name} counted", f"{name} target"]
    headers += [
        "Year: submissions",
        "Year: target",
        "Year: conferences attended",
        "Year: attendance target",
    ]
    data = tablib.Dataset(title=str(report.year), headers=headers)
    for row in report.rows:
        line = [row.user.display_name, row.user.email]
        for cell in row.cells:
            line += ["", ""] if cell is None else [cell.counted, cell.target]
        line += [row.counted, row.target, _blank(row.attended), _blank(row.attendance_target)]
        data.append(line)
    total = ["Section total", ""]
    for counted, target in zip(report.month_counted, report.month_target, strict=True):
        total += [_blank(counted), _blank(target)]
    total += [sum(r.counted for r in report.rows), sum(r.target for r in report.rows), "", ""]
    data.append(total)
    return data


def export_bytes(data: tablib.Dataset, fmt: str) -> bytes:
    # Every cell as text or a number, never a formula (peerlearning/lib/spreadsheets.py).
    content = spreadsheet_dataset(data).export(fmt)
    return content.encode("utf-8-sig") if isinstance(content, str) else content

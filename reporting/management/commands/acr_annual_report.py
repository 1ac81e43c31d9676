"""Write the ACR Accreditation Pathway annual report to a file, without the web pages.

    python manage.py acr_annual_report --year 2026 --output acr-2026.pdf
    python manage.py acr_annual_report --year 2026 --section neuroradiology --output neuro.pdf
    python manage.py acr_annual_report --year 2026 --format xlsx --output acr-2026.xlsx
    python manage.py acr_annual_report --year 2026 --format csv --output acr-2026.csv.zip

Without --section the report covers the whole department (every active section). CSV is a
zip holding one file per table; XLSX is one workbook with a sheet per table. The export is
recorded in the audit trail (no actor: the command runs as the operator).
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Section
from reporting.reports.acr import acr_report_build, period_for_year, report_sections
from reporting.reports.acr_files import acr_report_bytes


class Command(BaseCommand):
    help = "Write the ACR annual report of the department or one section (PDF, XLSX or CSV)."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="The calendar year, e.g. 2026.")
        parser.add_argument("--section", help="A section slug; default: the whole department.")
        parser.add_argument("--output", required=True, help="The file to write.")
        parser.add_argument(
            "--format",
            choices=("pdf", "xlsx", "csv"),
            default="pdf",
            help="pdf (default), xlsx (a sheet per table) or csv (a zip, a file per table).",
        )

    def handle(self, *args, year, section=None, output, format="pdf", **options):
        today = timezone.localdate()
        if not 2000 <= year <= today.year:
            raise CommandError(f"--year must be between 2000 and {today.year}.")
        chosen = None
        if section:
            chosen = Section.objects.filter(slug=section).first()
            if chosen is None:
                slugs = ", ".join(Section.objects.order_by("slug").values_list("slug", flat=True))
                raise CommandError(f"No section with the slug {section!r}. Known: {slugs}.")
        sections = report_sections(section=chosen)
        if not sections:
            raise CommandError("There is no active section to report on.")
        target = Path(output)
        if not target.parent.exists():
            raise CommandError(f"The folder {target.parent} does not exist.")
        began = time.perf_counter()
        start, end = period_for_year(year)
        report = acr_report_build(
            sections=sections, start=start, end=end, department=chosen is None, today=today
        )
        content = acr_report_bytes(report, format)
        target.write_bytes(content)
        audit_record(
            action=AuditEvent.Action.EXPORT,
            object_type="reporting.acr_annual_report",
            detail={
                "year": year,
                "sections": [s.pk for s in sections],
                "format": format,
                "origin": "command",
            },
        )
        self.stdout.write(
            f"Wrote {target} ({len(content):,} bytes, {format}) in "
            f"{time.perf_counter() - began:.1f} s: {report.scope}, {report.period_label}; "
            f"{report.submissions_share.of} radiologists with a target, "
            f"{report.total_submissions} cases, {report.conferences_held} conferences, "
            f"{len(report.actions)} improvement actions."
        )

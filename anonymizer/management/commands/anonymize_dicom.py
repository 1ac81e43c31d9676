"""De-identify a directory of DICOM files (PS3.15 Basic profile) and verify the result."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from anonymizer.engine.pipeline import anonymize_directory
from anonymizer.engine.profile import DEFAULT_PATIENT_CHARACTERISTICS, Options
from anonymizer.services import anonymizer_secret


class Command(BaseCommand):
    help = (
        "De-identify every DICOM file under SRC_DIR into DST_DIR, verify each output "
        "independently and write a JSON report. Exits 1 when any file was refused (the verifier "
        "found something, or it could not be de-identified), 2 when nothing was written."
    )

    def add_arguments(self, parser):
        parser.add_argument("src_dir", type=Path)
        parser.add_argument("dst_dir", type=Path)
        parser.add_argument("--case-key", required=True, help="keys UIDs and the date shift")
        parser.add_argument("--report", type=Path, help="where to write the JSON report")
        parser.add_argument(
            "--roster",
            type=Path,
            help="a text file of people's names (one a line) to remove wherever they appear",
        )
        parser.add_argument("--patient-label", default="", help="written as Patient's Name and ID")
        parser.add_argument(
            "--clean-descriptors",
            action="store_true",
            help="keep descriptions, comments and histories, cleaned (removed otherwise)",
        )
        parser.add_argument(
            "--clean-structured-content",
            action="store_true",
            help="keep the free text of structured reports, cleaned (removed otherwise)",
        )
        parser.add_argument(
            "--no-patient-characteristics",
            action="store_true",
            help="remove age, sex, size and weight too",
        )

    def handle(self, *args, src_dir: Path, dst_dir: Path, case_key: str, **opts):
        if not src_dir.is_dir():
            raise CommandError(f"{src_dir} is not a directory.")
        roster: tuple[str, ...] = ()
        if opts["roster"]:
            lines = opts["roster"].read_text(encoding="utf-8").splitlines()
            roster = tuple(line.strip() for line in lines if line.strip())
        options = Options(
            clean_descriptors=opts["clean_descriptors"],
            clean_structured_content=opts["clean_structured_content"],
            patient_label=opts["patient_label"],
            roster=roster,
            retain_patient_characteristics=(
                frozenset()
                if opts["no_patient_characteristics"]
                else DEFAULT_PATIENT_CHARACTERISTICS
            ),
        )
        summary = anonymize_directory(
            src_dir,
            dst_dir,
            case_key=case_key,
            secret=anonymizer_secret(),
            report_path=opts["report"],
            options=options,
        )
        self.stdout.write(
            f"{summary.files} files: {summary.written} written, {summary.skipped} skipped "
            f"(not DICOM, duplicates or links outside SRC_DIR), {summary.rejected} rejected by "
            f"the verifier, {summary.failed} could not be de-identified; "
            f"{summary.needs_pixel_review} need pixel review; "
            f"verifier findings: {summary.findings}."
        )
        if opts["report"]:
            self.stdout.write(f"Report: {opts['report']}")
        if not summary.written:
            raise CommandError("Nothing was written: see the report for why.", returncode=2)
        if not summary.ok:
            raise CommandError(
                "Some files were refused: see the report for the files and why.", returncode=1
            )

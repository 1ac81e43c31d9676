"""Retrieve a study from the PACS over DICOMweb, de-identified and verified."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from anonymizer.engine.profile import Options
from anonymizer.pacs import REPORT_FILE, PacsError, pacs_retrieve_deidentified


class Command(BaseCommand):
    help = (
        "Find the study with this accession number in the PACS (PACS_DICOMWEB_URL), retrieve "
        "it, de-identify and verify every image into DST_DIR (a new or empty folder). The "
        "originals are deleted as soon as they are de-identified. Exits non-zero unless every "
        "image came back clean."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "accession",
            help="the study's accession number, or - to read it from standard input "
            "(keeps it out of the shell history and the process list)",
        )
        parser.add_argument("dst_dir", type=Path)
        parser.add_argument("--case-key", required=True, help="keys UIDs and the date shift")
        parser.add_argument(
            "--report", type=Path, help="also write the retrieval and de-identification report"
        )
        parser.add_argument(
            "--roster",
            type=Path,
            help="a text file of people's names (one a line) to remove wherever they appear",
        )
        parser.add_argument("--patient-label", default="", help="written as Patient's Name and ID")

    def handle(self, *args, accession: str, dst_dir: Path, case_key: str, **opts):
        if accession == "-":
            accession = sys.stdin.readline()
        roster: tuple[str, ...] = ()
        if opts["roster"]:
            lines = Path(opts["roster"]).read_text(encoding="utf-8").splitlines()
            roster = tuple(line.strip() for line in lines if line.strip())
        try:
            result = pacs_retrieve_deidentified(
                accession_number=accession,
                case_key=case_key,
                destination=dst_dir,
                options=Options(patient_label=opts["patient_label"], roster=roster),
            )
        except PacsError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(result.summary())
        self.stdout.write(f"De-identified files: {dst_dir}")
        if opts["report"]:
            report = json.loads((Path(dst_dir) / REPORT_FILE).read_text(encoding="utf-8"))
            report_path = Path(opts["report"])
            report_path.parent.mkdir(parents=True, exist_ok=True)
            report_path.write_text(
                json.dumps({"retrieval": result.as_dict(), "deidentification": report}),
                encoding="utf-8",
            )
            self.stdout.write(f"Report: {report_path}")
        if not result.complete:
            raise CommandError(
                f"Only {result.instances_retrieved} of the {result.instances_expected} images "
                "the PACS lists came back."
            )
        if not result.ok:
            raise CommandError(
                "De-identification is not clean: see the report for the files and attributes."
            )

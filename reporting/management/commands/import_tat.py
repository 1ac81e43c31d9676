"""Import report turnaround times from a RIS extract (see docs/oppe-data.md)."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from peerlearning.models import User
from reporting.oppe.tat import COLUMNS, tat_import


class Command(BaseCommand):
    help = (
        "Import report turnaround times from a CSV file with the columns "
        + ",".join(COLUMNS)
        + ". Rows are matched by accession: importing a file again updates, never duplicates. "
        "Nothing is written if any line is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The TAT CSV (UTF-8).")
        parser.add_argument(
            "--skip-unknown",
            action="store_true",
            help="Skip rows of people who are not radiologists on the roster (with a "
            "warning) instead of refusing the file.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count, then write nothing."
        )
        parser.add_argument(
            "--actor", metavar="EMAIL", help="The administrator the audit trail names."
        )

    def handle(self, *args, file: Path, skip_unknown: bool, dry_run: bool, actor, **options):
        acting = None
        if actor:
            acting = User.objects.filter(email__iexact=actor.strip()).first()
            if acting is None:
                raise CommandError(f"No user has the e-mail address {actor}.")
        began = time.perf_counter()
        try:
            with file.open("rb") as source:
                result = tat_import(
                    source=source,
                    actor=acting,
                    skip_unknown=skip_unknown,
                    dry_run=dry_run,
                    origin="command",
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from None
        elapsed = time.perf_counter() - began
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        if not result.ok:
            problems = "\n".join(f"  {message}" for message in result.error_messages())
            raise CommandError(f"{file} was not imported; nothing was changed.\n{problems}")
        prefix = "Dry run, nothing written. " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{result.describe()} ({elapsed:.1f} s)"))

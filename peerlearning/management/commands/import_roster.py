"""Import a roster CSV: people, their sections and their roles (see docs/roster.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from peerlearning.admin import ROSTER_MAX_BYTES
from peerlearning.lib.uploads import UploadRefused, read_limited
from peerlearning.models import User
from peerlearning.roster import roster_import, roster_parse


class Command(BaseCommand):
    help = (
        "Import people and their roles from a CSV file with the columns "
        "email,first_name,last_name,roles,section,participating. Nothing is written if any "
        "line is wrong. Re-importing the same file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The roster CSV (UTF-8).")
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Also end memberships the file no longer lists, in the sections it names.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change and write nothing."
        )
        parser.add_argument(
            "--actor", metavar="EMAIL", help="The administrator the audit trail names."
        )

    def handle(self, *args, file: Path, sync: bool, dry_run: bool, actor: str | None, **options):
        try:
            with file.open("rb") as handle:
                data = read_limited(handle, max_bytes=ROSTER_MAX_BYTES)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from None
        except UploadRefused as refusal:
            raise CommandError(f"{file} was not imported; nothing was changed. {refusal}") from None
        acting = None
        if actor:
            acting = User.objects.filter(email__iexact=actor.strip()).first()
            if acting is None:
                raise CommandError(f"No user has the e-mail address {actor}.")

        parsed = roster_parse(data)
        for warning in parsed.warnings:
            self.stderr.write(self.style.WARNING(warning))
        if not parsed.ok:
            problems = "\n".join(f"  {message}" for message in parsed.error_messages())
            raise CommandError(f"{file} was not imported; nothing was changed.\n{problems}")

        summary = roster_import(
            rows=parsed.rows, actor=acting, sync=sync, dry_run=dry_run, source="command"
        )
        if dry_run or options["verbosity"] > 1:
            for change in summary.changes:
                where = f"line {change.line}: " if change.line else ""
                self.stdout.write(
                    f"  {where}{change.email + ' ' if change.email else ''}{change.description}"
                )
        prefix = "Dry run, nothing written. " if dry_run else ""
        if not summary.changed:
            self.stdout.write(f"{prefix}Nothing to change. {summary.describe()}")
        else:
            self.stdout.write(self.style.SUCCESS(f"{prefix}{summary.describe()}"))

"""Import a Zoom or Teams attendance report into a conference (see docs/conferences.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conferences.attendance.imports import ImportRefused, attendance_import
from conferences.meetings.models import Conference
from peerlearning.models import User


class Command(BaseCommand):
    help = (
        "Import a meeting platform's attendance report (Zoom participant report or Teams "
        "attendance report, CSV) into a conference. Nothing is written if the file has any "
        "problem; importing the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("conference_id", type=int, help="The conference's id.")
        parser.add_argument("file", type=Path, help="The report, as downloaded.")
        parser.add_argument(
            "--actor", metavar="EMAIL", help="The person the audit trail names as importer."
        )

    def handle(self, *args, conference_id: int, file: Path, actor: str | None, **options):
        conference = Conference.objects.select_related("section").filter(pk=conference_id).first()
        if conference is None:
            raise CommandError(f"No conference has the id {conference_id}.")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from None
        acting = None
        if actor:
            acting = User.objects.filter(email__iexact=actor.strip()).first()
            if acting is None:
                raise CommandError(f"No user has the e-mail address {actor}.")
        try:
            outcome = attendance_import(
                conference=conference, data=data, filename=file.name, actor=acting
            )
        except ImportRefused as refusal:
            problems = "\n".join(f"  {problem}" for problem in refusal.problems)
            raise CommandError(
                f"{file} was not imported; nothing was changed.\n{problems}"
            ) from None

        done = outcome.source_import
        if not outcome.created:
            self.stdout.write(f"{file} was imported before (import {done.pk}); nothing changed.")
            return
        for warning in done.warnings:
            self.stderr.write(self.style.WARNING(warning))
        for row in outcome.matched:
            self.stdout.write(
                f"  matched  {row.name or row.email} → {row.user.email} "
                f"({row.get_match_display().lower()}), {row.minutes} min"
            )
        for row in outcome.unmatched:
            self.stdout.write(f"  unmatched {row.name or row.email}, {row.minutes} min: {row.note}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {done.get_platform_display()} report into “{conference.title}”: "
                f"{done.rows_read} lines, {done.people_matched} people matched, "
                f"{done.names_unmatched} names to match by hand "
                f"(attendance: {outcome.attendance_created} new, "
                f"{outcome.attendance_updated} updated)."
            )
        )

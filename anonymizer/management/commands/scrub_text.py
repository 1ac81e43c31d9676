"""Scrub free text and, with --check, report what the detector still flags."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from anonymizer.engine.textcheck import check_text


class Command(BaseCommand):
    help = (
        "Scrub identifiers from FILE (or - for standard input) and print the scrubbed text. "
        "With --check, exit 1 and list the spans the detector flags (kind and offsets into the "
        "printed text, never the text) on standard error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a UTF-8 text file, or - for standard input")
        parser.add_argument("--check", action="store_true", help="exit 1 when anything is flagged")
        parser.add_argument(
            "--roster",
            type=Path,
            help="a text file of people's names (one a line) to replace wherever they appear",
        )
        parser.add_argument(
            "--date-offset-days", type=int, help="shift dates by this many days instead of [DATE]"
        )

    def handle(self, *args, file: str, check: bool, roster: Path | None, **opts):
        text = self._read(file)
        names: list[str] = []
        if roster is not None:
            names = [line.strip() for line in self._read(str(roster)).splitlines() if line.strip()]
        result = check_text(text, roster=names, date_offset_days=opts["date_offset_days"])
        self.stdout.write(result.text, ending="")
        if not check:
            return
        for flag in result.flags:
            self.stderr.write(f"{flag.kind} {flag.start}-{flag.end}")
        if result.flags:
            self.stderr.write(f"{len(result.flags)} span(s) flagged: a person must look at them.")
            sys.exit(1)

    def _read(self, name: str) -> str:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {name}: {error.strerror}.") from error
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{name} is not UTF-8 text (byte {error.start}); nothing was written."
            ) from error

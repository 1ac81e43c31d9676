"""Send the mid-month reminder now: what the hourly job does, for one month, on demand.

    python manage.py send_midmonth_reminders [--month YYYY-MM] [--section SLUG] [--dry-run]

Each radiologist still receives one reminder per month: people whose reminder is already in
the outbox are left alone, so running it twice, or after the scheduled job, sends nothing new.
Sections whose reminder is switched off are skipped unless named with --section.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from peerlearning.lib.months import month_key, month_of, parse_month
from peerlearning.models import Section
from reporting.targets.models import ReminderSettings
from reporting.targets.reminders import reminders_send


class Command(BaseCommand):
    help = "Queue the mid-month reminder e-mails (once per radiologist per month)."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM; this month by default.")
        parser.add_argument("--section", help="A section slug; default: every active section.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count who would receive what; send nothing."
        )

    def handle(self, *args, month=None, section=None, dry_run=False, **options):
        today = timezone.localdate()
        chosen = parse_month(month) if month else month_of(today)
        if chosen is None:
            raise CommandError("--month must look like 2026-03.")
        sections = Section.objects.filter(is_active=True).select_related("reminder_settings")
        if section:
            sections = sections.filter(slug=section)
            if not sections:
                raise CommandError(f"No active section with the slug {section!r}.")
        for each in sections.order_by("name"):
            if not section and not ReminderSettings.for_section(each).enabled:
                self.stdout.write(f"{each.name}: reminder switched off, skipped.")
                continue
            outcome = reminders_send(section=each, month=chosen, today=today, dry_run=dry_run)
            verb = "would queue" if dry_run else "queued"
            new = (outcome.recipients - outcome.already) if dry_run else outcome.queued
            self.stdout.write(
                f"{each.name}, {month_key(chosen)}: {verb} {new} "
                f"({outcome.thanks} thank-you), {outcome.already} already sent or queued, "
                f"{outcome.skipped} without an e-mail."
            )

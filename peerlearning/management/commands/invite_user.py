"""E-mail people a link to set their password (at most one invitation a day each)."""

from django.core.management.base import BaseCommand, CommandError

from peerlearning.models import User
from peerlearning.roster import invitation_send


class Command(BaseCommand):
    help = "Send an invitation with a set-your-password link to each e-mail address given."

    def add_arguments(self, parser):
        parser.add_argument("emails", nargs="+", metavar="EMAIL")

    def handle(self, *args, emails: list[str], **options):
        wanted = [email.strip().lower() for email in emails]
        users = {user.email.lower(): user for user in User.objects.filter(email__in=wanted)}
        unknown = [email for email in wanted if email not in users]
        if unknown:
            raise CommandError(f"No user has the e-mail address: {', '.join(unknown)}.")
        inactive = [email for email in wanted if not users[email].is_active]
        if inactive:
            raise CommandError(f"Deactivated, not invited: {', '.join(inactive)}.")
        for email in wanted:
            _, created = invitation_send(user=users[email], actor=None)
            if created:
                self.stdout.write(f"Invitation queued for {email}.")
            else:
                self.stdout.write(f"{email} was already invited today; nothing sent.")

"""Give a person a new API token and print its key (the old one stops working)."""

from django.core.management.base import BaseCommand, CommandError

from peerlearning.models import User
from peerlearning.services import api_token_rotate


class Command(BaseCommand):
    help = (
        "Create (or replace) the API token of the person with this e-mail address. "
        "Only the key is printed on stdout, so scripts can capture it."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; a token would not work.")
        token = api_token_rotate(user=user)
        self.stdout.write(token.key)

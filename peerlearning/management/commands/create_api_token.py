"""Give a person a new API token and print its key (their other tokens keep working)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from peerlearning.mfa import mfa_required, user_has_totp
from peerlearning.models import User
from peerlearning.services import api_token_create, api_tokens_revoke


class Command(BaseCommand):
    help = (
        "Create an API token for the person with this e-mail address. Only the key is "
        "printed on stdout, so scripts can capture it."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="What the token is for, e.g. PACS.")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Days until it expires (default API_TOKEN_DAYS, {settings.API_TOKEN_DAYS}).",
        )
        parser.add_argument(
            "--replace", action="store_true", help="Revoke the person's other tokens first."
        )

    def handle(self, *args, email: str, name: str, days: int | None, replace: bool, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; a token would not work.")
        if mfa_required(user) and not user_has_totp(user):
            raise CommandError(
                f"{user.email}'s role requires two-factor authentication and they have not set "
                "it up; the API would refuse a token until they do."
            )
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more.")
        if replace:
            api_tokens_revoke(tokens=user.api_tokens.all(), actor=None)
        _, key = api_token_create(user=user, name=name or "command line", days=days)
        self.stdout.write(key)

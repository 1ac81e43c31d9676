"""What a first hospital sign-in records about the account it matched by e-mail."""

from allauth.account.models import EmailAddress
from django.db import transaction


@transaction.atomic
def sso_email_confirm(*, user, email: str) -> None:
    """Record the account's address as verified: the roster gave it, the hospital's IdP vouched.

    allauth makes the password of an account unusable when SSO matches it by an address that
    is not verified on our side, against someone who signed up with another person's address
    and waits. Nobody signs up here (accounts come from the roster or an administrator), so
    that would only take away the password of everybody's first SSO sign-in.
    """
    if user.email.lower() != email.lower():
        return
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])

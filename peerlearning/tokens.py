"""API tokens: how a key is checked (made and revoked by peerlearning/services.py).

Only a hash of each key is stored. A token answers 401 once it has expired, been revoked,
outlived the password it was made under, or its owner's account is deactivated; and while
its owner's role requires MFA but they have no TOTP (a token cannot pass a second factor,
so it stands on the owner having one).
"""

import datetime
import hashlib
import hmac

from django.db.models import F
from django.utils import timezone
from rest_framework import authentication, exceptions

from peerlearning.mfa import mfa_required, user_has_totp
from peerlearning.models import ApiToken, User

KEY_PREFIX = "pl_"
# last_used_at is written at most this often, not on every call.
LAST_USED_EVERY = datetime.timedelta(minutes=5)


def key_hash(key: str) -> str:
    # Keys are 256 random bits: a plain SHA-256 cannot be reversed or guessed.
    return hashlib.sha256(key.encode()).hexdigest()


def api_tokens_of(*, user: User):
    """The person's tokens, those not revoked first, the latest to expire first."""
    return ApiToken.objects.filter(user=user).order_by(
        F("revoked_at").asc(nulls_first=True), "-expires_at", "-id"
    )


def api_tokens_listed(*, user: User, limit: int = 20) -> list[ApiToken]:
    """The person's tokens for their profile page, each with `state` in words."""
    tokens = list(api_tokens_of(user=user)[:limit])
    password = user.get_session_auth_hash()
    for token in tokens:
        if token.revoked_at is not None:
            token.state = f"Revoked {timezone.localtime(token.revoked_at):%Y-%m-%d}"
        elif token.is_expired:
            token.state = "Expired"
        elif not hmac.compare_digest(token.password_fingerprint, password):
            token.state = "Ended: your password changed"
        else:
            token.state = "Works"
    return tokens


def token_refusal(token: ApiToken) -> str | None:
    """Why this token may not be used now, or None."""
    user = token.user
    if token.revoked_at is not None:
        return "This token was revoked."
    if token.is_expired:
        return "This token has expired."
    if not user.is_active:
        return "This account is deactivated."
    if not hmac.compare_digest(token.password_fingerprint, user.get_session_auth_hash()):
        return "The password changed since this token was made."
    if mfa_required(user) and not user_has_totp(user):
        return "Your role requires two-factor authentication: set it up to use the API."
    return None


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, against the hashed keys of `ApiToken`."""

    model = ApiToken

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        refusal = token_refusal(token)
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

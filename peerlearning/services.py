"""Writes on people and accounts."""

import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.models import ApiToken, AuditEvent, User
from peerlearning.tokens import KEY_PREFIX, key_hash


@transaction.atomic
def api_token_create(
    *, user: User, name: str = "", actor: User | None = None, days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for the person and its key (the only time the key exists outside them)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        prefix=key[:10],
        key_hash=key_hash(key),
        password_fingerprint=user.get_session_auth_hash(),
        created_at=now,
        expires_at=now + datetime.timedelta(days=days or settings.API_TOKEN_DAYS),
    )
    audit_record(
        action=AuditEvent.Action.CREATE,
        actor=actor or user,
        obj=token,
        detail={"what": "api token", "for": user.pk, "expires": token.expires_at.isoformat()},
    )
    return token, key


@transaction.atomic
def api_tokens_revoke(*, tokens, actor: User | None) -> int:
    """Revoke these tokens (a queryset); revoking one twice changes nothing."""
    revoked = list(tokens.filter(revoked_at__isnull=True).values_list("pk", "user_id"))
    ApiToken.objects.filter(pk__in=[pk for pk, _ in revoked]).update(revoked_at=timezone.now())
    for pk, owner in revoked:
        audit_record(
            action=AuditEvent.Action.UPDATE,
            actor=actor,
            object_type="peerlearning.apitoken",
            object_id=pk,
            detail={"what": "api token revoked", "for": owner},
        )
    return len(revoked)

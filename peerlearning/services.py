"""Writes on people and accounts."""

from django.db import transaction
from rest_framework.authtoken.models import Token

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, User


@transaction.atomic
def api_token_rotate(*, user: User, actor: User | None = None) -> Token:
    """Replace the person's API token with a new one (the old one stops working)."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_record(
        action=AuditEvent.Action.CREATE,
        actor=actor or user,
        object_type="authtoken.token",
        object_id=user.pk,
        detail={"what": "api token rotated"},
    )
    return token

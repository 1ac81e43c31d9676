"""The audit trail: one call records who read or changed what."""

from allauth.core.internal.httpkit import get_client_ip
from django.http import HttpRequest

from peerlearning.models import AuditEvent


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address, through as many proxies as TRUSTED_PROXY_COUNT says."""
    if request is None:
        return None
    return get_client_ip(request)


def audit_record(
    *,
    action: str,
    actor=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event. `detail` must never hold PHI: ids and counts, not names or text."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is not None and not actor.is_authenticated:
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEvent.objects.create(
        actor_id=actor.pk if actor else None,
        actor_email=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        ip_address=client_address(request),
        # The path only: query strings may carry identifiers.
        path=request.path[:300] if request is not None else "",
        detail=detail or {},
    )

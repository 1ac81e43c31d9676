"""Reachability checks for /healthz."""

from django.conf import settings
from kombu import Connection


def broker_reachable(timeout: float = 2.0) -> bool:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=timeout,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False

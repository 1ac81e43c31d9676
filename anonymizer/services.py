"""The Django side of the engine: the installation's secret, read from the settings."""

from django.conf import settings


def anonymizer_secret() -> str:
    """The per-installation secret that keys UIDs and date offsets."""
    return getattr(settings, "ANONYMIZER_SECRET", settings.SECRET_KEY)

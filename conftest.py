import os

import pytest
from django.core.cache import cache

from peerlearning.testing import make_department

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# The whole run's log output is kept and, at the end, scanned for every accession number the
# tests used: a hit fails the run (tests/security/phi_log_guard.py).
pytest_plugins = ["tests.security.phi_log_guard"]


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Each test process keeps its own cache: rate limits of one run never leak into another.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    from peerlearning.celery import app

    app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits live in the cache; one test's failed sign-ins must not lock out the next.
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _feedback_batches_gone(request, monkeypatch):
    """Feedback reaches its reader with the section's next batch (submissions/disclosure.py).
    Tests about what happens after that get the batch as already gone; tests of the batching
    itself are marked `real_feedback_batches`."""
    if request.node.get_closest_marker("real_feedback_batches"):
        return
    import datetime

    from django.utils import timezone

    def gone(*, config, urgency, now=None):
        return (now or timezone.now()) - datetime.timedelta(seconds=1)

    for module in ("submissions.services.feedback", "submissions.services.submitting"):
        monkeypatch.setattr(f"{module}.feedback_release_at", gone)


@pytest.fixture
def client():
    """Django's test client, `force_login` passing the second factor the policy asks for."""
    from peerlearning.testing import Client

    return Client()


@pytest.fixture
def department(db):
    return make_department()


@pytest.fixture
def need_service():
    """Skip (or, under REQUIRE_SERVICES=1, fail) a test whose service is not available."""

    def check(available: bool, what: str):
        if available:
            return
        if REQUIRE_SERVICES:
            pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
        pytest.skip(f"{what} not available")

    return check


@pytest.fixture
def smtp_sink(settings):
    """Route the product's e-mail to a real SMTP server listening on loopback."""
    from peerlearning.testing import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()

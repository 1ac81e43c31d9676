"""Security headers on every kind of response, and no caching of anything a signed-in person gets.

Kinds of response: an HTML page, API JSON (token), a PDF download, a static file served by
WhiteNoise, error pages (403, 404, 500) and the sign-in page. HSTS is checked under the
production values with an HTTPS request (the test settings come from a development .env).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.security.conftest import api_client_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEST_URLS = "tests.security.urls"
HSTS = {
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_SSL_REDIRECT": False,
}


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (piece.strip() for piece in policy.split(";"))
        if part
    }


def assert_hardened(response, *, framed_by_middleware: bool = True):
    directives = csp_directives(response)
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    if framed_by_middleware:
        assert response["X-Frame-Options"] == "DENY"


@pytest.fixture
def case(department):
    from tests.security.conftest import case_for

    return case_for(department.radiologist, department.neuro, department.reader, "HDR5000005")


@pytest.fixture
def certificate_conference(department):
    from conferences.attendance.services import attendance_mark
    from tests.security.conftest import held_conference

    conference = held_conference(department.neuro, title="Skull base")
    attendance_mark(
        conference=conference, user=department.reader, present=True, minutes=None, actor=None
    )
    return conference


# Headers on each kind of response ---------------------------------------------------------


def test_an_html_page_is_hardened_and_not_cached(client, department):
    client.force_login(department.champion)
    response = client.get(reverse("submissions:queue"))

    assert response.status_code == 200
    assert_hardened(response)
    assert response["Cache-Control"] == "no-store"


def test_api_json_signed_with_a_token_is_hardened_and_not_cached(department, case):
    response = api_client_for(department.radiologist).get(reverse("api:submission-list"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert_hardened(response)
    # Token authentication happens inside the view; the header still applies.
    assert response["Cache-Control"] == "no-store"


def test_the_feedback_pdf_is_hardened_and_not_cached(client, department, case):
    client.force_login(department.reader)
    response = client.get(reverse("submissions:feedback-pdf", args=[case.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert_hardened(response)
    assert response["Cache-Control"] == "no-store"


def test_the_cme_certificate_is_hardened_and_not_cached(client, department, certificate_conference):
    client.force_login(department.reader)
    response = client.get(reverse("conferences:certificate", args=[certificate_conference.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert_hardened(response)
    assert response["Cache-Control"] == "no-store"


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_a_static_file_is_hardened_and_keeps_its_cache(client, department):
    client.force_login(department.radiologist)
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    # WhiteNoise answers before sign-in is looked at; XFrameOptionsMiddleware never runs, and
    # the CSP's frame-ancestors covers framing instead.
    assert_hardened(response, framed_by_middleware=False)
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("persona", ["anonymous", "radiologist"])
def test_the_404_page_is_hardened(client, department, persona):
    if persona != "anonymous":
        client.force_login(department.radiologist)
    response = client.get("/no/such/page/?accession=ZZ99999999")

    assert response.status_code == 404
    assert_hardened(response)
    assert b"ZZ99999999" not in response.content


def test_the_403_page_is_hardened(client, department):
    client.force_login(department.radiologist)
    response = client.get(reverse("submissions:queue"))

    assert response.status_code == 403
    assert_hardened(response)
    assert response["Cache-Control"] == "no-store"


@override_settings(ROOT_URLCONF=TEST_URLS)
def test_the_500_page_is_hardened_and_tells_nothing(client, department):
    client.raise_request_exception = False
    client.force_login(department.radiologist)
    response = client.get(reverse("test-boom"))

    assert response.status_code == 500
    assert_hardened(response)
    assert response["Cache-Control"] == "no-store"
    for leak in (b"Traceback", b"RuntimeError", b"a view failed", b"SECRET_KEY"):
        assert leak not in response.content


def test_the_sign_in_page_is_hardened(client, db):
    response = client.get(reverse("account_login"))

    assert response.status_code == 200
    assert_hardened(response)
    content = response.content.decode()
    assert "<script>" not in content and " style=" not in content


# HSTS and HTTPS -------------------------------------------------------------------------------


@override_settings(**HSTS)
def test_https_responses_carry_hsts_under_production_values(client, department):
    client.force_login(department.radiologist)
    for url in (reverse("home"), reverse("account_login"), reverse("healthz")):
        response = client.get(url, secure=True)
        assert response["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        ), url
    # Browsers ignore HSTS over plain HTTP, and Django does not send it there.
    assert "Strict-Transport-Security" not in client.get(reverse("home"))


@override_settings(**{**HSTS, "SECURE_SSL_REDIRECT": True})
def test_plain_http_is_redirected_to_https_except_the_health_check(client, db):
    response = client.get(reverse("account_login"))

    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert client.get(reverse("healthz")).status_code in (200, 503)


def test_production_settings_turn_on_https_only_cookies_and_hsts(tmp_path):
    """The values a deployment gets with DEBUG off and nothing else said."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "pl.example.org",
        "DJANGO_SETTINGS_MODULE": "peerlearning.settings",
    }
    names = [
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_AGE",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        "X_FRAME_OPTIONS",
        "DEBUG",
    ]
    script = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        # Variables set here win over the developer's .env, which settings.py also reads.
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_AGE"] == 15 * 60
    assert values["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"


# Cache-Control: no-store ------------------------------------------------------------------------


@override_settings(ROOT_URLCONF=TEST_URLS)
def test_a_download_that_asks_to_be_cached_is_still_no_store(client, department):
    client.force_login(department.radiologist)
    response = client.get(reverse("test-cached-download"))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "Expires" not in response


def test_signed_out_pages_keep_their_own_cache_rules(client, db):
    """The health check says never-cache its own way; no-store is for signed-in people."""
    response = client.get(reverse("healthz"))

    assert "no-store" in response["Cache-Control"]  # never_cache includes it
    assert "max-age=0" in response["Cache-Control"]


def test_api_responses_to_a_session_are_no_store_too(client, department, case):
    client.force_login(department.radiologist)
    response = client.get(reverse("api:submission-detail", args=[case.pk]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_the_roster_export_is_no_store(client, department):
    """A real export (django-import-export's admin export of the roster)."""
    client.force_login(department.site_admin)
    fields = [
        f"membershipresource_{name}"
        for name in ("email", "first_name", "last_name", "roles", "section", "participating")
    ]

    response = client.post(
        reverse("admin:peerlearning_membership_export"),
        {"format": "0", "resource": "0", **dict.fromkeys(fields, "on")},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert department.radiologist.email in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert_hardened(response)

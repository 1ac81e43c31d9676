"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server."""

import os
import shutil

import pytest
from playwright.sync_api import expect

from peerlearning.demo import demo_mfa_off
from peerlearning.testing import make_department

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Generous: a loaded 2-core CI machine renders slowly; a real failure still fails.
E2E_TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", "30000"))
expect.set_options(timeout=E2E_TIMEOUT_MS)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# there to arrange data are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser(need_service_session):
    need_service_session(shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM), "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def need_service_session():
    from conftest import REQUIRE_SERVICES

    def check(available: bool, what: str):
        if available:
            return
        if REQUIRE_SERVICES:
            pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
        pytest.skip(f"{what} not available")

    return check


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(E2E_TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture
def e2e_department(transactional_db):
    # The browser tests walk the pages as the demo runs them, MFA off: the password alone.
    # Signing in with the second factor has its own browser test (test_signin.py).
    department = make_department()
    demo_mfa_off()
    return department

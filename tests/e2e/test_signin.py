import pytest

from peerlearning.models import SitePolicy
from peerlearning.testing import PASSWORD, real_totp_for, totp_code

pytestmark = pytest.mark.e2e


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_a_champion_signs_in_sees_their_home_page_and_signs_out(page, live_server, e2e_department):
    sign_in(page, live_server, e2e_department.champion.email)
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text().startswith("Welcome, Cass")
    assert page.get_by_role("heading", name="PL champion").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


def test_a_wrong_password_is_refused_with_a_clear_message(page, live_server, e2e_department):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", e2e_department.radiologist.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.get_by_text("not correct").first.is_visible()
    assert "/accounts/login/" in page.url


def test_the_page_loads_without_content_security_policy_violations(
    page, live_server, e2e_department
):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, live_server, e2e_department.radiologist.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/profile/")
    assert violations == []


def test_a_champion_signs_in_with_password_and_code_under_the_default_policy(
    page, live_server, e2e_department
):
    policy = SitePolicy.load()  # back to a new site's policy: MFA required of champions
    for name in SitePolicy.MFA_FIELDS:
        setattr(policy, name, SitePolicy._meta.get_field(name).default)
    policy.save()
    secret = real_totp_for(e2e_department.champion)
    sign_in(page, live_server, e2e_department.champion.email)
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.fill("input[name=code]", totp_code(secret))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text().startswith("Welcome, Cass")
    page.goto(f"{live_server.url}/submissions/queue/")
    assert "/accounts/" not in page.url

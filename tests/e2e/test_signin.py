import pytest

from peerlearning.testing import PASSWORD

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

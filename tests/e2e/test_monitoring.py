import pytest
from django.utils import timezone

from peerlearning.lib.months import month_of
from reporting.tests.test_targets import submit
from tests.e2e.test_signin import sign_in

pytestmark = pytest.mark.e2e


def test_the_assistant_sees_a_radiologist_behind_target_highlighted(
    page, live_server, e2e_department
):
    d = e2e_department
    this_month = month_of(timezone.localdate())
    for reason in ("great_catch", "interesting"):
        submit(d.neuro, d.radiologist, on=this_month, reason=reason)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    sign_in(page, live_server, d.assistant.email)
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="Monitoring").first.click()
    page.wait_for_url("**/reporting/monitoring/**")

    behind = page.locator("#monitoring-table tbody tr", has_text="Quinn Reader")
    assert "row-warn" in behind.get_attribute("class")
    assert behind.get_by_text("Behind").is_visible()
    on_target = page.locator("#monitoring-table tbody tr", has_text="Rowan Submitter")
    assert "row-warn" not in (on_target.get_attribute("class") or "")
    assert on_target.get_by_text("On target").is_visible()

    # The filter narrows the table through htmx, without reloading the page.
    page.select_option("#f-status", "behind")
    page.locator("#monitoring-table tbody tr", has_text="Rowan Submitter").wait_for(
        state="detached"
    )
    assert page.locator("#monitoring-table tbody tr", has_text="Quinn Reader").is_visible()
    assert violations == []

import pytest
from django.utils import timezone

from peerlearning.lib.months import month_of
from reporting.tests.test_targets import policy, submit
from tests.e2e.test_signin import sign_in

pytestmark = pytest.mark.e2e


def test_my_submissions_shows_the_months_progress_as_the_targets_count_it(
    page, live_server, e2e_department
):
    d = e2e_department
    policy(d.neuro, month_of(timezone.localdate()), d.leader, counted_reasons=["discrepancy"])
    submit(d.neuro, d.radiologist, on=timezone.localdate(), reason="great_catch")
    submit(d.neuro, d.radiologist, on=timezone.localdate(), reason="discrepancy")
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    sign_in(page, live_server, d.radiologist.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/submissions/mine/")

    tiles = page.locator("ul#month-progress")  # swapped in by htmx once the page has loaded
    tiles.wait_for()
    counted = tiles.locator(".stat", has_text="Counted toward your target")
    assert counted.locator(".stat-value").inner_text() == "1"
    submitted = tiles.locator(".stat", has_text="Submitted this month")
    assert submitted.locator(".stat-value").inner_text() == "2"
    assert violations == []

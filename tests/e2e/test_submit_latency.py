"""Ticking clinical actions on a hospital network's latency: inline validation answers late,
and must never undo a tick made while it travelled."""

import pytest
from playwright.sync_api import expect

from peerlearning.testing import PASSWORD
from submissions.models import Submission

pytestmark = pytest.mark.e2e

LATENCY_MS = 250


@pytest.mark.parametrize("gap_ms", [40, 90, 140])
def test_a_keyboard_user_ticks_two_actions_and_both_are_stored(
    page, live_server, e2e_department, gap_ms
):
    department = e2e_department
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", department.radiologist.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/submissions/submit/")

    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    page.fill("input[name=accession_number]", f"LAT-{gap_ms}")
    page.check("input[name=reason][value=discrepancy]")
    page.check("input[name=reason_detail][value=perceptual]")
    page.check("input[name=reader_kind][value=unknown]")
    page.fill("textarea[name=description]", "Rib fracture not reported.")

    addendum = page.locator("input[name=required_actions][value=addendum]")
    addendum.focus()
    page.keyboard.press("Space")
    page.wait_for_timeout(gap_ms)
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    contact = page.locator("input[name=required_actions][value=contact_clinician]")
    expect(contact).to_be_focused()
    # Let every validation answer arrive; the ticks must survive them.
    page.wait_for_timeout(3 * LATENCY_MS + 500)
    expect(addendum).to_be_checked()
    expect(contact).to_be_checked()

    page.check("input[name=attestation]")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url("**/submissions/mine/*/")
    submission = Submission.objects.get(accession_number=f"LAT-{gap_ms}")
    assert sorted(submission.actions.values_list("kind", flat=True)) == [
        "addendum",
        "contact_clinician",
    ]

"""A champion releases one flagged span of a learning point and replaces another."""

import os

import pytest
from playwright.sync_api import expect

from conferences.gated import conference_text
from conferences.models import Conference
from conferences.tests.conftest import make_conference
from peerlearning.testing import PASSWORD

pytestmark = pytest.mark.e2e
SCREENSHOT = os.environ.get("TEXT_GATE_SCREENSHOT", "")


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_each_flagged_span_is_shown_in_context_and_decided_one_by_one(
    page, live_server, e2e_department
):
    dept = e2e_department
    conference = make_conference(
        dept.neuro,
        actor=dept.champion,
        learning_points=(
            "Dr Olivia Nuñez missed it on the first read (MRN 4471203).\n"
            "Grace Hall called about the Segond fracture on 3/14; compare with the 9 mm "
            "effusion."
        ),
    )
    sign_in(page, live_server, dept.champion.email)
    page.goto(f"{live_server.url}/anonymizer/texts/conferences.conference/{conference.pk}/")
    marks = page.locator("mark.flag-open")
    expect(marks).to_have_count(2)
    expect(marks.nth(0)).to_have_text("Grace Hall")
    expect(marks.nth(1)).to_have_text("3/14")
    expect(page.locator("#gate-summary")).to_contain_text("2 flagged spans wait")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("button", name="This is not PHI").first.click()
    expect(page.locator("mark.flag-released")).to_have_text("Grace Hall")
    page.get_by_role("button", name="Replace with [DATE]").click()
    expect(page.locator("mark.flag-open")).to_have_count(0)
    expect(page.locator("#gate-summary")).to_contain_text(
        "Checked by rules: 1 span released by Cass Champion"
    )
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT.replace(".png", "-after.png"), full_page=True)
    conference = Conference.objects.get(pk=conference.pk)
    assert "on [DATE];" in conference.learning_points
    assert conference_text(conference, "learning_points").startswith("Dr [NAME] missed it")

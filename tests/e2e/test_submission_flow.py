"""The heart of the product in a browser: submit → the reader acknowledges → the champion closes."""

import pytest
from playwright.sync_api import expect

from peerlearning.testing import PASSWORD
from submissions.models import Submission
from tests.e2e.conftest import E2E_TIMEOUT_MS

pytestmark = pytest.mark.e2e


@pytest.fixture
def contexts(browser):
    """One browser context per person, all closed at the end."""
    opened = []

    def new():
        opened.append(browser.new_context(viewport={"width": 1280, "height": 900}))
        return opened[-1]

    yield new
    for context in opened:
        context.close()


def sign_in(contexts, live_server, email, violations):
    page = contexts().new_page()
    page.set_default_timeout(E2E_TIMEOUT_MS)
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_submit_then_the_reader_acknowledges_then_the_champion_closes(
    contexts, live_server, e2e_department
):
    department = e2e_department
    violations: list[str] = []

    # The radiologist submits, from the navigation bar, with inline validation on the way.
    page = sign_in(contexts, live_server, department.radiologist.email, violations)
    page.get_by_role("link", name="Submit a case").first.click()
    page.fill("input[name=accession_number]", "x")
    page.locator("textarea[name=description]").focus()
    expect(page.locator("#live-accession_number .errorlist")).to_contain_text(
        "does not look like an accession number"
    )
    page.fill("input[name=accession_number]", "e2e-1001")
    page.locator("textarea[name=description]").focus()
    page.wait_for_selector("#live-accession_number:not(:has(.errorlist))")
    page.check("input[name=reason][value=discrepancy]")
    page.check("input[name=reason_detail][value=perceptual]")
    page.fill("input[name=reader]", f"Quinn Reader <{department.reader.email}>")
    page.fill("textarea[name=description]", "Small left frontal subdural collection.")
    page.fill("textarea[name=learning_point]", "Check the vertex.")
    page.check("input[name=required_actions][value=addendum]")
    assert page.locator("#live-action_other").is_hidden()
    page.check("input[name=urgency][value=urgent]")
    page.check("input[name=attestation]")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url("**/submissions/mine/*/")
    expect(page.locator(".messages")).to_contain_text("without your name")
    submission = Submission.objects.get(accession_number="E2E-1001")
    assert submission.status == Submission.Status.FEEDBACK_SENT

    # The reader responds (htmx) and records the addendum.
    reader = sign_in(contexts, live_server, department.reader.email, violations)
    reader.get_by_role("link", name="Feedback for me").first.click()
    reader.locator("table a").first.click()
    expect(reader.locator("main")).to_contain_text("Small left frontal subdural collection.")
    body = reader.locator("main").inner_text()
    assert "Small left frontal subdural collection." in body
    assert "Rowan" not in body and department.radiologist.email not in body
    reader.check("input[name=response][value=agree]")
    reader.get_by_role("button", name="Send response").click()
    reader.wait_for_selector("#response-card .notice-success")
    reader.fill("input[name=note]", "Addendum issued")
    reader.get_by_role("button", name="Record as done").click()
    reader.wait_for_selector("text=Recorded: Addendum or corrected report, done.")

    # The champion sees it acknowledged with the action done, and closes it.
    champion = sign_in(contexts, live_server, department.champion.email, violations)
    champion.get_by_role("link", name="Queue").first.click()
    champion.locator("#queue-results table a").first.click()
    expect(champion.locator("main")).to_contain_text("Agrees")
    champion.on("dialog", lambda dialog: dialog.accept())
    champion.get_by_role("button", name="Close submission").click()
    champion.wait_for_selector("text=Submission closed.")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.CLOSED
    assert submission.actions.get().done_note == "Addendum issued"

    assert violations == []


def test_the_queue_filters_without_reloading_the_page(contexts, live_server, e2e_department):
    from submissions.services import submission_create

    for n, reason in enumerate(["discrepancy", "great_catch"]):
        submission_create(
            submitter=e2e_department.radiologist,
            section=e2e_department.neuro,
            accession_number=f"FLT-{n}",
            reason=reason,
            reason_detail="perceptual" if reason == "discrepancy" else "",
            description="Finding.",
            attested=True,
        )
    violations: list[str] = []
    page = sign_in(contexts, live_server, e2e_department.champion.email, violations)
    page.goto(f"{live_server.url}/submissions/queue/")

    page.select_option("select[name=reason]", "great_catch")
    # expect() polls from Playwright's side: a string for wait_for_function would need eval,
    # which the Content-Security-Policy rightly refuses.
    expect(page.locator("#queue-results")).not_to_contain_text("FLT-0")

    assert "FLT-1" in page.locator("#queue-results").inner_text()
    page.wait_for_url("**reason=great_catch**")  # htmx pushes the URL after the swap
    assert violations == []

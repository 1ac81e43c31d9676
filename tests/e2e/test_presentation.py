"""A champion builds a five-case agenda from uploaded DICOM and presents it; the room votes.

The DICOM carries a made-up patient's identifiers in every kind of place (the anonymizer's
test factory); the submissions name the reader and the submitter in their text. None of
them may reach the screen.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from anonymizer.tests.factories import IDENTITY
from conferences.meetings.services import conference_create
from conferences.models import VoteCount, VoteReceipt
from conferences.tests.teaching import agenda_of, candidate, dicom_upload, ready_case
from peerlearning.testing import PASSWORD
from submissions.models import Reason

pytestmark = pytest.mark.e2e


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def csp_watch(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return violations


def planted(dept) -> list[str]:
    people = [dept.reader, dept.radiologist]
    return [
        *IDENTITY.planted(),
        *(p.first_name for p in people),
        *(p.last_name for p in people),
    ]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_champion_builds_a_five_case_agenda_from_dicom_and_presents_it_with_a_vote(
    page, browser, live_server, e2e_department, media
):
    dept = e2e_department
    start = timezone.now() - datetime.timedelta(minutes=5)
    conference = conference_create(
        section=dept.neuro,
        title="Neuro peer learning",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        location="Reading room 2",
        actor=dept.champion,
    )
    source = candidate(
        dept.neuro,
        dept.radiologist,
        reader=dept.reader,
        description=(
            f"Missed left subdural on the first CT (read by Dr Quinn Reader) in "
            f"{IDENTITY.given} {IDENTITY.family}, MRN {IDENTITY.patient_id}."
        ),
    )
    # Four cases made beforehand (also from uploaded DICOM), one made now in the browser.
    others = [
        ready_case(dept.neuro, dept.champion, title=f"Case {n}: after a fall", images=1)
        for n in range(2, 6)
    ]
    agenda_of(conference, others, dept.champion)
    # The browser and this thread share one SQLite database: no ORM calls while it works.
    violations = csp_watch(page)
    sign_in(page, live_server, dept.champion.email)

    # Make a case from the conference candidate: the names in its text become markers.
    page.goto(f"{live_server.url}/conferences/cases/new/")
    page.get_by_label("Title").fill("Headache after a fall")
    page.get_by_label(re.compile(rf"#{source.pk} ")).check()
    page.get_by_role("button", name="Create the case").click()
    expect(page.get_by_role("heading", name="Edit the case")).to_be_visible()
    findings = page.get_by_label("Findings").input_value()
    assert "[NAME]" in findings and "Reader" not in findings and IDENTITY.patient_id not in findings
    case_url = page.url.removesuffix("edit/")

    # Upload two DICOM files; they are de-identified by the task, then listed.
    page.goto(f"{case_url}images/")
    page.set_input_files(
        "input[type=file]",
        [
            {"name": f.name, "mimeType": "application/dicom", "buffer": f.read()}
            for f in dicom_upload(2, size=64)
        ],
    )
    page.get_by_role("button", name="Upload and de-identify").click()
    # The patient's name, known now from the headers, is replaced in the text too.
    expect(page.get_by_text("2 images added")).to_be_visible()
    expect(page.get_by_text("from the new images replaced")).to_be_visible()
    image = page.locator(".image-card").first
    image.get_by_label("Window").select_option("ct_subdural")
    image.get_by_role("button", name="Add as key image").click()
    expect(page.get_by_text("Key image added")).to_be_visible()

    # The question, then the check passes.
    page.goto(f"{case_url}edit/")
    assert IDENTITY.family not in page.get_by_label("Findings").input_value()
    page.get_by_label("Clinical history").fill("Elderly patient, fall at home, on warfarin.")
    page.get_by_label("Discussion question").fill("What is the finding?")
    page.get_by_label("Answer options").fill("* Subdural hematoma\nEpidural hematoma\nNormal")
    page.get_by_label("Answer", exact=True).fill("A thin left subdural hematoma.")
    page.get_by_role("button", name="Save and check").click()
    expect(page.get_by_text("Saved. Checked by rules: nothing flagged.")).to_be_visible()

    # The agenda: add the fifth case, move it with the buttons, see the total.
    page.goto(f"{live_server.url}/conferences/{conference.pk}/agenda/")
    page.get_by_role("button", name="Add “Headache after a fall”").click()
    items = page.locator("[data-agenda-item]")
    expect(items).to_have_count(5)
    expect(page.locator("#agenda-total")).to_contain_text("50 of 60 minutes")
    page.get_by_role("button", name="Move “Headache after a fall” up").click()
    expect(items.nth(3)).to_contain_text("Headache after a fall")
    for place in (2, 1, 0):  # each move is saved and swapped in before the next click
        page.get_by_role("button", name="Move “Headache after a fall” up").click()
        expect(items.nth(place)).to_contain_text("Headache after a fall")
    # Drag and drop: the last case onto the second place, saved by htmx.
    last_title = items.nth(4).locator("a").first.inner_text()
    items.nth(4).drag_to(items.nth(1), target_position={"x": 20, "y": 5})
    expect(items.nth(1)).to_contain_text(last_title)
    # The browser reorders at once; wait for htmx's save to finish before reloading.
    page.wait_for_load_state("networkidle")
    page.reload()
    expect(items.nth(1)).to_contain_text(last_title)
    page.locator("#minutes-" + items.nth(0).get_attribute("id").split("-")[-1]).fill("15")
    page.locator("#minutes-" + items.nth(0).get_attribute("id").split("-")[-1]).press("Tab")
    expect(page.locator("#agenda-total")).to_contain_text("55 of 60 minutes")

    # Present: the title slide carries the check-in code.
    page.get_by_role("link", name="Present").click()
    deck = page.locator("[data-deck]")
    expect(deck).to_have_class(re.compile("js-deck"))  # the script is ready for keys
    expect(page.locator("#slide-0")).to_be_visible()
    expect(page.locator("#slide-0")).to_contain_text(conference.check_in_code)
    page.keyboard.press("ArrowRight")
    first = page.locator("#case-1")
    expect(first).to_be_visible()
    expect(page.locator("#slide-0")).to_be_hidden()
    expect(first.locator(".slide-question")).to_be_visible()
    expect(first.locator(".slide-answer")).to_be_hidden()

    # Full screen and back.
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement !== null")
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement === null")

    # Click to zoom, + to zoom in, Esc to close.
    first.locator("img[data-zoomable]").first.click()
    expect(page.locator(".zoom-overlay")).to_be_visible()
    page.keyboard.press("+")
    assert "scale(1.5)" in page.locator(".zoom-overlay img").get_attribute("style")
    page.keyboard.press("Escape")
    expect(page.locator(".zoom-overlay")).to_have_count(0)

    # Open the vote; a trainee checks in on a phone and answers.
    first.get_by_role("button", name="Open the vote").click()
    expect(first.get_by_text("Voting is open")).to_be_visible()
    phone = browser.new_context(viewport={"width": 390, "height": 800})
    attendee = phone.new_page()
    attendee.set_default_timeout(10_000)
    sign_in(attendee, live_server, dept.trainee.email)
    attendee.goto(f"{live_server.url}/conferences/check-in/?code={conference.check_in_code}")
    attendee.get_by_role("button", name="Check in").click()
    expect(attendee.get_by_text("What is the finding?")).to_be_visible()
    attendee.get_by_role("button", name="Epidural hematoma").click()
    expect(attendee.get_by_text("your answer is in")).to_be_visible()
    attendee_html = attendee.content()
    phone.close()

    # The presenter sees the count (polled), then the tally once the vote is closed.
    expect(first.locator("[data-vote-count]")).to_have_text("1", timeout=6000)
    expect(first.locator("[data-tally]")).to_have_count(0)
    first.get_by_role("button", name="Close the vote").click()
    expect(first.locator("[data-count=B]")).to_have_text("1")
    expect(first.locator("[data-count=A]")).to_have_text("0")

    # Space reveals the answer; the next press moves on.
    page.keyboard.press("Space")
    expect(first.locator(".slide-answer")).to_be_visible()
    expect(first.locator(".slide-answer")).to_contain_text("A thin left subdural hematoma.")
    expect(first.locator(".slide-options li.correct")).to_contain_text("Subdural hematoma")
    page.keyboard.press("Space")
    expect(page.locator("#case-2")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(first).to_be_visible()
    page.keyboard.press("End")
    expect(page.locator("#slide-end")).to_be_visible()

    # Nothing identifying anywhere in what the room saw.
    shown = deck.inner_html() + attendee_html
    leaks = [value for value in planted(dept) if value.lower() in shown.lower()]
    assert leaks == []
    assert violations == []
    page.close()
    # One receipt (no person in it) and one count: nothing says who chose B.
    assert VoteReceipt.objects.count() == 1
    assert list(VoteCount.objects.filter(count=1).values_list("choice", flat=True)) == [1]


def test_a_great_catch_credits_the_people_who_agreed(page, live_server, e2e_department, media):
    dept = e2e_department
    start = timezone.now() + datetime.timedelta(days=1)
    conference = conference_create(
        section=dept.neuro,
        title="Great catches",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        location="Reading room 2",
        actor=dept.champion,
    )
    source = candidate(dept.neuro, dept.radiologist, reader=dept.reader, reason=Reason.GREAT_CATCH)
    case = ready_case(dept.neuro, dept.champion, sources=[source], images=0)
    agenda_of(conference, [case], dept.champion)

    # The submitter agrees on their own page.
    sign_in(page, live_server, dept.radiologist.email)
    page.goto(f"{live_server.url}/conferences/credits/")
    page.get_by_role("button", name="Yes, name me").click()
    expect(page.get_by_text("You will be named on its slides.")).to_be_visible()
    page.context.clear_cookies()

    sign_in(page, live_server, dept.champion.email)
    page.goto(f"{live_server.url}/conferences/{conference.pk}/present/")
    expect(page.locator("[data-deck]")).to_have_class(re.compile("js-deck"))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("r")
    credits = page.locator("#case-1 .slide-credits")
    expect(credits).to_contain_text("submitted by Rowan Submitter")
    # The reader was not asked, so is not named.
    assert "Quinn" not in page.locator("[data-deck]").inner_html()

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conferences.meetings.services import conference_create
from conferences.models import Attendance
from peerlearning.testing import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_the_assistant_ticks_two_names_and_sees_the_attendance_count(
    page, live_server, e2e_department
):
    dept = e2e_department
    start = timezone.now() - datetime.timedelta(hours=2)
    conference = conference_create(
        section=dept.neuro,
        title="Stroke mimics",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        location="Neuro reading room",
        actor=dept.champion,
    )
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, live_server, dept.assistant.email)

    page.get_by_role("link", name="Conferences").first.click()
    page.get_by_role("link", name="Stroke mimics").click()
    page.get_by_role("link", name="Attendance", exact=True).click()
    count = page.locator("#attendance-count [data-count=attending]")
    assert count.inner_text() == "0"

    page.get_by_label("Reader, Quinn").check()
    expect(count).to_have_text("1")  # swapped in by htmx, no page load
    page.get_by_label("Submitter, Rowan").check()
    expect(count).to_have_text("2")

    expect(page.locator(f"#roster-{dept.reader.pk}").get_by_text("Credited")).to_be_visible()
    assert set(
        Attendance.objects.filter(conference=conference).values_list("user__email", flat=True)
    ) == {dept.reader.email, dept.radiologist.email}
    # Reloading shows what was saved.
    page.reload()
    assert page.locator("#attendance-count [data-count=attending]").inner_text() == "2"
    assert violations == []

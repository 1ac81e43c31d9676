import pytest

from peerlearning.lib import queue
from reporting.reports.jobs import report_run
from reporting.reports.models import GeneratedReport
from tests.e2e.test_signin import sign_in

pytestmark = pytest.mark.e2e


def test_a_leader_generates_the_annual_report_watches_it_and_downloads_it(
    page, live_server, e2e_department, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    # No worker picks the job up by itself: the test plays the worker, so the page is seen
    # waiting first and then, through its htmx polling, ready.
    monkeypatch.setattr(queue, "_send", lambda name, args: None)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    sign_in(page, live_server, e2e_department.leader.email)
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="Program dashboard").click()
    page.wait_for_url("**/reporting/")
    assert page.get_by_role("img", name="Cases submitted per month").first.is_visible()

    page.get_by_role("link", name="ACR annual report and OPPE").first.click()
    page.wait_for_url("**/reporting/reports/")
    acr = page.locator("form[action$='/reports/acr/']")
    acr.get_by_label("Format").select_option("pdf")
    acr.get_by_role("button", name="Generate").click()
    page.wait_for_url("**/reporting/reports/**")

    row = page.locator("#generated-reports tbody tr").first
    assert row.get_by_text("Waiting for a worker").is_visible()
    report = GeneratedReport.objects.get()
    assert report_run(report_id=report.pk)

    row.get_by_role("link", name="Download").wait_for()  # the next poll swaps the row in
    assert row.get_by_text("Ready").is_visible()
    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    path = download.value.path()
    assert download.value.suggested_filename.startswith("acr-annual-report-neuroradiology-")
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert violations == []

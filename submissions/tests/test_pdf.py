"""The feedback PDF: its content, its metadata, and a renderer that fetches nothing outside."""

import http.server
import threading

import pytest
from django.test import override_settings
from django.urls import reverse

from peerlearning.lib.pdf import BASE_URL, FetchRefused, html_to_pdf, static_only_fetcher
from peerlearning.models import AuditEvent
from submissions.pdf import feedback_html
from submissions.tests.pdftext import pdf_bytes_everywhere, pdf_text

pytestmark = pytest.mark.django_db


class CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        CountingHandler.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_rendering_fetches_nothing_from_loopback_the_network_or_files(loopback_server, tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: blue }")
    html = f"""<!doctype html><html><head>
      <link rel="stylesheet" href="{loopback_server}/linked.css">
      <link rel="stylesheet" href="file://{secret}">
      <style>@import url("{loopback_server}/imported.css");
             body {{ background: url("{loopback_server}/background.png") }}</style>
      </head><body>
      <img src="{loopback_server}/image.png">
      <img src="http://localhost:{loopback_server.rsplit(":", 1)[1]}/by-name.png">
      <img src="file:///etc/hostname">
      <img src="https://example.org/outside.png">
      <img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">
      <iframe src="{loopback_server}/frame"></iframe>
      <object data="{loopback_server}/object"></object>
      <p>Still rendered.</p></body></html>"""

    pdf = html_to_pdf(html)

    assert pdf.startswith(b"%PDF")
    assert "Still rendered." in pdf_text(pdf)
    assert CountingHandler.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/static/css/app.css",
        "https://example.org/static/css/app.css",
        "file:///etc/passwd",
        f"{BASE_URL}media/secret.pdf",
        f"{BASE_URL}static/../peerlearning/settings.py",
        f"{BASE_URL}static/%2e%2e/peerlearning/settings.py",
        f"{BASE_URL}static/no-such-file.css",
        "http://pdf.invalid/static/css/app.css",
        "data:text/css,body{}",
    ],
)
def test_the_fetcher_refuses_everything_but_our_static_files(url):
    with pytest.raises(FetchRefused):
        static_only_fetcher().fetch(url)


def test_the_fetcher_serves_our_own_static_files():
    response = static_only_fetcher().fetch(f"{BASE_URL}static/img/favicon.svg")

    assert response.content_type == "image/svg+xml"
    assert b"<svg" in response.read()


@override_settings(STATIC_URL="/assets/")
def test_the_fetcher_follows_the_static_url_setting():
    assert static_only_fetcher().fetch(f"{BASE_URL}assets/img/favicon.svg").read()
    with pytest.raises(FetchRefused):
        static_only_fetcher().fetch(f"{BASE_URL}static/img/favicon.svg")


def test_the_pdf_holds_the_feedback_and_never_the_submitter(submit, department):
    submission = submit(signed=True)  # even a signed submission: the PDF may be forwarded

    pdf = html_to_pdf(feedback_html(submission=submission))
    text = pdf_text(pdf)
    everything = pdf_bytes_everywhere(pdf)

    assert "A learning opportunity" in text
    assert "Small left frontal subdural collection not mentioned." in text
    assert "A1000001" in text
    for secret in ("Rowan", "Submitter", department.radiologist.email):
        assert secret not in text
        assert secret.encode() not in everything
        assert secret.encode("utf-16-be") not in everything
    assert b"A learning opportunity" in everything  # the title, in the metadata
    assert b"/Author" not in everything


def test_the_text_check_would_see_a_name_if_one_were_there(submit):
    """A control for the test above: the extraction does find names in the PDF."""
    submission = submit(learning_point="Ask Rowan Submitter about the vertex.")

    assert "Rowan Submitter" in pdf_text(html_to_pdf(feedback_html(submission=submission)))


def test_the_attached_pdf_leaves_the_accession_out_unless_e_mails_may_carry_it(submit):
    submission = submit()

    html = feedback_html(submission=submission, include_accession=False)

    assert "A1000001" not in html


def test_the_reader_downloads_the_pdf_and_the_download_is_audited(client, submit, department):
    submission = submit()
    client.force_login(department.reader)

    response = client.get(reverse("submissions:feedback-pdf", args=[submission.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert "Rowan" not in pdf_text(response.content)
    event = AuditEvent.objects.get(action=AuditEvent.Action.DOWNLOAD)
    assert (event.actor_id, event.object_id) == (department.reader.pk, str(submission.pk))


def test_the_submitter_and_other_people_cannot_download_the_pdf(client, submit, department):
    submission = submit()
    url = reverse("submissions:feedback-pdf", args=[submission.pk])

    for person in (department.radiologist, department.trainee, department.body_champion):
        client.force_login(person)
        assert client.get(url).status_code == 404, person
    client.force_login(department.champion)
    assert client.get(url).status_code == 200

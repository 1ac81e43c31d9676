"""Every PDF renderer fetches nothing but the app's own static files.

Renderers: the feedback PDF (submissions/pdf.py) and the CME certificate and yearly summary
(conferences/pdf.py). A real HTTP server on 127.0.0.1 counts what it is asked for; case text
and conference fields carry external, loopback and file:// URLs, in the fields people type
and in raw HTML handed to each renderer's `html_to_pdf`.
"""

import importlib
import inspect

import pytest
from django.utils import timezone

from conferences.attendance.services import attendance_mark
from conferences.meetings import cme as conference_pdf
from submissions import pdf as submission_pdf
from submissions.tests.pdftext import pdf_bytes_everywhere, pdf_text
from tests.security.conftest import CountingHandler, case_for, held_conference

pytestmark = pytest.mark.django_db

# Every module with a renderer of its own: the apps render through the shared
# peerlearning/lib/pdf.py.
MODULES = ["peerlearning.lib.pdf"]


def pdf_modules() -> dict:
    found = {}
    for name in MODULES:
        try:
            found[name] = importlib.import_module(name)
        except ImportError:
            continue
    return found


RENDERERS = pdf_modules()


def fetcher_of(module, **kwargs):
    """The module's WeasyPrint URL fetcher, whichever way the module builds it."""
    if hasattr(module, "static_only_fetcher"):
        return module.static_only_fetcher(**kwargs)
    if hasattr(module, "StaticOnlyFetcher"):
        return module.StaticOnlyFetcher(**kwargs)
    return module._fetcher_class()(**kwargs)


def takes_files(module) -> bool:
    return "files" in inspect.signature(module.html_to_pdf).parameters


PASSWD_LINE = "root:x:0:0"


def hostile_html(server: str) -> str:
    port = server.rsplit(":", 1)[1]
    return f"""<!doctype html><html><head>
      <link rel="stylesheet" href="{server}/linked.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      <style>
        @import url("{server}/imported.css");
        @font-face {{ font-family: x; src: url("{server}/font.woff2"); }}
        body {{ background: url("{server}/background.png"); }}
        p::after {{ content: url("file:///etc/passwd"); }}
      </style>
      <base href="{server}/">
      </head><body>
      <img src="{server}/image.png">
      <img src="relative-after-base.png">
      <img src="http://localhost:{port}/by-name.png">
      <img src="http://[::1]:{port}/v6.png">
      <img src="http://2130706433:{port}/decimal-ip.png">
      <img src="file:///etc/passwd">
      <img src="https://example.org/outside.png">
      <img src="http://169.254.169.254/latest/meta-data/">
      <object data="{server}/object"></object>
      <embed src="{server}/embed">
      <iframe src="{server}/frame"></iframe>
      <svg><image href="{server}/svg-image.png"/></svg>
      <a href="{server}/link">a link is not fetched either</a>
      <p>Still rendered.</p></body></html>"""


@pytest.mark.parametrize("renderer", RENDERERS)
def test_raw_html_with_every_kind_of_url_fetches_nothing(loopback_server, renderer):
    pdf = RENDERERS[renderer].html_to_pdf(hostile_html(loopback_server))

    assert pdf.startswith(b"%PDF")
    assert "Still rendered." in pdf_text(pdf)
    assert CountingHandler.hits == []
    assert PASSWD_LINE.encode() not in pdf_bytes_everywhere(pdf)


@pytest.mark.parametrize(
    "url",
    [
        "https://pdf.invalid/static//etc/passwd",
        "https://pdf.invalid/static/%2e%2e/%2e%2e/etc/passwd",
        "https://pdf.invalid/static/..%2f..%2fpeerlearning/settings.py",
        "https://pdf.invalid/static/css/../../peerlearning/settings.py",
        "https://pdf.invalid@127.0.0.1/static/css/app.css",
        "https://127.0.0.1/static/css/app.css",
        "HTTPS://PDF.INVALID.example.org/static/css/app.css",
        "file://pdf.invalid/static/css/app.css",
        "ftp://pdf.invalid/static/css/app.css",
    ],
)
@pytest.mark.parametrize("renderer", RENDERERS)
def test_the_fetchers_refuse_traversal_and_look_alike_hosts(renderer, url):
    fetcher = fetcher_of(RENDERERS[renderer])
    # Each fetcher has its own error type; any error means "refused", and WeasyPrint then
    # leaves the resource out.
    with pytest.raises(Exception):  # noqa: B017
        fetcher.fetch(url)


@pytest.mark.parametrize("renderer", [n for n, m in RENDERERS.items() if takes_files(m)])
def test_a_deck_fetcher_serves_only_the_stored_files_it_was_given(renderer, settings, tmp_path):
    """Decks name their key images one by one; nothing else in storage is reachable."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    settings.MEDIA_ROOT = str(tmp_path)
    default_storage.save("cases/1/key.png", ContentFile(b"\x89PNG key image"))
    default_storage.save("cases/2/secret.png", ContentFile(b"\x89PNG not in this deck"))
    fetcher = fetcher_of(RENDERERS[renderer], files={"/deck/1/key.png": "cases/1/key.png"})

    assert fetcher.fetch("https://pdf.invalid/deck/1/key.png").read() == b"\x89PNG key image"
    for url in (
        "https://pdf.invalid/deck/2/secret.png",
        "https://pdf.invalid/deck/1/key.png?../../2/secret.png",
        "https://pdf.invalid/deck/1/../../cases/2/secret.png",
        "https://pdf.invalid/media/cases/2/secret.png",
        "https://pdf.invalid/cases/2/secret.png",
        "http://pdf.invalid/deck/1/key.png",
        "https://example.org/deck/1/key.png",
    ):
        with pytest.raises(Exception):  # noqa: B017
            fetcher.fetch(url)


def urls_in_text(server: str) -> str:
    return (
        f'<img src="{server}/typed.png"> url({server}/typed.css) '
        f"<link rel=stylesheet href={server}/typed-link.css> file:///etc/passwd "
        f'<iframe src="file:///etc/passwd"></iframe> https://example.org/x.png'
    )


def test_the_feedback_pdf_of_case_text_full_of_urls_fetches_nothing(loopback_server, department):
    text = urls_in_text(loopback_server)
    case = case_for(
        department.radiologist,
        department.neuro,
        department.reader,
        "PDFURL0001",
        description=text,
        learning_point=text,
    )

    pdf = submission_pdf.feedback_pdf(submission=case)

    assert CountingHandler.hits == []
    assert "typed.png" in pdf_text(pdf)  # the text is printed, as text
    assert PASSWD_LINE.encode() not in pdf_bytes_everywhere(pdf)


def test_the_cme_certificate_and_summary_of_hostile_fields_fetch_nothing(
    loopback_server, department
):
    text = urls_in_text(loopback_server)
    conference = held_conference(department.neuro, title=text[:200], location=text[:200])
    reader = department.reader
    reader.first_name = text[:150]
    reader.save(update_fields=["first_name"])
    attendance_mark(conference=conference, user=reader, present=True, minutes=None, actor=None)
    attendance = conference.attendance.get(user=reader)
    year = timezone.localtime(conference.starts_at).year

    certificate = conference_pdf.cme_certificate_pdf(attendance=attendance)
    summary = conference_pdf.cme_summary_pdf(user=reader, year=year, attendance=[attendance])

    assert CountingHandler.hits == []
    for pdf in (certificate, summary):
        assert pdf.startswith(b"%PDF")
        assert PASSWD_LINE.encode() not in pdf_bytes_everywhere(pdf)
    assert "typed.png" in pdf_text(certificate)


def test_the_counting_server_does_count(loopback_server):
    """The control: a request that does reach the server is seen."""
    import urllib.request

    urllib.request.urlopen(f"{loopback_server}/seen", timeout=5).read()  # noqa: S310

    assert CountingHandler.hits == ["/seen"]

"""HTML to PDF with WeasyPrint, fetching nothing but the application's own static files.

A PDF template is rendered from data people typed. Whatever ends up in it, WeasyPrint must
not reach out: no http(s) to the outside or to loopback services, no file:// reads, no data
from anywhere else. The fetcher below answers only for URLs under our own static prefix,
reading those files from disk, and refuses everything else (WeasyPrint then leaves the
resource out and carries on).
"""

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The base URL documents are rendered against. `.invalid` never resolves (RFC 2606), so even a
# fetcher bug could not turn it into a request.
BASE_URL = "https://pdf.invalid/"


class FetchRefused(ValueError):
    pass


def static_file_for(url: str) -> Path | None:
    """The file on disk for one of our own static URLs, or None for anything else."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != BASE_URL:
        return None
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if not parts.path.startswith(prefix):
        return None
    name = unquote(parts.path[len(prefix) :])
    if not name or ".." in Path(name).parts or name.startswith("/"):
        return None
    found = None
    try:
        if staticfiles_storage.exists(name):
            found = staticfiles_storage.path(name)
    except NotImplementedError:  # a remote storage: fall back to the finders
        found = None
    found = found or finders.find(name)
    return Path(found) if found else None


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint's fetcher, closed to everything but the app's static files."""

    def __init__(self):
        super().__init__(allowed_protocols=("https",), allow_redirects=False, timeout=1)

    def fetch(self, url, headers=None):
        path = static_file_for(url)
        if path is None:
            raise FetchRefused("PDF rendering fetches only the application's static files")
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mimetype})


def html_to_pdf(html: str) -> bytes:
    """Render a self-contained HTML document (styles inline, images from static) to PDF."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf()


# The feedback document ----------------------------------------------------------------------


def feedback_html(*, submission, include_accession: bool = True) -> str:
    """The feedback as the reader sees it, as one HTML document. Never names the submitter."""
    from django.template.loader import render_to_string
    from django.utils import timezone

    return render_to_string(
        "submissions/pdf/feedback.html",
        {
            "submission": submission,
            "actions": list(submission.actions.all()),
            "include_accession": include_accession,
            "site_name": settings.SITE_NAME,
            "generated_at": timezone.now(),
        },
    )


def feedback_pdf(*, submission, include_accession: bool = True) -> bytes:
    return html_to_pdf(feedback_html(submission=submission, include_accession=include_accession))

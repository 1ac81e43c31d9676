"""HTML to PDF with WeasyPrint, fetching nothing but the application's own files.

A PDF template is rendered from data people typed. Whatever ends up in it, WeasyPrint must
not reach out: no http(s) to the outside or to loopback services, no file:// reads, no data:
URLs. The fetcher answers only for

- URLs under our own static prefix, read from disk through the static-files storage or the
  finders, and
- stored files the caller names one by one (`files={"/deck/7/key.png": "cases/7/key.png"}`,
  URL path to a name in the default storage), e.g. the key images of a conference deck,

and refuses everything else (WeasyPrint then leaves the resource out and carries on).
Documents are rendered against `https://pdf.invalid/`: `.invalid` never resolves
(RFC 2606), so even a fetcher bug could not turn a relative URL into a request.

Shared by the apps (submissions' feedback PDF, conferences' certificates and decks,
reporting's reports); WeasyPrint is imported lazily so importing this module stays cheap.
"""

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string

BASE_URL = "https://pdf.invalid/"


class FetchRefused(ValueError):
    pass


def static_file_for(url: str) -> Path | None:
    """The file on disk for one of our own static URLs, or None for anything else."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or parts.query:
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


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """WeasyPrint's fetcher, closed to everything but static files and named stored files."""

        def __init__(self, files: dict[str, str] | None = None):
            super().__init__(allowed_protocols=("https",), allow_redirects=False, timeout=1)
            self.files = dict(files or {})

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if (
                f"{parts.scheme}://{parts.netloc}/" == BASE_URL
                and not parts.query
                and parts.path in self.files
            ):
                from django.core.files.storage import default_storage

                name = self.files[parts.path]
                with default_storage.open(name, "rb") as handle:
                    body = handle.read()
                mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, body, {"Content-Type": mimetype})
            path = static_file_for(url)
            if path is None:
                raise FetchRefused("PDF rendering fetches only the application's own files")
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mimetype})

    return StaticOnlyFetcher


def static_only_fetcher(files: dict[str, str] | None = None):
    return _fetcher_class()(files=files)


def html_to_pdf(html: str, *, files: dict[str, str] | None = None) -> bytes:
    """Render a self-contained HTML document (styles inline, images from static) to PDF."""
    from weasyprint import HTML

    fetcher = static_only_fetcher(files)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()


def render_pdf(template: str, context: dict, *, files: dict[str, str] | None = None) -> bytes:
    """A template rendered with `site_name` in its context, as a PDF."""
    html = render_to_string(template, {"site_name": settings.SITE_NAME, **context})
    return html_to_pdf(html, files=files)

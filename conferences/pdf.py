"""CME certificates, yearly summaries and conference slide decks as PDF (WeasyPrint).

The renderer fetches nothing from the network, the loopback interface or the file system
at large: its URL fetcher serves only this project's own static files, looked up through
Django's static-file finders, and, for a deck, the key images of the cases in that deck
(named one by one), and refuses every other URL.
"""

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from conferences.models import Attendance
from peerlearning.models import User

# A made-up origin for relative URLs in the templates; only its /static/ paths resolve.
BASE_URL = "https://pdf.invalid/"


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def __init__(self, *args, files: dict[str, str] | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            # URL path -> storage name: the only stored files this renderer may read.
            self.files = files or {}

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            static = settings.STATIC_URL
            if parts.scheme != "https" or parts.netloc != "pdf.invalid":
                raise ValueError(f"PDF rendering fetches only static files, not {parts.scheme}:")
            if parts.path in self.files and not parts.query:
                from django.core.files.storage import default_storage

                with default_storage.open(self.files[parts.path], "rb") as handle:
                    body = handle.read()
                return URLFetcherResponse(url, body, {"Content-Type": "image/png"})
            if not parts.path.startswith(static) or ".." in parts.path:
                raise ValueError("PDF rendering fetches only static files.")
            found = finders.find(parts.path.removeprefix(static))
            if not found:
                raise ValueError("No such static file.")
            with open(found, "rb") as handle:
                body = handle.read()
            kind = "image/svg+xml" if found.endswith(".svg") else ""
            return URLFetcherResponse(url, body, {"Content-Type": kind} if kind else None)

    return StaticOnlyFetcher


def render_pdf(template: str, context: dict) -> bytes:
    return html_to_pdf(render_to_string(template, {"site_name": settings.SITE_NAME, **context}))


def html_to_pdf(html: str, *, files: dict[str, str] | None = None) -> bytes:
    from weasyprint import HTML

    fetcher = _fetcher_class()(files=files)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()


def cme_certificate_html(*, attendance: Attendance) -> str:
    conference = attendance.conference
    return render_to_string(
        "conferences/pdf/certificate.html",
        {
            "attendance": attendance,
            "conference": conference,
            "person": attendance.user,
            "issued_on": timezone.localdate(),
            "site_name": settings.SITE_NAME,
        },
    )


def cme_certificate_pdf(*, attendance: Attendance) -> bytes:
    """One conference's certificate: the attendee, the conference, its date and hours."""
    return html_to_pdf(cme_certificate_html(attendance=attendance))


def cme_summary_pdf(*, user: User, year: int, attendance: list[Attendance]) -> bytes:
    """Every credited conference of a year, with the total CME hours."""
    total = sum((a.conference.cme_hours for a in attendance), Decimal("0"))
    return render_pdf(
        "conferences/pdf/summary.html",
        {
            "person": user,
            "year": year,
            "attendance": attendance,
            "total_hours": total,
            "issued_on": timezone.localdate(),
            "period": (datetime.date(year, 1, 1), datetime.date(year, 12, 31)),
        },
    )

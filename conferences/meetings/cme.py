"""CME certificates and yearly summaries as PDF, through the shared renderer
(peerlearning/lib/pdf.py), which fetches nothing but the app's own files.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from conferences.attendance.models import Attendance
from peerlearning.lib.pdf import html_to_pdf, render_pdf
from peerlearning.models import User


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

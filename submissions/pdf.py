"""The feedback PDF: the reader's feedback page as a document, never naming the submitter.

Rendering goes through `peerlearning.lib.pdf`, whose fetcher reaches nothing but the
application's own static files.
"""

from django.conf import settings

from peerlearning.lib.pdf import html_to_pdf

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

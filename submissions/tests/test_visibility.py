"""The visibility table, row by row, on pages, API responses, e-mails and PDFs.

| who                     | sees                                                        |
| ----------------------- | ----------------------------------------------------------- |
| submitter               | own submissions, the reader's replies (anonymous)           |
| original reader         | feedback addressed to them, never the submitter unless signed |
| champion (same section) | everything in the section                                   |
| department leader       | aggregate counts only, no names of original readers         |
| anyone else             | nothing (404)                                               |

Pages a person's roles do not open answer 403 (tests/test_access_matrix.py); pages they open
answer 404 for objects that are not theirs to see (selectors.py).
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from peerlearning.models import OutboundEmail
from peerlearning.testing import api_key_for
from submissions.models import Reply
from submissions.pdf import feedback_html
from submissions.services import reply_post
from submissions.tests.pdftext import pdf_bytes_everywhere, pdf_text

pytestmark = pytest.mark.django_db

SUBMITTER_PAGES = ("submissions:mine-detail",)
READER_PAGES = ("submissions:feedback-detail", "submissions:feedback-pdf")
CHAMPION_PAGES = ("submissions:review",)
OBJECT_PAGES = SUBMITTER_PAGES + READER_PAGES + CHAMPION_PAGES


@pytest.fixture
def case(submit, department):
    submission = submit()
    reply_post(submission=submission, author=department.reader, body="Thanks, agreed.")
    reply_post(submission=submission, author=department.radiologist, body="Glad it helped.")
    return submission


def status_of(client, name, submission) -> int:
    return client.get(reverse(name, args=[submission.pk])).status_code


def api_detail(user, submission):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client.get(reverse("api:submission-detail", args=[submission.pk]))


# Row: the submitter ----------------------------------------------------------------------


def test_the_submitter_sees_their_submission_and_the_anonymous_replies(client, case, department):
    client.force_login(department.radiologist)

    page = client.get(reverse("submissions:mine-detail", args=[case.pk])).content.decode()

    assert "Thanks, agreed." in page
    assert "Original reader" in page
    for name in READER_PAGES:
        assert status_of(client, name, case) == 404, name
    assert status_of(client, "submissions:review", case) == 403  # not a champion at all
    assert api_detail(department.radiologist, case).json()["viewer"] == "submitter"


# Row: the original reader ------------------------------------------------------------------


def test_the_reader_never_meets_the_submitters_name_anywhere(client, case, department):
    submitter = department.radiologist
    secrets = [submitter.first_name, submitter.last_name, submitter.email]
    client.force_login(department.reader)

    surfaces = {
        "inbox": client.get(reverse("submissions:feedback-inbox")).content,
        "page": client.get(reverse("submissions:feedback-detail", args=[case.pk])).content,
        "api": api_detail(department.reader, case).content,
        "pdf html": feedback_html(submission=case).encode(),
    }
    pdf = client.get(reverse("submissions:feedback-pdf", args=[case.pk])).content
    surfaces["pdf text"] = pdf_text(pdf).encode()
    surfaces["pdf bytes"] = pdf_bytes_everywhere(pdf)
    for email in OutboundEmail.objects.filter(to=department.reader.email):
        surfaces[f"e-mail {email.key}"] = (
            f"{email.subject}{email.body_text}{email.body_html}".encode()
        )

    assert any(key.startswith("e-mail feedback") for key in surfaces)
    assert any(key.startswith("e-mail reply") for key in surfaces)
    for surface, content in surfaces.items():
        for secret in secrets:
            assert secret.encode() not in content, f"{secret} in the {surface}"
    assert b"Glad it helped." in surfaces["page"]
    assert status_of(client, "submissions:mine-detail", case) == 404
    assert status_of(client, "submissions:review", case) == 403


def test_the_reader_sees_the_name_only_when_the_submitter_signed(client, submit, department):
    signed = submit(signed=True)
    client.force_login(department.reader)

    page = client.get(reverse("submissions:feedback-detail", args=[signed.pk])).content.decode()

    assert department.radiologist.get_full_name() in page
    assert api_detail(department.reader, signed).json()["submitter"]["name"] == (
        department.radiologist.get_full_name()
    )
    # The PDF never names the submitter, signed or not.
    assert department.radiologist.last_name not in feedback_html(submission=signed)


# Row: champions ---------------------------------------------------------------------------------


def test_the_sections_champion_sees_everything(client, case, department):
    client.force_login(department.champion)

    page = client.get(reverse("submissions:review", args=[case.pk])).content.decode()

    assert department.radiologist.get_full_name() in page
    assert department.reader.get_full_name() in page
    assert "Thanks, agreed." in page and "Glad it helped." in page
    assert status_of(client, "submissions:feedback-pdf", case) == 200
    assert api_detail(department.champion, case).json()["submitter"] is not None


def test_a_champion_of_another_section_sees_nothing(client, case, department):
    client.force_login(department.body_champion)

    for name in OBJECT_PAGES:
        assert status_of(client, name, case) == 404, name
    assert api_detail(department.body_champion, case).status_code == 404


# Row: department leaders ------------------------------------------------------------------------


def test_the_leader_sees_counts_and_no_names(client, case, department):
    client.force_login(department.leader)

    summary = client.get(reverse("submissions:summary")).content.decode()

    assert ">1<" in summary
    for name in (department.reader, department.radiologist):
        assert name.last_name not in summary and name.email not in summary
    assert "A1000001" not in summary
    for name in OBJECT_PAGES:
        assert status_of(client, name, case) in (403, 404), name
    assert api_detail(department.leader, case).status_code == 404


# Row: anyone else --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["trainee", "assistant", "quality", "outsider", "site_admin"])
def test_anyone_else_gets_404(client, case, department, persona):
    user = getattr(department, persona)
    client.force_login(user)

    for name in OBJECT_PAGES:
        assert status_of(client, name, case) in (403, 404), name
    for name in READER_PAGES:  # open to every signed-in person, so the object says no
        assert status_of(client, name, case) == 404, name
    assert api_detail(user, case).status_code == 404
    assert Reply.objects.filter(author=user).count() == 0

"""A champion sees whether the feedback e-mail reached the mail server (issue 8: SMTP down)."""

import pytest
from django.test import override_settings
from django.urls import reverse

from peerlearning.lib.emails import email_send_due
from peerlearning.models import OutboundEmail
from peerlearning.testing import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def champion_client(client, department):
    client.force_login(department.champion)
    return client


def _review(client, submission) -> str:
    return client.get(reverse("submissions:review", args=[submission.pk])).content.decode()


def test_the_champion_sees_a_pending_delivery_with_its_error_then_the_delivery(
    submit, champion_client, smtp_sink
):
    submission = submit()
    with override_settings(EMAIL_PORT=free_port()):  # nobody listens there: refused
        email_send_due()

    page = _review(champion_client, submission)
    assert 'data-delivery="pending"' in page
    assert "1 attempt so far" in page
    assert "ConnectionRefusedError" in page

    OutboundEmail.objects.filter(key=submission.reader_email_key).update(
        next_attempt_at="2000-01-01T00:00:00Z"
    )
    email_send_due()

    page = _review(champion_client, submission)
    assert 'data-delivery="sent"' in page
    assert 'data-delivery="pending"' not in page
    assert len(smtp_sink.messages) == 1


def test_a_held_feedback_shows_no_delivery_line(submit, champion_client, neuro_settings):
    neuro_settings(review_before_sending=True)
    submission = submit()

    assert "data-delivery" not in _review(champion_client, submission)

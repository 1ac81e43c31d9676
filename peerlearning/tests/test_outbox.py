import datetime
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from peerlearning.lib.emails import email_claim, email_deliver, email_enqueue, email_send_due
from peerlearning.models import OutboundEmail

pytestmark = pytest.mark.django_db


def owe(key="test:1", to="reader@example.org"):
    email, _ = email_enqueue(
        key=key, to=to, subject="Feedback waiting", body_text="Sign in to read it."
    )
    return email


def test_the_same_purpose_is_owed_only_once():
    first, created_first = email_enqueue(key="k", to="a@example.org", subject="s", body_text="b")
    second, created_second = email_enqueue(key="k", to="a@example.org", subject="s", body_text="b")
    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert OutboundEmail.objects.count() == 1


def test_an_owed_email_reaches_a_real_smtp_server(smtp_sink):
    email = owe()
    assert email_deliver(email.pk) is True
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.sent_at is not None
    assert [body.strip() for body in smtp_sink.bodies_to("reader@example.org")] == [
        "Sign in to read it."
    ]


def test_enqueueing_in_a_transaction_sends_after_commit(
    smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        owe()
        assert smtp_sink.messages == []
    assert len(smtp_sink.messages) == 1


def test_a_rolled_back_change_owes_no_email(smtp_sink, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        owe()
        raise RuntimeError("the change failed")
    assert OutboundEmail.objects.count() == 0
    assert smtp_sink.messages == []


def test_a_refused_message_is_retried_later_and_then_delivered(smtp_sink):
    smtp_sink.refuse_next(1)
    email = owe()
    assert email_deliver(email.pk) is False
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING
    assert "451" in email.last_error
    assert email.next_attempt_at > timezone.now()
    # Not due yet: the sweeper leaves it alone.
    assert email_send_due() == 0
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    assert email_send_due() == 1
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.attempts == 2
    assert len(smtp_sink.messages) == 1


def test_a_message_refused_too_often_is_marked_failed(smtp_sink, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    smtp_sink.refuse_next(5)
    email = owe()
    email_deliver(email.pk)
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    email_deliver(email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert email.attempts == 2


def test_the_sweeper_sends_what_the_broker_never_queued(smtp_sink):
    # Written without on_commit running, as when the broker was down at commit time.
    OutboundEmail.objects.create(key="orphan", to="x@example.org", subject="s", body_text="b")
    assert email_send_due() == 1
    assert len(smtp_sink.messages) == 1


def test_a_claimed_message_cannot_be_claimed_again():
    email = owe()
    assert email_claim(email.pk) is True
    assert email_claim(email.pk) is False


def test_a_claim_abandoned_by_a_dead_worker_expires_and_the_message_goes_out(smtp_sink):
    email = owe()
    assert email_claim(email.pk) is True  # the worker dies here
    assert email_send_due() == 0
    OutboundEmail.objects.filter(pk=email.pk).update(
        claimed_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert email_send_due() == 1
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_message_once(smtp_sink):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrent writers need PostgreSQL (SQLite's test database locks whole tables)"
        )
    for n in range(20):
        OutboundEmail.objects.create(
            key=f"race:{n}", to=f"p{n}@example.org", subject="s", body_text="b"
        )
    barrier = threading.Barrier(2)
    sent, errors = [], []

    def sender():
        barrier.wait()
        try:
            sent.append(email_send_due())
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(sent) == 20
    assert len(smtp_sink.messages) == 20
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == 20

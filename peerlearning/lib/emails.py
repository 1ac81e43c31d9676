"""The e-mail outbox: every message is a row first, then a delivery.

A message is written in the same transaction as the change that causes it, under a key
that names its purpose, so it is owed exactly once. Delivery claims the row with a
conditional update before talking to SMTP, so two workers never send it together. A worker
that dies after the SMTP server accepted a message but before recording it leaves the claim
to expire, and the message is sent again: zero lost, at most one duplicate.

A row that can never be sent as it stands (a header with a line break, an address that is
not one, an attachment that is gone) is marked failed with its error at the first attempt,
and the sweep goes on to the next; network and SMTP refusals are retried with back-off.
"""

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connections, router
from django.db.models import F, Q
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from peerlearning.lib.queue import task_enqueue
from peerlearning.lib.text import single_line
from peerlearning.models import OutboundEmail

logger = logging.getLogger(__name__)

CLAIM_LEASE = datetime.timedelta(minutes=5)
MAX_BACKOFF = datetime.timedelta(hours=6)
SUBJECT_LENGTH = OutboundEmail._meta.get_field("subject").max_length

# Raised by the row itself while the message is built (BadHeaderError is a ValueError, so
# are undecodable addresses; a missing attachment, a malformed attachment entry): sending
# the same row again fails the same way. FileNotFoundError is an OSError: it comes first.
PERMANENT_ERRORS = (ValueError, LookupError, TypeError, FileNotFoundError)


def render_email(template: str, context: dict) -> tuple[str, str]:
    """Text and (optional) HTML bodies from templates/emails/<template>.txt/.html."""
    context = {"site_url": settings.SITE_URL, "site_name": settings.SITE_NAME, **context}
    text = render_to_string(f"emails/{template}.txt", context)
    try:
        html = render_to_string(f"emails/{template}.html", context)
    except TemplateDoesNotExist:
        html = ""
    return text, html


def email_enqueue(
    *,
    key: str,
    to: str,
    subject: str,
    template: str | None = None,
    context: dict | None = None,
    body_text: str = "",
    body_html: str = "",
    attachments: list[dict] | None = None,
    due_at: datetime.datetime | None = None,
) -> tuple[OutboundEmail, bool]:
    """Owe one e-mail under `key`; returns (email, created). Call inside the causing transaction.

    `attachments` are `{"filename", "path", "mimetype"}` dicts naming files in default storage.
    `due_at`: not before then (the sweeper sends it on its first run after); default now.
    The subject is put on one line (a title typed with a line break cannot break a header).
    """
    if template:
        body_text, body_html = render_email(template, context or {})
    email = OutboundEmail(
        key=key,
        to=to,
        subject=single_line(subject, max_length=SUBJECT_LENGTH),
        body_text=body_text,
        body_html=body_html,
        attachments=attachments or [],
    )
    if due_at is not None:
        email.next_attempt_at = due_at
    created = _insert_unless_owed(email)
    if not created:
        return OutboundEmail.objects.get(key=key), False
    if due_at is None or due_at <= timezone.now():
        task_enqueue("peerlearning.tasks.deliver_email", email.pk)
    return email, True


def _insert_unless_owed(email: OutboundEmail) -> bool:
    """INSERT … ON CONFLICT (key) DO NOTHING: True when the row is new (and `email` saved).

    One statement instead of get_or_create's SELECT, SAVEPOINT, INSERT and RELEASE, and no
    IntegrityError when two transactions owe the same message at once.
    """
    connection = connections[router.db_for_write(OutboundEmail)]
    quote = connection.ops.quote_name
    meta = OutboundEmail._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    # Names from the model's meta, quoted; every value goes as a parameter.
    columns = ", ".join(quote(field.column) for field in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(meta.get_field('key').column)}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    params = [field.get_db_prep_save(field.pre_save(email, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    email.pk = row[0]
    email._state.adding, email._state.db = False, connection.alias
    return True


def _backoff(attempts: int) -> datetime.timedelta:
    return min(datetime.timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def email_claim(email_id: int) -> bool:
    """Take the right to send one e-mail now; False if it is not due or someone else has it."""
    now = timezone.now()
    return (
        OutboundEmail.objects.filter(
            pk=email_id, status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1)
        == 1
    )


def email_deliver(email_id: int) -> bool:
    """Send one owed e-mail if it is due and unclaimed; True when it went out now."""
    if not email_claim(email_id):
        return False
    email = OutboundEmail.objects.get(pk=email_id)
    try:
        _message(email).send()
    except PERMANENT_ERRORS as error:
        _record_failure(email, error, permanent=True)
        return False
    except Exception as error:
        # SMTP refusals and network errors (smtplib's are OSErrors), and anything unforeseen:
        # retried with back-off, and never the end of the sweep.
        _record_failure(email, error)
        return False
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundEmail.Status.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    return True


def _message(email: OutboundEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"X-PL-Message-Key": email.key},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for attachment in email.attachments:
        message.attach(
            attachment["filename"], _attachment_bytes(attachment), attachment["mimetype"]
        )
    return message


def _attachment_bytes(attachment: dict) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(attachment["path"], "rb") as handle:
        return handle.read()


def _record_failure(email: OutboundEmail, error: Exception, *, permanent: bool = False) -> None:
    give_up = permanent or email.attempts >= settings.EMAIL_MAX_ATTEMPTS
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundEmail.Status.FAILED if give_up else OutboundEmail.Status.PENDING,
        claimed_until=None,
        next_attempt_at=timezone.now() + _backoff(email.attempts),
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.warning(
        "E-mail %s failed (attempt %s%s): %s",
        email.pk,
        email.attempts,
        ", not retried" if permanent else "",
        type(error).__name__,
    )


def emails_due(limit: int = 200) -> list[int]:
    now = timezone.now()
    return list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def email_send_due(limit: int = 200) -> int:
    """The sweeper: send everything due. Returns how many went out."""
    return sum(email_deliver(email_id) for email_id in emails_due(limit))


def email_retry(*, email: OutboundEmail) -> None:
    """An administrator sends a failed e-mail again."""
    OutboundEmail.objects.filter(pk=email.pk, status=OutboundEmail.Status.FAILED).update(
        status=OutboundEmail.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    task_enqueue("peerlearning.tasks.deliver_email", email.pk)


def email_delivery(*, key: str) -> OutboundEmail | None:
    """The delivery state of the message owed under `key`, for the people who caused it
    (a champion sees whether the feedback reached the reader's mailbox)."""
    return (
        OutboundEmail.objects.filter(key=key)
        .only("status", "created_at", "next_attempt_at", "attempts", "sent_at", "last_error")
        .first()
    )

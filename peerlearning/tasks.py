"""Thin Celery wrappers around the outbox services."""

from celery import shared_task

from peerlearning.lib.emails import email_deliver, email_send_due


@shared_task(time_limit=120, soft_time_limit=100)
def deliver_email(email_id: int) -> bool:
    return email_deliver(email_id)


@shared_task(time_limit=600, soft_time_limit=540)
def send_due_emails() -> int:
    return email_send_due()

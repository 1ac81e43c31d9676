"""Thin Celery wrappers around the conference services."""

from celery import shared_task

from conferences.services import conference_reminders_enqueue


@shared_task(time_limit=600, soft_time_limit=540)
def send_conference_reminders() -> int:
    return conference_reminders_enqueue()

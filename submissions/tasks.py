"""Thin Celery wrappers around the submissions services."""

import datetime

from celery import shared_task
from django.conf import settings

from submissions.feeds.services import results_apply_pending, results_expire
from submissions.services import actions_escalate_overdue


@shared_task(time_limit=300, soft_time_limit=270)
def escalate_overdue_actions() -> int:
    """Every 15 minutes: alert champions about clinical actions past their window (once each)."""
    return actions_escalate_overdue()


@shared_task(time_limit=300, soft_time_limit=270)
def apply_pending_results() -> int:
    """Every 5 minutes: apply result messages stored but not applied (a crash, an error)."""
    return results_apply_pending(older_than=datetime.timedelta(minutes=1))


@shared_task(time_limit=600, soft_time_limit=570)
def expire_result_messages() -> int:
    """Nightly: raw result messages are PHI; they are kept RESULT_MESSAGES_KEEP_DAYS days."""
    return results_expire(days=settings.RESULT_MESSAGES_KEEP_DAYS)

"""Thin Celery wrappers around the submissions services."""

from celery import shared_task

from submissions.services import actions_escalate_overdue


@shared_task(time_limit=300, soft_time_limit=270)
def escalate_overdue_actions() -> int:
    """Every 15 minutes: alert champions about clinical actions past their window (once each)."""
    return actions_escalate_overdue()

"""Thin Celery wrappers around reporting's services."""

from celery import shared_task
from django.conf import settings

from reporting.oppe.evaluations import evaluation_reminders_send
from reporting.oppe.sources import credential_expiry_notices_send
from reporting.oppe.tat import tat_import_run
from reporting.reports.jobs import report_run, reports_requeue_waiting
from reporting.targets.reminders import month_summaries_send, reminders_dispatch_due

# OPPE data sources ------------------------------------------------------------------------


@shared_task
def import_tat_upload(import_id: int) -> bool:
    """A TAT file uploaded in the admin: a million rows take minutes, not a web request.
    The project-wide time limit (30 min) applies; the import claims its row, so a second
    delivery does nothing."""
    return tat_import_run(import_id=import_id)


@shared_task(time_limit=600, soft_time_limit=540)
def send_evaluation_reminders() -> int:
    return evaluation_reminders_send()


@shared_task(time_limit=600, soft_time_limit=540)
def send_credential_expiry_notices() -> int:
    return credential_expiry_notices_send()


# Targets, monitoring and the mid-month reminder --------------------------------------------
# Services in reporting/targets/reminders.py; each is safe to run twice (outbox keys, run records).


@shared_task(time_limit=1800, soft_time_limit=1740)
def send_due_reminders() -> int:
    """Hourly: send each section's reminder once its configured day and hour have come."""
    return sum(outcome.queued for outcome in reminders_dispatch_due())


@shared_task(time_limit=1800, soft_time_limit=1740)
def send_month_summaries() -> int:
    """On the 1st: last month's figures to each section's champions and assistants."""
    return month_summaries_send()


# Reports for leaders (docs/reports.md) -------------------------------------------------------


@shared_task(
    time_limit=settings.CELERY_TASK_TIME_LIMIT, soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT
)
def generate_report(report_id: int) -> bool:
    """An ACR annual report or an OPPE batch. The job claims its row first, so a second
    delivery (acks_late after a lost worker, or the periodic pick-up) does nothing twice."""
    return report_run(report_id=report_id)


@shared_task(time_limit=300, soft_time_limit=280)
def requeue_waiting_reports() -> int:
    """Every few minutes: queue again the report jobs that wait for a worker."""
    return reports_requeue_waiting()

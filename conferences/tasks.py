"""Thin Celery wrappers around the conference services."""

from celery import shared_task

from conferences.cases.images import case_upload_process, stalled_uploads
from conferences.meetings.services import conference_reminders_enqueue


@shared_task(time_limit=600, soft_time_limit=540)
def send_conference_reminders() -> int:
    return conference_reminders_enqueue()


# A retry after a lost worker finds the upload claimed, waits for the lease to expire, and
# picks up where the first run stopped (images already stored are not processed again).
@shared_task(
    time_limit=1800,
    soft_time_limit=1740,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def process_case_upload(upload_id: int) -> str:
    return case_upload_process(upload_id=upload_id)


@shared_task(time_limit=600, soft_time_limit=540)
def resume_case_uploads() -> int:
    """Queue uploads left waiting (broker down) or stalled (worker lost); returns how many."""
    ids = stalled_uploads()
    for upload_id in ids:
        process_case_upload.delay(upload_id)
    return len(ids)

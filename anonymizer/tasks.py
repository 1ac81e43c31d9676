"""Thin Celery wrappers around the anonymizer's services."""

from celery import shared_task

from anonymizer.jobs import (
    deidentification_job_process,
    deidentification_jobs_stalled,
    deidentification_results_expire,
)


# A retry after a lost worker finds the job claimed, waits for the lease to expire, and runs
# it again from the staged files (a second run replaces the first one's results).
@shared_task(
    time_limit=3600,
    soft_time_limit=3540,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def deidentification_job_run(job_id: int) -> str:
    return deidentification_job_process(job_id=job_id)


@shared_task(time_limit=600, soft_time_limit=540)
def resume_deidentification_jobs() -> int:
    """Queue jobs left waiting (broker down) or stalled (worker lost); returns how many."""
    ids = deidentification_jobs_stalled()
    for job_id in ids:
        deidentification_job_run.delay(job_id)
    return len(ids)


@shared_task(time_limit=600, soft_time_limit=540)
def expire_deidentification_results() -> int:
    """Remove results (and any staged original) older than ANONYMIZER_RESULTS_DAYS."""
    return deidentification_results_expire()

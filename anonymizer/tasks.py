"""Thin Celery wrappers around the anonymizer's services."""

from pathlib import Path

from celery import shared_task


# The arguments are strings a teaching-case task already holds. The accession number travels
# through the broker like any other task argument (inside the same trust zone as the
# database); it is never logged, and the result names the study by an opaque reference.
@shared_task(bind=True, time_limit=1800, soft_time_limit=1740, max_retries=3)
def pacs_retrieve(
    self,
    accession_number: str,
    case_key: str,
    destination: str,
    roster: list[str] | None = None,
    patient_label: str = "",
) -> dict:
    """Retrieve a study de-identified into `destination`; a second run finds it done.

    `roster`: the installation's people, whose names are removed wherever they appear.
    """
    from anonymizer.engine.profile import Options
    from anonymizer.pacs import (
        PacsError,
        RetrievalResult,
        accession_reference,
        pacs_retrieve_deidentified,
    )

    try:
        reference = accession_reference(accession_number)
        done = RetrievalResult.load(destination)
        if done is not None:
            if done.reference != reference:
                raise PacsError(
                    "The destination folder already holds another study.", code="destination"
                )
            return {"status": "already retrieved", **done.as_dict()}
        result = pacs_retrieve_deidentified(
            accession_number=accession_number,
            case_key=case_key,
            destination=Path(destination),
            options=Options(roster=tuple(roster or ()), patient_label=patient_label),
        )
    except PacsError as error:
        failure = error
    else:
        return {"status": "retrieved", **result.as_dict()}
    if failure.temporary and self.request.retries < self.max_retries:
        raise self.retry(countdown=60 * 2**self.request.retries)
    return {"status": "failed", "code": failure.code, "message": str(failure)}


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
    from anonymizer.jobs import deidentification_job_process

    return deidentification_job_process(job_id=job_id)


@shared_task(time_limit=600, soft_time_limit=540)
def resume_deidentification_jobs() -> int:
    """Queue jobs left waiting (broker down) or stalled (worker lost); returns how many."""
    from anonymizer.jobs import deidentification_jobs_stalled

    ids = deidentification_jobs_stalled()
    for job_id in ids:
        deidentification_job_run.delay(job_id)
    return len(ids)


@shared_task(time_limit=600, soft_time_limit=540)
def expire_deidentification_results() -> int:
    """Remove results (and any staged original) older than ANONYMIZER_RESULTS_DAYS."""
    from anonymizer.jobs import deidentification_results_expire

    return deidentification_results_expire()

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
    from anonymizer.pacs import (
        PacsError,
        RetrievalResult,
        accession_reference,
        pacs_retrieve_deidentified,
    )
    from anonymizer.profile import Options

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

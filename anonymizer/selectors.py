"""Reads of de-identification jobs: a job is its owner's alone (others get 404)."""

from django.db.models import QuerySet
from django.http import Http404

from anonymizer.models import DeidentificationJob
from peerlearning.models import User


def deidentification_jobs_of(*, user: User) -> QuerySet[DeidentificationJob]:
    return DeidentificationJob.objects.filter(owner=user)


def deidentification_job_get_for_user(*, user: User, job_uuid) -> DeidentificationJob:
    """The job if `user` started it; 404 otherwise, so nobody learns that it exists."""
    job = DeidentificationJob.objects.filter(owner=user, uuid=job_uuid).first()
    if job is None:
        raise Http404("No such job.")
    return job

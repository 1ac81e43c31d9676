"""Reads of the results feed. A suggestion is visible to the radiologist it names, only."""

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from peerlearning.models import User
from submissions.feeds.models import Suggestion
from submissions.models import Submission


def suggestions_open_for(*, user: User) -> QuerySet[Suggestion]:
    """My suggestions not dismissed and not yet submitted (by the feed's link or by hand)."""
    submitted = Submission.objects.filter(
        submitter=user, accession_number=OuterRef("accession_number")
    )
    return (
        Suggestion.objects.filter(
            radiologist=user, dismissed_at__isnull=True, submission__isnull=True
        )
        .exclude(Exists(submitted))
        .select_related("original_reader")
    )


def suggestion_get_for(*, user: User, pk: int) -> Suggestion:
    suggestion = suggestions_open_for(user=user).filter(pk=pk).first()
    if suggestion is None:
        raise Http404
    return suggestion

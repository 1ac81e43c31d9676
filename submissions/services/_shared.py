"""What every service needs: the history, the touch, links in e-mails, the champions."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Min
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import Membership, Role, Section, User
from submissions.models import (
    Submission,
    SubmissionEvent,
)


def _link(name: str, pk: int) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=[pk])}"


def _event(
    submission: Submission,
    kind: str,
    actor: User | None,
    *,
    changes: dict | None = None,
    text: str = "",
    at: datetime.datetime | None = None,
) -> SubmissionEvent:
    return SubmissionEvent.objects.create(
        submission=submission,
        kind=kind,
        actor=actor,
        changes=changes or {},
        text=text,
        at=at or timezone.now(),
    )


def _touch(submission: Submission, *fields: str) -> None:
    submission.updated_at = timezone.now()
    submission.save(update_fields=[*fields, "updated_at"])


def _champions(section: Section) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.current()
            .filter(section=section, role=Role.CHAMPION)
            .values("user_id"),
        ).order_by("pk")
    )


def _next_action_due_refresh(submission: Submission) -> None:
    """Keep `next_action_due_at` equal to the earliest due time of an open action."""
    submission.next_action_due_at = submission.actions.filter(done_at__isnull=True).aggregate(
        due=Min("due_at")
    )["due"]
    _touch(submission, "next_action_due_at")


def _require_open(submission: Submission) -> None:
    if submission.is_closed:
        raise ValidationError("This submission is closed.")

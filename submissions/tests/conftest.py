import pytest

from peerlearning.models import OutboundEmail
from submissions.models import SectionSubmissionSettings
from submissions.services import ActionRequest, submission_create


@pytest.fixture
def submit(department):
    """Submit a case as the department's radiologist; keyword arguments override defaults."""

    def make(**overrides):
        values = {
            "submitter": department.radiologist,
            "section": department.neuro,
            "accession_number": "A1000001",
            "reason": "discrepancy",
            "reason_detail": "perceptual",
            "description": "Small left frontal subdural collection not mentioned.",
            "learning_point": "Check the vertex on coronal images.",
            "reader": department.reader,
            "actions": [ActionRequest("addendum")],
            "urgency": "routine",
            "attested": True,
        }
        values.update(overrides)
        return submission_create(**values)

    return make


@pytest.fixture
def neuro_settings(department):
    def configure(**values):
        config, _ = SectionSubmissionSettings.objects.update_or_create(
            section=department.neuro, defaults=values
        )
        return config

    return configure


def emails_to(address: str) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(to=address).order_by("pk"))


def make_overdue(submission, hours: float = 1) -> None:
    """Move a submission's clinical actions (and its kept next-due time) into the past."""
    import datetime

    from django.utils import timezone

    from submissions.models import RequiredAction, Submission

    due = timezone.now() - datetime.timedelta(hours=hours)
    RequiredAction.objects.filter(submission=submission).update(due_at=due)
    Submission.objects.filter(pk=submission.pk).update(next_action_due_at=due)

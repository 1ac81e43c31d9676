"""reporting 0004: a section's own counted reasons become a target policy, so no past month's
count changes when the submission settings' field goes."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("reporting", "0003_reports"), ("submissions", "0006_feedback_batching")]


def migrate(targets=()):
    """Migrate reporting and submissions to `targets` and every other app to its latest
    (everything to its latest without targets, as the rest of the suite expects)."""
    executor = MigrationExecutor(connection)
    targets = list(targets)
    apps = {app for app, _ in targets}
    targets = [n for n in executor.loader.graph.leaf_nodes() if n[0] not in apps] + targets
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_sections_own_counted_reasons_become_its_first_policy():
    old = migrate(BEFORE)
    Section = old.get_model("peerlearning", "Section")
    Settings = old.get_model("submissions", "SectionSubmissionSettings")
    Membership = old.get_model("peerlearning", "Membership")
    User = old.get_model("peerlearning", "User")
    neuro = Section.objects.create(name="Neuro", slug="neuro")
    body = Section.objects.create(name="Body", slug="body")
    Settings.objects.create(section=neuro, counted_reasons=["discrepancy"])
    Settings.objects.create(section=body)  # every reason: nothing to carry over
    person = User.objects.create(email="r@example.org")
    Membership.objects.create(
        user=person, section=neuro, role="radiologist", started_on=datetime.date(2025, 4, 9)
    )

    new = migrate()
    TargetPolicy = new.get_model("reporting", "TargetPolicy")

    (policy,) = TargetPolicy.objects.filter(section_id=neuro.pk)
    assert policy.effective_from == datetime.date(2025, 4, 1)
    assert policy.counted_reasons == ["discrepancy"]
    assert not TargetPolicy.objects.filter(section_id=body.pk).exists()
    assert timezone.now() - policy.created_at < datetime.timedelta(minutes=5)

"""The demo history builder: a believable year of submissions, made once, removable."""

import datetime

import pytest

from peerlearning.demo import HISTORY_BUILDERS, DemoSize, demo_people, demo_reset, demo_seed
from submissions.models import RequiredAction, Submission

pytestmark = pytest.mark.django_db

TINY = DemoSize("tiny", sections=2, radiologists=12, trainees=3, history_years=3)


def test_it_registers_through_the_public_hook():
    import submissions.demo  # noqa: F401

    assert "submissions" in HISTORY_BUILDERS


def test_it_makes_a_year_of_submissions_by_demo_people_only():
    result = demo_seed(size=TINY)

    rows = Submission.objects.all()
    assert result.created["submissions.Submission"] == rows.count() > 100
    assert result.created["submissions.RequiredAction"] == RequiredAction.objects.count() > 10
    oldest = rows.order_by("created_at").first().created_at.date()
    assert oldest >= result.context.today - datetime.timedelta(days=400)
    assert not rows.exclude(submitter__in=demo_people()).exists()
    assert not rows.exclude(accession_number__startswith="DEMO").exists()
    assert not rows.filter(reason="discrepancy", attested_at__isnull=True).exists()
    assert set(rows.values_list("reason", flat=True)) == {
        "discrepancy",
        "great_catch",
        "interesting",
        "other",
    }
    assert {"closed", "acknowledged"} <= set(rows.values_list("status", flat=True))
    assert not rows.filter(submitter=models_f("original_reader")).exists()


def models_f(name):
    from django.db.models import F

    return F(name)


def test_running_it_again_adds_nothing_and_reset_removes_it():
    demo_seed(size=TINY)
    count = Submission.objects.count()

    again = demo_seed(size=TINY)
    assert "submissions.Submission" not in again.created
    assert Submission.objects.count() == count

    demo_reset()
    assert not Submission.objects.exists()
    assert not RequiredAction.objects.exists()


def test_it_is_deterministic():
    demo_seed(size=TINY)
    first = list(
        Submission.objects.order_by("accession_number").values_list("accession_number", "reason")
    )
    demo_reset()

    demo_seed(size=TINY)

    assert (
        list(
            Submission.objects.order_by("accession_number").values_list(
                "accession_number", "reason"
            )
        )
        == first
    )


def test_the_kept_next_due_time_matches_the_open_actions():
    from django.db.models import Min, Q

    demo_seed(size=TINY)

    rows = Submission.objects.annotate(
        due=Min("actions__due_at", filter=Q(actions__done_at__isnull=True))
    )
    assert rows.filter(next_action_due_at__isnull=False).exists()
    assert all(s.next_action_due_at == s.due for s in rows)

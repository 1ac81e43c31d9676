"""The OPPE demo history: turnaround times, credentials, evaluations and FPPE events."""

import datetime

import pytest

from peerlearning.demo import DemoSize, demo_people, department_build
from reporting import demo
from reporting.models import Credential, EvaluationCycle, FppeEvent, PeerEvaluation, TurnaroundTime
from reporting.oppe.tat_summary import tat_summary

TINY = DemoSize("tiny", sections=2, radiologists=12, trainees=2, history_years=2)


@pytest.fixture
def ctx(db, monkeypatch):
    monkeypatch.setitem(demo.TAT_ROWS, "tiny", 3000)
    context, _ = department_build(size=TINY, seed=5, today=datetime.date(2026, 11, 27))
    return context


def test_the_demo_builds_oppe_history_for_the_radiologists(ctx):
    counts = demo.build_oppe(ctx, ctx.rng("oppe"), ctx.size)
    assert 2900 <= counts["reporting.TurnaroundTime"] <= 3000
    assert counts["reporting.TurnaroundTime"] == TurnaroundTime.objects.count()
    assert counts["reporting.Credential"] == Credential.objects.count() >= 2 * 10
    assert counts["reporting.FppeEvent"] == FppeEvent.objects.count() == 6
    assert counts["reporting.EvaluationCycle"] == 2
    assert EvaluationCycle.objects.filter(closed_at__isnull=True).count() == 1
    me = ctx.logins["radiologist"]
    assert PeerEvaluation.objects.filter(
        evaluator=me, cycle__closed_at__isnull=True, submitted_at__isnull=True
    ).exists(), "the demo radiologist has evaluations to do"
    # The rows are well formed: the summary reads them, nobody reads in the future.
    summary = tat_summary(radiologist=me, start=ctx.history_start, end=ctx.today)
    assert summary[me.pk].overall.count > 0
    assert 30 < summary[me.pk].overall.median_minutes < 600


def test_the_demo_is_idempotent_and_its_reset_removes_it(ctx):
    assert not demo._present(ctx)
    demo.build_oppe(ctx, ctx.rng("oppe"), ctx.size)
    assert demo._present(ctx)
    demo._wipe(demo_people())
    assert not TurnaroundTime.objects.exists() and not Credential.objects.exists()
    assert not PeerEvaluation.objects.exists() and not EvaluationCycle.objects.exists()
    demo_people().delete()  # nothing PROTECTed is left behind

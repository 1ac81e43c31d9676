"""The demo history builder: conferences, attendance and actions for a small department."""

import datetime

import pytest

from conferences.models import Attendance, Conference, ImprovementAction
from conferences.selectors import attendance_for_targets
from peerlearning.demo import DemoSize, demo_seed

pytestmark = pytest.mark.django_db

TINY = DemoSize("tiny", sections=2, radiologists=12, trainees=3, history_years=1)
TODAY = datetime.date(2026, 11, 27)


def test_the_demo_builds_two_conferences_a_month_with_attendance_and_is_idempotent():
    result = demo_seed(size=TINY, today=TODAY)

    months = len(result.context.months()) + 1  # and next month's, scheduled
    per_section = Conference.objects.filter(section=result.context.sections[0])
    assert months * 2 - 2 <= per_section.count() <= months * 2
    assert per_section.filter(status="scheduled").exists()
    assert result.created["conferences.Attendance"] == Attendance.objects.count() > 0
    assert Attendance.objects.filter(kind="trainee").exists()
    assert Attendance.objects.filter(recorded_via="recording").exists()
    assert not Attendance.objects.filter(conference__status="scheduled").exists()
    assert ImprovementAction.objects.exists()
    section = result.context.sections[0]
    figures = attendance_for_targets(
        sections=[section], start=datetime.date(2026, 1, 1), end=TODAY
    )[section.pk]
    assert figures.conferences_held > 10 and figures.credited

    again = demo_seed(size=TINY, today=TODAY)
    assert "conferences.Conference" not in again.created


def test_a_reset_removes_the_demo_conferences():
    demo_seed(size=TINY, today=TODAY)
    demo_seed(size=TINY, today=TODAY, reset=True)
    # Rebuilt, not doubled: the old conferences went with the old people.
    assert Conference.objects.filter(created_by__isnull=True).count() == 0
    assert (
        Conference.objects.values("check_in_code").distinct().count() == Conference.objects.count()
    )


def test_the_demo_adds_checked_teaching_cases_on_a_past_and_an_upcoming_agenda():
    from conferences.models import AgendaItem, TeachingCase

    result = demo_seed(size=TINY, today=TODAY)

    cases = TeachingCase.objects.all()
    assert cases.count() == 3 * len(result.context.sections)
    assert all(case.check_passed for case in cases), [c.check_findings for c in cases]
    assert AgendaItem.objects.filter(conference__status="held").exists()
    assert AgendaItem.objects.filter(conference__status="scheduled").exists()
    demo_seed(size=TINY, today=TODAY, reset=True)
    assert TeachingCase.objects.count() == 3 * len(result.context.sections)

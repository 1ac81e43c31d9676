"""Fixtures for reporting's tests: a small demo department with every app's history."""

import pytest
from django.utils import timezone

from peerlearning.demo import DemoSize, demo_seed
from reporting import demo as reporting_demo

# Two sections, a dozen radiologists, a year of submissions, conferences and actions.
SMALL = DemoSize("small-reports", sections=2, radiologists=12, trainees=3, history_years=1)


@pytest.fixture
def demo(db, monkeypatch):
    """The demo department (seeded as `seed_demo` does, smaller), its history up to today."""
    monkeypatch.setitem(reporting_demo.TAT_ROWS, SMALL.name, 3000)
    monkeypatch.setitem(reporting_demo.FPPE_EVENTS, SMALL.name, 4)
    return demo_seed(size=SMALL, today=timezone.localdate()).context

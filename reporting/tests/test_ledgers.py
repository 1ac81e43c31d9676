"""`ledgers_build`: every section's targets ledger at once, in a fixed number of queries, with
exactly the figures `ledger_build` gives one section at a time (the monitoring pages')."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conferences.selectors import attendance_for_targets
from peerlearning.models import Role, Section
from peerlearning.testing import SectionFactory, make_member
from reporting.months import months_between, next_month
from reporting.targets.ledger import ledger_build, ledgers_build
from reporting.targets.models import TargetExemption, TargetPolicy
from reporting.tests.test_targets import submit

pytestmark = pytest.mark.django_db


def cells(ledger):
    return {
        (p.user.pk, month): (
            c.share,
            c.target,
            c.counted,
            c.submitted,
            c.attended,
            c.attendance_target_exact,
        )
        for p in ledger.people
        for month, c in p.cells.items()
    }


def this_year():
    today = timezone.localdate()
    return months_between(datetime.date(today.year, 1, 1), today)


def test_the_batched_ledgers_equal_one_section_at_a_time_on_the_demo(demo):
    months = this_year()
    sections = list(Section.objects.all())

    together = ledgers_build(viewer=None, sections=sections, months=months)

    for section in sections:
        alone = ledger_build(viewer=None, section=section, months=months)
        assert cells(together[section.pk]) == cells(alone), section
        assert [p.user.pk for p in together[section.pk].people] == [p.user.pk for p in alone.people]
        assert together[section.pk].attendance.held == alone.attendance.held


def test_batched_attendance_is_the_conferences_selectors_month_by_month(demo):
    months = this_year()
    sections = list(Section.objects.all())

    together = ledgers_build(viewer=None, sections=sections, months=months)

    for section in sections:
        for month in months:
            figures = attendance_for_targets(
                section=section, start=month, end=next_month(month) - datetime.timedelta(days=1)
            )
            attendance = together[section.pk].attendance
            assert attendance.held[month] == figures.conferences_held
            assert attendance.attended[month] == dict(figures.credited)


def test_policies_exemptions_and_counted_reasons_apply_per_section(department):
    march, april = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)
    TargetPolicy.objects.create(
        section=department.neuro,
        effective_from=april,
        submissions_per_month=1,
        counted_reasons=["discrepancy"],
    )
    TargetExemption.objects.create(
        section=department.body,
        user=department.body_champion,
        kind=TargetExemption.Kind.LEAVE,
        starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2026, 4, 15),
        reason="Synthetic leave",
    )
    for on in (march.replace(day=3), april.replace(day=3)):
        submit(department.neuro, department.radiologist, on=on, reason="great_catch")
        submit(department.body, department.body_champion, on=on, reason="great_catch")

    months = [march, april]
    together = ledgers_build(
        viewer=None, sections=[department.neuro, department.body], months=months
    )

    for section in (department.neuro, department.body):
        assert cells(together[section.pk]) == cells(
            ledger_build(viewer=None, section=section, months=months)
        )
    neuro = {p.user.pk: p for p in together[department.neuro.pk].people}
    assert neuro[department.radiologist.pk].cells[april].counted == 0  # only discrepancies count
    assert neuro[department.radiologist.pk].cells[march].counted == 1
    body = {p.user.pk: p for p in together[department.body.pk].people}
    assert body[department.body_champion.pk].cells[april].target == 1  # half of April on leave


def test_the_number_of_queries_does_not_grow_with_sections_or_radiologists(department):
    months = months_between(datetime.date(2026, 1, 1), datetime.date(2026, 6, 1))

    def queries(sections) -> int:
        with CaptureQueriesContext(connection) as captured:
            ledgers_build(viewer=None, sections=sections, months=months)
        return len(captured)

    small = queries([department.neuro])
    for n in range(6):
        section = SectionFactory(name=f"Extra {n}", slug=f"extra-{n}")
        for _ in range(5):
            make_member(section, Role.RADIOLOGIST)
    assert queries(list(Section.objects.all())) == small

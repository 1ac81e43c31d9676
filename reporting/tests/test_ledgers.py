"""`ledgers_build`: every section's targets ledger at once, in a fixed number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from peerlearning.lib.months import months_between
from peerlearning.models import Role, Section
from peerlearning.testing import SectionFactory, make_member
from reporting.targets.ledger import ledgers_build
from reporting.targets.models import TargetExemption, TargetPolicy
from reporting.tests.test_targets import submit

pytestmark = pytest.mark.django_db


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
    together = ledgers_build(sections=[department.neuro, department.body], months=months)

    neuro = {p.user.pk: p for p in together[department.neuro.pk].people}
    assert neuro[department.radiologist.pk].cells[april].counted == 0  # only discrepancies count
    assert neuro[department.radiologist.pk].cells[march].counted == 1
    body = {p.user.pk: p for p in together[department.body.pk].people}
    assert body[department.body_champion.pk].cells[april].target == 1  # half of April on leave


def test_the_number_of_queries_does_not_grow_with_sections_or_radiologists(department):
    months = months_between(datetime.date(2026, 1, 1), datetime.date(2026, 6, 1))

    def queries(sections) -> int:
        with CaptureQueriesContext(connection) as captured:
            ledgers_build(sections=sections, months=months)
        return len(captured)

    small = queries([department.neuro])
    for n in range(6):
        section = SectionFactory(name=f"Extra {n}", slug=f"extra-{n}")
        for _ in range(5):
            make_member(section, Role.RADIOLOGIST)
    assert queries(list(Section.objects.all())) == small

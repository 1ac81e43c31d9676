"""The TAT summary per radiologist and modality, checked against values computed here."""

import datetime
import random
import zoneinfo

import pytest
from django.conf import settings

from peerlearning.models import Role
from peerlearning.testing import make_member
from reporting.models import TurnaroundTime
from reporting.oppe.tat_summary import tat_summary

SITE = zoneinfo.ZoneInfo(settings.TIME_ZONE)


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (what percentile_cont does), written anew."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    below = int(rank)
    if below + 1 == len(ordered):
        return ordered[below]
    return ordered[below] + (rank - below) * (ordered[below + 1] - ordered[below])


def add(radiologist, modality, minutes, completed, accession):
    TurnaroundTime.objects.create(
        accession=accession,
        radiologist=radiologist,
        modality=modality,
        exam_completed_at=completed,
        report_finalized_at=completed + datetime.timedelta(minutes=minutes),
        turnaround_seconds=minutes * 60,
    )


@pytest.fixture
def reports(department):
    """Random turnaround times for two radiologists, in October, plus rows outside it."""
    rng = random.Random(7)
    expected: dict[tuple[int, str], list[int]] = {}
    people = [department.radiologist, department.reader]
    n = 0
    for person in people:
        for modality, count in (("CT", 37), ("MR", 12), ("US", 1)):
            for _ in range(count):
                minutes = int(rng.lognormvariate(5, 1.2))
                day = datetime.datetime(2026, 10, rng.randint(1, 31), 9, tzinfo=SITE)
                add(person, modality, minutes, day, f"S{n}")
                expected.setdefault((person.pk, modality), []).append(minutes)
                n += 1
    # Outside the period, by local date: the evening before (UTC already Oct 1) and Nov 1.
    add(department.radiologist, "CT", 5, datetime.datetime(2026, 9, 30, 22, tzinfo=SITE), "OUT1")
    add(department.radiologist, "CT", 5, datetime.datetime(2026, 11, 1, 0, 30, tzinfo=SITE), "OUT2")
    return people, expected


def test_counts_medians_and_90th_percentiles_match_an_independent_computation(reports):
    people, expected = reports
    summary = tat_summary(
        radiologists=people, start=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31)
    )
    for person in people:
        for modality in ("CT", "MR", "US"):
            minutes = expected[(person.pk, modality)]
            stats = summary[person.pk].by_modality[modality]
            assert stats.count == len(minutes)
            assert stats.median_minutes == pytest.approx(percentile(minutes, 0.5))
            assert stats.p90_minutes == pytest.approx(percentile(minutes, 0.9))
            assert stats.within_threshold == sum(m <= 24 * 60 for m in minutes)
        everything = [m for (pk, _), values in expected.items() if pk == person.pk for m in values]
        overall = summary[person.pk].overall
        assert overall.count == len(everything) == 50
        assert overall.median_minutes == pytest.approx(percentile(everything, 0.5))
        assert overall.p90_minutes == pytest.approx(percentile(everything, 0.9))
        assert overall.share_within_threshold == pytest.approx(
            sum(m <= 24 * 60 for m in everything) / 50
        )


def test_the_threshold_can_be_changed(reports):
    people, expected = reports
    summary = tat_summary(
        radiologist=people[0],
        start=datetime.date(2026, 10, 1),
        end=datetime.date(2026, 10, 31),
        threshold_hours=2,
    )
    ct = expected[(people[0].pk, "CT")]
    assert summary[people[0].pk].by_modality["CT"].within_threshold == sum(m <= 120 for m in ct)


def test_a_radiologist_without_reports_comes_back_empty(reports, department):
    summary = tat_summary(
        radiologist=department.champion,
        start=datetime.date(2026, 10, 1),
        end=datetime.date(2026, 10, 31),
    )
    stats = summary[department.champion.pk].overall
    assert (stats.count, stats.median_minutes, stats.share_within_threshold) == (0, None, None)
    assert summary[department.champion.pk].by_modality == {}


def test_without_names_every_radiologist_with_reports_is_summarized(reports):
    people, _ = reports
    summary = tat_summary(start=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31))
    assert set(summary) == {person.pk for person in people}


def test_the_period_counts_local_days(reports, department):
    # The evening of September 30 (New York) is October 1 in UTC; it belongs to September.
    september = tat_summary(
        radiologist=department.radiologist,
        start=datetime.date(2026, 9, 1),
        end=datetime.date(2026, 9, 30),
    )
    assert september[department.radiologist.pk].overall.count == 1


def test_two_values_interpolate_and_one_value_is_its_own_percentile(department):
    person = make_member(department.neuro, Role.RADIOLOGIST, first_name="Solo")
    day = datetime.datetime(2026, 10, 5, 9, tzinfo=SITE)
    add(person, "CT", 10, day, "P1")
    add(person, "CT", 30, day, "P2")
    add(person, "MR", 42, day, "P3")
    summary = tat_summary(
        radiologist=person, start=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31)
    )[person.pk]
    assert summary.by_modality["CT"].median_minutes == pytest.approx(20)
    assert summary.by_modality["CT"].p90_minutes == pytest.approx(28)
    assert summary.by_modality["MR"].median_minutes == summary.by_modality["MR"].p90_minutes == 42


def test_the_summary_takes_a_fixed_number_of_queries(reports, django_assert_max_num_queries):
    people, _ = reports
    with django_assert_max_num_queries(4):
        tat_summary(
            radiologists=people, start=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31)
        )

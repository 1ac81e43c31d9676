"""Targets: policies over time, pro-rating, what counts, and the dashboard's figures."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from peerlearning.models import Membership, Role, Section
from peerlearning.testing import make_member
from reporting.months import month_start_at
from reporting.targets.ledger import target_policy_for
from reporting.targets.models import TargetExemption, TargetPolicy
from reporting.targets.monitoring import month_report, year_report
from reporting.targets.selectors import person_month, submission_target_for
from reporting.targets.services import target_policy_create
from submissions.models import SectionSubmissionSettings, Submission

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
_accessions = iter(range(10_000_000, 99_999_999))


def submit(section, user, *, on=None, reason="great_catch", counted=True, reader=None, **extra):
    """A submission made to `section` by `user` on a day (the 10th of March by default)."""
    on = on or MARCH.replace(day=10)
    return Submission.objects.create(
        section=section,
        submitter=user,
        accession_number=f"ACC{next(_accessions)}",
        reason=reason,
        description="Synthetic case.",
        attested_at=timezone.now() if reason == "discrepancy" else None,
        counted=counted,
        not_counted_reason="" if counted else "duplicate",
        original_reader=reader,
        created_at=month_start_at(on.replace(day=1)) + datetime.timedelta(days=on.day - 1, hours=9),
    )


def row_for(report, user):
    return next(r for r in report.rows if r.user.pk == user.pk)


def policy(section, start, actor, **values):
    defaults = {
        "submissions_per_month": 2,
        "attendance_rule": TargetPolicy.AttendanceRule.SHARE,
        "attendance_percent": 50,
        "attendance_per_year": 0,
        "counted_reasons": ["discrepancy", "great_catch", "interesting", "other"],
        "include_trainees": False,
        "note": "",
    }
    defaults.update(values)
    return target_policy_create(section=section, actor=actor, effective_from=start, **defaults)


# Who has a target ------------------------------------------------------------------------


def test_participating_radiologists_have_a_target_and_trainees_do_not_by_default(department):
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    names = {r.user.last_name for r in report.rows}
    assert names == {"Submitter", "Reader", "Champion"}
    assert all(r.cell.target == 2 for r in report.rows)


def test_a_policy_can_include_trainees(department):
    policy(department.neuro, MARCH, department.leader, include_trainees=True)
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    assert "Trainee" in {r.user.last_name for r in report.rows}


def test_a_radiologist_who_does_not_participate_has_no_target(department):
    Membership.objects.filter(user=department.reader, section=department.neuro).update(
        participating=False
    )
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    assert department.reader.pk not in {r.user.pk for r in report.rows}


def test_someone_joining_mid_month_owes_a_share_of_the_month(department):
    newcomer = make_member(department.neuro, Role.RADIOLOGIST, first_name="Nova", last_name="New")
    Membership.objects.filter(user=newcomer).update(started_on=datetime.date(2026, 3, 17))
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    # 15 of 31 days: 2 x 15/31 = 0.97, rounded to 1.
    assert row_for(report, newcomer).cell.target == 1
    february = month_report(viewer=None, section=department.neuro, month=datetime.date(2026, 2, 1))
    assert newcomer.pk not in {r.user.pk for r in february.rows}


# Policies over time ----------------------------------------------------------------------


def test_a_new_policy_does_not_rewrite_the_months_before_it(department):
    policy(department.neuro, datetime.date(2026, 4, 1), department.leader, submissions_per_month=1)
    assert month_report(viewer=None, section=department.neuro, month=MARCH).rows[0].cell.target == 2
    april = month_report(viewer=None, section=department.neuro, month=datetime.date(2026, 4, 1))
    assert april.rows[0].cell.target == 1
    assert april.policy.submissions_per_month == 1


def test_without_a_policy_the_section_counts_the_reasons_its_submission_settings_count(
    department,
):
    SectionSubmissionSettings.objects.create(
        section=department.neuro, counted_reasons=["discrepancy"]
    )
    assert target_policy_for(section=department.neuro, month=MARCH).counted_reasons == [
        "discrepancy"
    ]


def test_a_policy_must_start_on_the_first_of_a_month(department):
    bad = TargetPolicy(section=department.neuro, effective_from=datetime.date(2026, 3, 15))
    with pytest.raises(Exception, match="first day of a month"):
        bad.full_clean()


def test_saving_a_policy_for_the_same_month_replaces_it(department):
    policy(department.neuro, MARCH, department.leader, submissions_per_month=3)
    policy(department.neuro, MARCH, department.leader, submissions_per_month=1)
    assert TargetPolicy.objects.filter(section=department.neuro).count() == 1
    assert target_policy_for(section=department.neuro, month=MARCH).submissions_per_month == 1


# What counts -------------------------------------------------------------------------------


def test_only_counted_submissions_with_a_counted_reason_in_the_month_count(department):
    neuro, rad = department.neuro, department.radiologist
    policy(neuro, MARCH, department.leader, counted_reasons=["discrepancy", "great_catch"])
    submit(neuro, rad, reason="discrepancy")
    submit(neuro, rad, reason="great_catch")
    submit(neuro, rad, reason="interesting")  # reason not counted
    submit(neuro, rad, counted=False)  # marked not counted by a champion
    submit(neuro, rad, on=datetime.date(2026, 2, 27))  # another month
    submit(department.body, rad)  # another section
    row = row_for(month_report(viewer=None, section=neuro, month=MARCH), rad)
    assert (row.cell.counted, row.cell.submitted, row.cell.not_counted) == (2, 4, 2)
    assert row.cell.met and not row.behind


def test_the_month_follows_the_site_time_zone(department, settings):
    # 23:30 on 31 March in New York is already April in UTC: it is a March submission.
    late = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=timezone.get_current_timezone())
    s = submit(department.neuro, department.radiologist)
    Submission.objects.filter(pk=s.pk).update(created_at=late)
    row = row_for(
        month_report(viewer=None, section=department.neuro, month=MARCH), department.radiologist
    )
    assert row.cell.counted == 1


def test_reasons_follow_the_policy_of_each_month(department):
    neuro, rad = department.neuro, department.radiologist
    policy(neuro, datetime.date(2026, 1, 1), department.leader, counted_reasons=["discrepancy"])
    policy(neuro, datetime.date(2026, 2, 1), department.leader, counted_reasons=["great_catch"])
    submit(neuro, rad, on=datetime.date(2026, 1, 5), reason="great_catch")  # not in January
    submit(neuro, rad, on=datetime.date(2026, 2, 5), reason="great_catch")  # counts in February
    report = year_report(viewer=None, section=neuro, year=2026, today=datetime.date(2026, 2, 20))
    row = next(r for r in report.rows if r.user.pk == rad.pk)
    assert [c.counted for c in row.cells[:2]] == [0, 1]


# Exemptions -------------------------------------------------------------------------------


def test_leave_lowers_the_target_by_the_days_away(department):
    TargetExemption.objects.create(
        section=department.neuro,
        user=department.radiologist,
        kind=TargetExemption.Kind.LEAVE,
        starts_on=datetime.date(2026, 3, 1),
        ends_on=datetime.date(2026, 3, 20),
        reason="Parental leave",
    )
    row = row_for(
        month_report(viewer=None, section=department.neuro, month=MARCH), department.radiologist
    )
    # 11 of 31 days at work: 2 x 11/31 = 0.71 -> 1.
    assert row.cell.target == 1
    assert row.exemption_labels == ["Leave"]


def test_a_whole_month_of_leave_means_no_target_and_not_behind(department):
    TargetExemption.objects.create(
        section=department.neuro,
        user=department.radiologist,
        kind=TargetExemption.Kind.LEAVE,
        starts_on=datetime.date(2026, 2, 20),
        ends_on=None,
        reason="Sabbatical",
    )
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    row = row_for(report, department.radiologist)
    assert row.cell.target == 0 and row.exempt and not row.behind
    assert (report.totals.people, report.totals.exempt) == (2, 1)


def test_part_time_lowers_the_target_by_fte_and_the_year_rounds_once(department):
    TargetExemption.objects.create(
        section=department.neuro,
        user=department.radiologist,
        kind=TargetExemption.Kind.PART_TIME,
        fte=Decimal("0.75"),
        starts_on=datetime.date(2025, 1, 1),
        reason="Reduced schedule",
    )
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    row = row_for(report, department.radiologist)
    assert row.cell.target == 2  # 1.5 rounds half up
    assert row.ytd_target == 5  # 3 months x 1.5 = 4.5 -> 5, not 2 + 2 + 2


def test_an_exemption_needs_the_fte_for_part_time_only(department):
    exemption = TargetExemption(
        section=department.neuro,
        user=department.radiologist,
        kind=TargetExemption.Kind.PART_TIME,
        starts_on=MARCH,
        reason="x",
    )
    with pytest.raises(Exception, match="FTE"):
        exemption.full_clean()


# The month's figures ---------------------------------------------------------------------


def test_behind_rows_and_section_totals(department):
    neuro = department.neuro
    submit(neuro, department.radiologist)
    submit(neuro, department.radiologist)
    submit(neuro, department.reader)
    report = month_report(viewer=None, section=neuro, month=MARCH)
    assert report.totals.people == 3
    assert report.totals.met == 1
    assert report.totals.behind == 2
    assert (report.totals.counted, report.totals.target) == (3, 6)
    assert row_for(report, department.reader).cell.still_needed == 1


def test_filters_and_sorts(department):
    neuro = department.neuro
    submit(neuro, department.radiologist)
    submit(neuro, department.radiologist)
    behind = month_report(viewer=None, section=neuro, month=MARCH, status="behind", sort="progress")
    assert department.radiologist.pk not in {r.user.pk for r in behind.rows}
    met = month_report(viewer=None, section=neuro, month=MARCH, status="met")
    assert [r.user.pk for r in met.rows] == [department.radiologist.pk]
    found = month_report(viewer=None, section=neuro, month=MARCH, query="quinn")
    assert [r.user.pk for r in found.rows] == [department.reader.pk]
    by_count = month_report(viewer=None, section=neuro, month=MARCH, sort="submissions")
    assert by_count.rows[0].user.pk == department.radiologist.pk


def test_attendance_shows_as_unknown_without_the_conferences_selector(department, monkeypatch):
    monkeypatch.setattr("reporting.targets.ledger.attendance_selector", lambda: None)
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    assert not report.attendance_known
    assert report.rows[0].cell.attended is None


def fake_attendance(held: int, credited_in=lambda month: {}):
    """Stands in for the grouped attendance query: `held` conferences every month, and
    `credited_in(month)` -> {user id: conferences credited}."""
    from reporting.targets.ledger import Attendance

    def fake(sections, months):
        return {
            s.pk: Attendance(
                held=dict.fromkeys(months, held), attended={m: credited_in(m) for m in months}
            )
            for s in sections
        }

    return fake


def test_attendance_against_a_share_of_the_conferences_held(department, monkeypatch):
    # Two conferences a month; the radiologist attended both in March, none before.
    monkeypatch.setattr(
        "reporting.targets.ledger._attendance_many",
        fake_attendance(2, lambda month: {department.radiologist.pk: 2} if month == MARCH else {}),
    )
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    rad = row_for(report, department.radiologist)
    assert (rad.cell.attended, rad.cell.attendance_target) == (2, 1)
    assert (rad.ytd_attended, rad.ytd_attendance_target) == (2, 3)
    assert rad.attendance_behind
    assert report.totals.held == 2 and report.totals.held_ytd == 6


def test_attendance_as_a_count_per_year(department, monkeypatch):
    monkeypatch.setattr("reporting.targets.ledger._attendance_many", fake_attendance(1))
    policy(
        department.neuro,
        datetime.date(2026, 1, 1),
        department.leader,
        attendance_rule=TargetPolicy.AttendanceRule.PER_YEAR,
        attendance_per_year=12,
    )
    row = row_for(
        month_report(viewer=None, section=department.neuro, month=MARCH), department.radiologist
    )
    assert (row.cell.attendance_target, row.ytd_attendance_target) == (1, 3)


def test_the_real_conferences_selector_feeds_attendance(department):
    from conferences.models import Attendance, Conference

    start = month_start_at(MARCH) + datetime.timedelta(days=3, hours=12)
    conference = Conference.objects.create(
        section=department.neuro,
        title="Neuro PL conference",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Conference.Status.HELD,
        check_in_code="ACDEFG",
    )
    Attendance.objects.create(
        conference=conference,
        user=department.radiologist,
        kind=Attendance.Kind.ATTENDING,
        credited=True,
        minutes_present=60,
        recorded_via=Attendance.Via.ROSTER,
    )
    report = month_report(viewer=None, section=department.neuro, month=MARCH)
    assert report.attendance_known and report.totals.held == 1
    assert row_for(report, department.radiologist).cell.attended == 1
    assert row_for(report, department.reader).cell.attended == 0


# Query budget ----------------------------------------------------------------------------------


def _grow(section, count):
    people = [
        make_member(section, Role.RADIOLOGIST, first_name=f"Extra{i}", last_name="Rad")
        for i in range(count)
    ]
    for person in people:
        submit(section, person)
    TargetExemption.objects.create(
        section=section,
        user=people[0],
        kind=TargetExemption.Kind.LEAVE,
        starts_on=MARCH,
        ends_on=MARCH.replace(day=9),
        reason="x",
    )


def test_the_month_and_year_figures_take_the_same_queries_for_3_or_30_radiologists(
    department,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        cache.clear()  # the figures computed, not read from the cache
        section = Section.objects.get(pk=department.neuro.pk)  # nothing cached on it
        with CaptureQueriesContext(connection) as month:
            month_report(viewer=None, section=section, month=MARCH)
        section = Section.objects.get(pk=department.neuro.pk)
        with CaptureQueriesContext(connection) as year:
            year_report(viewer=None, section=section, year=2026, today=datetime.date(2026, 12, 31))
        return len(month), len(year)

    small = queries()
    _grow(department.neuro, 27)
    assert queries() == small
    # Policies, memberships, exemptions, submissions, settings + 2 for the attendance, for
    # three months as for twelve.
    assert small[0] <= 6 + 2
    assert small[1] <= 6 + 2


def test_figures_follow_a_saved_change_despite_the_cache(department):
    first = row_for(
        month_report(viewer=None, section=department.neuro, month=MARCH), department.radiologist
    )
    submit(department.neuro, department.radiologist)
    again = row_for(
        month_report(viewer=None, section=department.neuro, month=MARCH), department.radiologist
    )
    assert again.cell.counted == first.cell.counted + 1


# Drill-down and the radiologist's own target ------------------------------------------------------


def test_leaders_see_counts_by_reason_and_never_the_cases(department):
    submit(department.neuro, department.radiologist, reason="discrepancy")
    detail = person_month(
        viewer=department.leader,
        section=department.neuro,
        user_id=department.radiologist.pk,
        month=MARCH,
    )
    assert detail.lines is None
    assert detail.by_reason == [("Discrepancy", 1, 1)]


def test_an_assistant_sees_the_list_but_never_a_submission_about_their_own_read(department):
    submit(department.neuro, department.radiologist, reason="great_catch")
    submit(
        department.neuro, department.radiologist, reason="discrepancy", reader=department.champion
    )
    as_assistant = person_month(
        viewer=department.assistant,
        section=department.neuro,
        user_id=department.radiologist.pk,
        month=MARCH,
    )
    as_champion = person_month(
        viewer=department.champion,
        section=department.neuro,
        user_id=department.radiologist.pk,
        month=MARCH,
    )
    assert len(as_assistant.lines) == 2
    assert [line.reason for line in as_champion.lines] == ["great_catch"]


def test_submission_target_for_gives_a_radiologist_their_target(department):
    assert submission_target_for(user=department.radiologist, month=MARCH) == 2
    assert submission_target_for(user=department.assistant, month=MARCH) is None

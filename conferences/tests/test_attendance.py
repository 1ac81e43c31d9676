"""The roster, self check-in, recording attestations and the numbers reporting reads."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.attendance.services import (
    AttendanceRefused,
    attendance_mark,
    check_in,
    recording_attest,
)
from conferences.meetings.services import conference_update
from conferences.models import Attendance, Conference, ConferenceSettings
from conferences.selectors import attendance_for_targets
from conferences.tests.conftest import make_conference

pytestmark = pytest.mark.django_db


def an_hour_ago() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=1)


@pytest.fixture
def held(department):
    """A 60-minute conference that ended a few minutes ago."""
    start = timezone.now() - datetime.timedelta(minutes=65)
    conference = make_conference(department.neuro, start=start)
    conference_update(conference=conference, actor=None, status=Conference.Status.HELD)
    conference.refresh_from_db()
    return conference


# The roster --------------------------------------------------------------------------


def test_ticking_a_name_with_htmx_saves_the_row_and_updates_the_count(client, department, held):
    client.force_login(department.assistant)
    url = reverse("conferences:roster", args=[held.pk])

    response = client.post(
        url,
        {"user": department.reader.pk, "present": department.reader.pk},
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="roster-{department.reader.pk}"' in page
    assert 'id="attendance-count"' in page and 'hx-swap-oob="true"' in page
    row = Attendance.objects.get(conference=held, user=department.reader)
    assert (row.minutes_present, row.credited, row.recorded_via, row.kind) == (
        60,
        True,
        "roster",
        "attending",
    )


def test_unticking_removes_the_attendance(client, department, held):
    attendance_mark(conference=held, user=department.reader, present=True, minutes=None, actor=None)
    client.force_login(department.champion)
    client.post(
        reverse("conferences:roster", args=[held.pk]),
        {"user": department.reader.pk},
        HTTP_HX_REQUEST="true",
    )
    assert not Attendance.objects.filter(conference=held).exists()


def test_the_roster_form_saves_everyone_without_javascript(client, department, held):
    client.force_login(department.assistant)
    response = client.post(
        reverse("conferences:roster", args=[held.pk]),
        {
            "present": [department.reader.pk, department.trainee.pk],
            f"minutes_{department.reader.pk}": "20",
            f"minutes_{department.trainee.pk}": "",
        },
    )
    assert response.status_code == 302
    rows = {a.user: a for a in Attendance.objects.filter(conference=held)}
    assert (rows[department.reader].minutes_present, rows[department.reader].credited) == (
        20,
        False,
    )
    assert (rows[department.trainee].minutes_present, rows[department.trainee].kind) == (
        60,
        "trainee",
    )


def test_a_wrong_number_of_minutes_is_named_and_not_saved(client, department, held):
    client.force_login(department.assistant)
    response = client.post(
        reverse("conferences:roster", args=[held.pk]),
        {"present": [department.reader.pk], f"minutes_{department.reader.pk}": "lots"},
    )
    assert "“lots” is not a number of minutes" in response.content.decode()
    assert not Attendance.objects.filter(user=department.reader).exists()


def test_someone_outside_the_section_cannot_be_ticked(client, department, held):
    client.force_login(department.assistant)
    response = client.post(
        reverse("conferences:roster", args=[held.pk]),
        {"user": department.body_champion.pk, "present": department.body_champion.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 404
    assert not Attendance.objects.exists()


def test_a_radiologist_cannot_open_the_roster(client, department, held):
    client.force_login(department.radiologist)
    assert client.get(reverse("conferences:roster", args=[held.pk])).status_code == 403


def test_the_roster_page_query_count_does_not_grow_with_the_section(
    client, department, held, django_assert_max_num_queries
):
    from peerlearning.models import Role
    from peerlearning.testing import make_member

    for i in range(25):
        make_member(department.neuro, Role.RADIOLOGIST, first_name=f"Extra{i}", last_name="Rad")
    client.force_login(department.assistant)
    client.get(reverse("home"))
    with django_assert_max_num_queries(14):
        response = client.get(reverse("conferences:roster", args=[held.pk]))
    assert "Extra24" in response.content.decode()


# Self check-in -----------------------------------------------------------------------


def test_checking_in_with_the_code_records_the_person_present(department):
    start = timezone.now() + datetime.timedelta(minutes=10)
    conference = make_conference(department.neuro, start=start)

    result = check_in(code=conference.check_in_code.lower(), user=department.reader)

    assert result.created
    attendance = result.attendance
    assert (attendance.recorded_via, attendance.minutes_present, attendance.credited) == (
        "self_check_in",
        60,
        True,
    )
    again = check_in(code=conference.check_in_code, user=department.reader)
    assert not again.created and Attendance.objects.count() == 1


def test_check_in_opens_fifteen_minutes_before_and_closes_at_the_end(department):
    start = timezone.now() + datetime.timedelta(hours=2)
    conference = make_conference(department.neuro, start=start)
    with pytest.raises(AttendanceRefused, match="opens at"):
        check_in(code=conference.check_in_code, user=department.reader)
    check_in(
        code=conference.check_in_code,
        user=department.reader,
        at=start - datetime.timedelta(minutes=15),
    )
    with pytest.raises(AttendanceRefused, match="check-in is closed"):
        check_in(
            code=conference.check_in_code,
            user=department.radiologist,
            at=conference.ends_at + datetime.timedelta(seconds=1),
        )


def test_a_late_arrival_gets_the_minutes_that_were_left(department):
    start = timezone.now() - datetime.timedelta(minutes=45)
    conference = make_conference(department.neuro, start=start)
    attendance = check_in(code=conference.check_in_code, user=department.reader).attendance
    assert attendance.minutes_present == 15 and not attendance.credited


def test_a_wrong_code_says_so_and_repeated_guesses_are_stopped(department):
    with pytest.raises(AttendanceRefused, match="No conference has the code"):
        check_in(code="ZZZZZZ", user=department.reader)
    for _ in range(9):
        with pytest.raises(AttendanceRefused):
            check_in(code="AAAAAA", user=department.reader)
    conference = make_conference(department.neuro, start=timezone.now())
    with pytest.raises(AttendanceRefused, match="Too many wrong codes"):
        check_in(code=conference.check_in_code, user=department.reader)


def test_the_check_in_page_takes_the_code_from_the_qr_link(client, department):
    conference = make_conference(department.neuro, start=timezone.now())
    client.force_login(department.trainee)
    url = reverse("conferences:check-in") + f"?code={conference.check_in_code}"
    assert conference.check_in_code in client.get(url).content.decode()
    response = client.post(url, {"code": conference.check_in_code})
    assert response["Location"] == reverse("conferences:live", args=[conference.pk])
    assert Attendance.objects.get(user=department.trainee).kind == "trainee"


def test_a_signed_in_visitor_without_a_role_checks_in_as_a_guest(client, department):
    conference = make_conference(department.neuro, start=timezone.now())
    client.force_login(department.outsider)
    response = client.post(reverse("conferences:check-in"), {"code": conference.check_in_code})
    assert response["Location"] == reverse("conferences:live", args=[conference.pk])
    assert Attendance.objects.get(user=department.outsider).kind == "guest"
    assert client.get(response["Location"]).status_code == 200


# Recordings ---------------------------------------------------------------------------


def allow_recordings(section, days=30):
    ConferenceSettings.objects.update_or_create(
        section=section, defaults={"recording_credit_allowed": True, "recording_window_days": days}
    )


def test_recording_credit_is_off_until_the_section_allows_it(department, held):
    with pytest.raises(AttendanceRefused, match="does not give credit for watching recordings"):
        recording_attest(conference=held, user=department.reader)


def test_a_radiologist_who_missed_the_meeting_attests_to_the_recording(client, department, held):
    allow_recordings(department.neuro)
    client.force_login(department.reader)
    url = reverse("conferences:attest-recording", args=[held.pk])
    assert "I attest" in client.get(url).content.decode()
    client.post(url)

    attendance = Attendance.objects.get(conference=held, user=department.reader)
    assert (attendance.recorded_via, attendance.credited, attendance.minutes_present) == (
        "recording",
        True,
        0,
    )


def test_the_recording_window_closes(department, held):
    allow_recordings(department.neuro, days=30)
    with pytest.raises(AttendanceRefused, match="within 30 days"):
        recording_attest(
            conference=held,
            user=department.reader,
            at=held.ends_at + datetime.timedelta(days=31),
        )


def test_someone_already_credited_cannot_attest_again(department, held):
    allow_recordings(department.neuro)
    attendance_mark(conference=held, user=department.reader, present=True, minutes=None, actor=None)
    with pytest.raises(AttendanceRefused, match="already credited"):
        recording_attest(conference=held, user=department.reader)


def test_too_short_a_stay_can_be_completed_with_the_recording(department, held):
    allow_recordings(department.neuro)
    attendance_mark(conference=held, user=department.reader, present=True, minutes=10, actor=None)
    attendance = recording_attest(conference=held, user=department.reader)
    assert (attendance.minutes_present, attendance.credited, attendance.recorded_via) == (
        10,
        True,
        "recording",
    )


# What reporting reads ------------------------------------------------------------------


def test_attendance_for_targets_counts_credited_attendings_of_held_conferences(department):
    today = timezone.localdate()
    conferences = []
    for days_ago in (20, 10, 5):
        start = timezone.now() - datetime.timedelta(days=days_ago)
        conference = make_conference(department.neuro, start=start)
        conference_update(conference=conference, actor=None, status=Conference.Status.HELD)
        conferences.append(conference)
    cancelled = make_conference(department.neuro, start=timezone.now() - datetime.timedelta(days=3))
    conference_update(conference=cancelled, actor=None, status=Conference.Status.CANCELLED)
    other_section = make_conference(
        department.body, start=timezone.now() - datetime.timedelta(days=2)
    )

    def tick(conference, user, minutes=None):
        attendance_mark(conference=conference, user=user, present=True, minutes=minutes, actor=None)

    for conference in conferences:
        tick(conference, department.reader)
        tick(conference, department.trainee)  # trainees are not counted toward targets
    tick(conferences[0], department.radiologist, minutes=10)  # present, not credited
    tick(conferences[1], department.radiologist)
    allow_recordings(department.neuro)
    recording_attest(conference=conferences[2], user=department.radiologist)
    tick(other_section, department.body_champion)

    targets = attendance_for_targets(
        sections=[department.neuro], start=today - datetime.timedelta(days=30), end=today
    )[department.neuro.pk]

    assert targets.conferences_held == 3
    assert targets.credited == {department.reader.pk: 3, department.radiologist.pk: 2}
    assert targets.by_recording == {department.radiologist.pk: 1}
    assert targets.for_user(department.trainee.pk) == 0
    narrower = attendance_for_targets(
        sections=[department.neuro],
        start=today - datetime.timedelta(days=12),
        end=today - datetime.timedelta(days=4),
    )[department.neuro.pk]
    assert narrower.conferences_held == 2

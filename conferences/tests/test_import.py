"""Importing attendance reports: the samples, idempotence, all-or-nothing, matching by hand."""

import datetime
import io
import random

import pytest
from django.core.management import CommandError, call_command

from conferences.attendance.imports import ImportRefused, attendance_import, import_row_resolve
from conferences.attendance.matching import PeopleIndex, name_forms
from conferences.attendance.services import attendance_mark, conference_settings_for
from conferences.models import (
    Attendance,
    AttendanceImport,
    AttendanceImportRow,
    AttendeeAlias,
)
from conferences.tests.conftest import SAMPLE_START, make_conference, sample_bytes
from peerlearning.models import AuditEvent, Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db


def attendance_table(conference) -> dict[str, tuple[int, bool, str]]:
    return {
        (a.user.email.split("@")[0] if a.user else a.guest_name): (
            a.minutes_present,
            a.credited,
            a.recorded_via,
        )
        for a in Attendance.objects.filter(conference=conference).select_related("user")
    }


def snapshot(conference):
    return sorted(
        Attendance.objects.filter(conference=conference).values_list(
            "user_id", "guest_name", "minutes_present", "credited", "recorded_via", "recorded_at"
        )
    )


def import_sample(conference, name, actor=None):
    return attendance_import(
        conference=conference, data=sample_bytes(name), filename=name, actor=actor
    )


def test_the_zoom_sample_imports_the_exact_people_and_minutes(sample_conference):
    outcome = import_sample(sample_conference, "zoom_participants.csv")

    zoom = Attendance.Via.ZOOM
    assert attendance_table(sample_conference) == {
        "avery.okafor": (61, True, zoom),
        "jordan.lindqvist": (58, True, zoom),
        "priya.ramanathan": (55, True, zoom),
        # Dropped and rejoined: 07:03:24-07:55:24 and 07:40:03-08:01:03 overlap, so 57m39s.
        "mateo.castillo": (58, True, zoom),
        "lena.novak": (49, True, zoom),
        "kofi.mensah": (46, True, zoom),
        "sora.takeda": (43, True, zoom),
        "ines.ferreira": (40, True, zoom),  # no e-mail in the file: matched by name
        "tomas.horvath": (37, True, zoom),
        "nadia.rahimi": (34, True, zoom),
        "eli.brandt": (31, True, zoom),
        "rhea.iyer": (28, False, zoom),  # under the 30 minutes that earn credit
        "oskar.nilsson": (4, False, zoom),
        # Two lines: her own 4 minutes and "Dr. Mina Park (Mina Park)", 07:02:03-08:00:03.
        "mina.park": (58, True, zoom),
        "dev.shah": (4, False, zoom),
    }
    assert [(r.name, r.minutes) for r in outcome.unmatched] == [("iPhone (Guest Speaker)", 45)]
    assert "guest" in outcome.unmatched[0].note
    how = {r.user.email.split("@")[0]: r.match for r in outcome.matched}
    assert how["ines.ferreira"] == AttendanceImportRow.Match.NAME
    assert how["avery.okafor"] == AttendanceImportRow.Match.EMAIL
    done = outcome.source_import
    assert (done.platform, done.rows_read, done.people_matched, done.names_unmatched) == (
        "zoom",
        18,
        15,
        1,
    )
    sample_conference.refresh_from_db()
    assert sample_conference.status == sample_conference.Status.HELD


def test_the_teams_sample_imports_the_exact_people_and_minutes(sample_conference):
    outcome = import_sample(sample_conference, "teams_attendance.csv")

    teams = Attendance.Via.TEAMS
    assert attendance_table(sample_conference) == {
        "avery.okafor": (61, True, teams),
        "jordan.lindqvist": (57, True, teams),
        "priya.ramanathan": (53, True, teams),
        "mateo.castillo": (49, True, teams),
        "lena.novak": (45, True, teams),
        "kofi.mensah": (41, True, teams),
        "sora.takeda": (37, True, teams),
        "ines.ferreira": (33, True, teams),
        "tomas.horvath": (29, False, teams),
        "nadia.rahimi": (25, False, teams),
        "eli.brandt": (21, False, teams),
        "rhea.iyer": (17, False, teams),
        "oskar.nilsson": (13, False, teams),
    }
    assert [(r.name, r.minutes) for r in outcome.unmatched] == [("Guest Presenter (External)", 25)]
    assert outcome.source_import.platform == "teams"


def test_reimporting_the_same_file_changes_nothing(sample_conference):
    import_sample(sample_conference, "zoom_participants.csv")
    before = snapshot(sample_conference)

    again = import_sample(sample_conference, "zoom_participants.csv")

    assert again.created is False
    assert snapshot(sample_conference) == before
    assert AttendanceImport.objects.filter(conference=sample_conference).count() == 1
    assert len(again.unmatched) == 1  # the answer still says what was not matched


def test_a_reexport_of_the_same_report_changes_no_attendance(sample_conference):
    import_sample(sample_conference, "teams_attendance.csv")
    before = snapshot(sample_conference)
    # The same report saved again as UTF-8 (other bytes, other checksum, same content).
    text = sample_bytes("teams_attendance.csv").decode("utf-16").encode("utf-8")

    outcome = attendance_import(conference=sample_conference, data=text, actor=None)

    assert outcome.created and outcome.attendance_created == outcome.attendance_updated == 0
    assert snapshot(sample_conference) == before


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x03garbage\xff\xfe" * 50, "binary"),
        (b"PK\x03\x04" + bytes(64), "Excel workbook"),
        (b"just,some,words\n1,2,3\n", "No participant table"),
        (
            b"Name,Email,Join time,Leave time,Duration (minutes)\n"
            b"Avery Okafor,avery.okafor@example-hospital.org,11/12/2026 07:00 AM,"
            b"11/12/2026 08:00 AM,60\n"
            b"Jordan Lindqvist,jordan.lindqvist@example-hospital.org,11/12/2026 07:00 AM,"
            b"11/12/2026 08:00 AM,an hour\n",
            "Line 3",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_problem_and_nothing_is_written(
    sample_conference, data, named
):
    audit_before = AuditEvent.objects.count()
    with pytest.raises(ImportRefused) as refused:
        attendance_import(conference=sample_conference, data=data, actor=None)

    assert named in " ".join(refused.value.problems)
    assert not Attendance.objects.filter(conference=sample_conference).exists()
    assert not AttendanceImport.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_a_report_of_another_day_is_refused(sample_department):
    next_week = make_conference(
        sample_department.neuro, start=SAMPLE_START + datetime.timedelta(days=7)
    )
    with pytest.raises(ImportRefused) as refused:
        import_sample(next_week, "zoom_participants.csv")
    assert "Check that you chose the right conference" in refused.value.problems[0]
    assert not Attendance.objects.exists()


def test_a_name_matched_by_hand_is_remembered_for_the_next_report(sample_conference):
    dept = sample_conference.section
    outcome = import_sample(sample_conference, "zoom_participants.csv")
    iphone = outcome.unmatched[0]
    dev = next(u for u in outcome.matched if u.user.email.startswith("dev.shah")).user

    import_row_resolve(row=iphone, actor=None, user=dev)

    # Dev's own 07:03:41-07:07:41 and the iPhone's 07:05:03-07:50:03 overlap: 46m22s.
    assert Attendance.objects.get(conference=sample_conference, user=dev).minutes_present == 46
    assert AttendeeAlias.objects.get(section=dept).user == dev
    iphone.refresh_from_db()
    assert iphone.match == AttendanceImportRow.Match.MANUAL
    assert AttendanceImport.objects.get().names_unmatched == 0
    # Next month's report names the iPhone again: it now matches by itself.
    next_month = make_conference(dept, start=SAMPLE_START + datetime.timedelta(days=28))
    text = sample_bytes("zoom_participants.csv").replace(b"11/12/2026", b"12/10/2026")
    again = attendance_import(conference=next_month, data=text, actor=None)
    assert again.unmatched == []
    dev_row = next(r for r in again.matched if r.user == dev)
    assert (len(dev_row.lines), dev_row.minutes) == (2, 46)


def test_an_unmatched_name_marked_as_guest_is_counted_apart(sample_conference):
    outcome = import_sample(sample_conference, "teams_attendance.csv")

    import_row_resolve(row=outcome.unmatched[0], actor=None, guest=True)

    guest = Attendance.objects.get(conference=sample_conference, user=None)
    assert (guest.guest_name, guest.kind, guest.minutes_present) == (
        "Guest Presenter (External)",
        Attendance.Kind.GUEST,
        25,
    )
    # Marking the same guest again after a re-export does not count their minutes twice.
    text = sample_bytes("teams_attendance.csv").decode("utf-16").encode("utf-8")
    again = attendance_import(conference=sample_conference, data=text, actor=None)
    import_row_resolve(row=again.unmatched[0], actor=None, guest=True)
    guest.refresh_from_db()
    assert guest.minutes_present == 25


def test_trainees_and_people_without_a_clinical_role_are_told_apart(sample_conference):
    text = (
        b"Name,Email,Duration (minutes)\n"
        b"Zara Haddad,zara.haddad@example-hospital.org,60\n"
        b"Yuki Sato,yuki.sato@example-hospital.org,60\n"
        b"Luca Moretti,luca.moretti@example-hospital.org,60\n"
    )
    attendance_import(conference=sample_conference, data=text, actor=None)
    kinds = {
        a.user.first_name: a.kind
        for a in Attendance.objects.filter(conference=sample_conference).select_related("user")
    }
    assert kinds == {"Zara": "trainee", "Yuki": "guest", "Luca": "attending"}


def test_a_report_does_not_lower_what_the_roster_recorded(sample_department, sample_conference):
    avery = sample_department.people["avery.okafor"]
    attendance_mark(
        conference=sample_conference, user=avery, present=True, minutes=None, actor=None
    )
    text = b"Name,Email,Duration (minutes)\nAvery Okafor,avery.okafor@example-hospital.org,20\n"

    attendance_import(conference=sample_conference, data=text, actor=None)

    row = Attendance.objects.get(conference=sample_conference, user=avery)
    assert (row.minutes_present, row.credited, row.recorded_via) == (60, True, "roster")


@pytest.mark.parametrize(
    ("raw", "forms"),
    [
        ("Okafor, Avery", ["avery okafor"]),
        ("Dr. Mina Park (Mina Park)", ["mina park"]),
        ("PARK, MINA, MD", ["mina park"]),
        ("José García-López", ["jose garcia lopez"]),
        ("iPhone (Guest Speaker)", ["guest speaker", "iphone"]),
    ],
)
def test_display_names_are_read_in_the_forms_people_use(raw, forms):
    assert name_forms(raw)[: len(forms)] == forms


def test_names_match_without_accents_case_or_order(sample_department):
    make_member(sample_department.neuro, Role.RADIOLOGIST, first_name="Zoë", last_name="Ångström")
    people = PeopleIndex.for_section(sample_department.neuro)
    for written in ("zoe angstrom", "Ångström, Zoë", "ANGSTROM ZOE", "Dr Zoë Ångström"):
        match = people.match(written, "")
        assert match.how == "name" and match.user_id is not None, written


def test_two_people_with_one_name_are_left_for_the_assistant(sample_department):
    make_member(
        sample_department.neuro,
        Role.RADIOLOGIST,
        first_name="Lena",
        last_name="Novak",
        email="lena.novak2@example-hospital.org",
    )
    match = PeopleIndex.for_section(sample_department.neuro).match("Lena Novak", "")
    assert match.user_id is None
    assert "2 people are named" in match.note


def _generated_zoom(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines = ["Name (original name),Email,Join time,Leave time,Duration (minutes),Guest"]
    for i in range(rows):
        start = rng.randint(0, 20)
        length = rng.randint(5, 60 - start)
        lines.append(
            f"Person {i},person{i % 400}@example.org,11/12/2026 07:{start:02d}:00 AM,"
            f"11/12/2026 {7 + (start + length) // 60:02d}:{(start + length) % 60:02d}:00 AM,"
            f"{length},No"
        )
    return ("\n".join(lines) + "\n").encode()


def test_the_number_of_queries_does_not_grow_with_the_report(
    sample_conference, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        attendance_import(conference=sample_conference, data=_generated_zoom(500), actor=None)
    assert AttendanceImportRow.objects.count() == 400  # 500 lines, 400 distinct addresses


def test_the_command_imports_a_file_and_reports_what_it_matched(sample_conference, tmp_path):
    path = tmp_path / "zoom.csv"
    path.write_bytes(sample_bytes("zoom_participants.csv"))
    out = io.StringIO()

    call_command("import_attendance", str(sample_conference.pk), str(path), stdout=out)

    assert "15 people matched, 1 names to match by hand" in out.getvalue()
    assert "unmatched iPhone (Guest Speaker), 45 min" in out.getvalue()
    again = io.StringIO()
    call_command("import_attendance", str(sample_conference.pk), str(path), stdout=again)
    assert "nothing changed" in again.getvalue()


def test_the_command_refuses_a_malformed_file_and_writes_nothing(sample_conference, tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(CommandError, match="not imported; nothing was changed"):
        call_command("import_attendance", str(sample_conference.pk), str(path))
    assert not Attendance.objects.exists()


def test_credit_needs_thirty_minutes_or_half_of_a_shorter_conference(sample_department):
    rule = conference_settings_for(sample_department.neuro)
    assert rule.credit_threshold(60) == 30
    assert rule.credit_threshold(90) == 30
    assert rule.credit_threshold(45) == 23
    assert rule.credit_threshold(20) == 10

import datetime
import json
import re
from pathlib import Path

import pytest
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core import mail
from django.utils import timezone

from peerlearning.models import AuditEvent, Membership, OutboundEmail, Role, Section, User
from peerlearning.roster import invitation_send, roster_import, roster_parse
from peerlearning.testing import UserFactory, make_member

SHARED_SAMPLE = Path(settings.BASE_DIR).parent / "shared" / "samples" / "roster.csv"
KEPT_SAMPLE = Path(__file__).parent / "data" / "roster.csv"
HEADER = "email,first_name,last_name,roles,section,participating\n"


@pytest.fixture(scope="module")
def sample_roster() -> bytes:
    """The real sample beside the repository, or the copy kept with the tests."""
    return (SHARED_SAMPLE if SHARED_SAMPLE.exists() else KEPT_SAMPLE).read_bytes()


def imported(text: str | bytes, **kwargs):
    parsed = roster_parse(text)
    assert parsed.ok, parsed.error_messages()
    return roster_import(rows=parsed.rows, actor=None, **kwargs)


def roster_state():
    return (
        sorted(User.objects.values_list("email", "first_name", "last_name", "password")),
        sorted(
            Membership.objects.values_list(
                "user__email", "section__slug", "role", "participating", "started_on", "ended_on"
            )
        ),
        sorted(Section.objects.values_list("slug", "name")),
    )


def test_the_kept_copy_matches_the_shared_sample():
    if not SHARED_SAMPLE.exists():
        pytest.skip("shared/samples is not beside the repository")
    assert KEPT_SAMPLE.read_bytes() == SHARED_SAMPLE.read_bytes()


# Reading the file -----------------------------------------------------------------------


def test_sample_roster_reads_as_twenty_people_without_problems(sample_roster):
    parsed = roster_parse(sample_roster)
    assert parsed.ok and not parsed.warnings
    assert len(parsed.rows) == 20
    shah = next(row for row in parsed.rows if row.email == "dev.shah@example-hospital.org")
    assert shah.roles == (Role.RADIOLOGIST, Role.CHAMPION)
    assert shah.line == 16
    kimura = next(row for row in parsed.rows if row.last_name == "Kimura")
    assert kimura.roles == (Role.ADMIN_ASSISTANT,) and kimura.participating is False


def test_bom_crlf_and_extra_whitespace_are_tolerated():
    text = (
        "\ufeffemail , First Name,last_name , roles,section ,participating\r\n"
        "  Ann.Lee@Example.org ,  Ann ,  Lee  Smith , Radiologist ; CHAMPION ,"
        " neuroradiology , Yes \r\n"
        "\r\n"
        ",,,,,\r\n"
    )
    parsed = roster_parse(text.encode("utf-8"))
    assert parsed.ok, parsed.error_messages()
    (row,) = parsed.rows
    assert (row.email, row.first_name, row.last_name) == ("ann.lee@example.org", "Ann", "Lee Smith")
    assert row.roles == (Role.RADIOLOGIST, Role.CHAMPION)
    assert (row.section, row.participating) == ("neuroradiology", True)


def test_columns_may_come_in_any_order_and_unknown_ones_are_ignored_with_a_warning():
    text = (
        "Section,Participating,Roles,Notes,Last Name,E-mail,First Name\n"
        "body,no,quality,likes coffee,Lee,ann@example.org,Ann\n"
    )
    parsed = roster_parse(text)
    assert parsed.ok, parsed.error_messages()
    assert parsed.rows[0].email == "ann@example.org"
    assert parsed.rows[0].roles == (Role.QUALITY,)
    assert parsed.warnings == ["The column “Notes” is not used and was ignored."]


def test_a_semicolon_separated_file_from_a_european_spreadsheet_is_read():
    text = (
        "email;first_name;last_name;roles;section;participating\n"
        'a@example.org;A;B;"radiologist;champion";body;y\n'
    )
    parsed = roster_parse(text)
    assert parsed.ok, parsed.error_messages()
    assert parsed.rows[0].roles == (Role.RADIOLOGIST, Role.CHAMPION)


def test_utf16_with_a_byte_order_mark_is_read():
    text = HEADER + "zoe@example.org,Zoë,Ångström,trainee,body,1\n"
    parsed = roster_parse(text.encode("utf-16"))
    assert parsed.ok, parsed.error_messages()
    assert parsed.rows[0].last_name == "Ångström"


@pytest.mark.parametrize(
    ("answer", "participating"),
    [
        ("yes", True),
        ("Y", True),
        ("TRUE", True),
        ("1", True),
        ("no", False),
        ("n", False),
        ("False", False),
        ("0", False),
    ],
)
def test_participating_accepts_yes_no_true_false_one_zero(answer, participating):
    parsed = roster_parse(HEADER + f"a@example.org,A,B,radiologist,body,{answer}\n")
    assert parsed.ok
    assert parsed.rows[0].participating is participating


def test_roles_are_case_and_space_tolerant_and_labels_are_understood():
    parsed = roster_parse(
        HEADER + "a@example.org,A,B,Admin Assistant; PL champion;LEADER ;leader,body,yes\n"
    )
    assert parsed.ok, parsed.error_messages()
    assert parsed.rows[0].roles == (Role.ADMIN_ASSISTANT, Role.CHAMPION, Role.LEADER)


def test_unknown_role_stops_the_whole_import_and_names_the_row(db):
    text = HEADER + (
        "a@example.org,Ann,Able,radiologist,neuro,yes\n"
        "b@example.org,Bob,Baker,radiologist,neuro,yes\n"
        "c@example.org,Cy,Cole,radiolgist,neuro,yes\n"
    )
    parsed = roster_parse(text)
    assert not parsed.ok
    assert [str(error) for error in parsed.errors] == [
        "Line 4: “radiolgist” is not a role (use one of: radiologist, trainee, champion, "
        "admin_assistant, leader, quality)."
    ]
    assert not User.objects.exists() and not Membership.objects.exists()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not-an-address,Ann,Able,radiologist,neuro,yes", "“not-an-address” is not a valid e-mail"),
        (",Ann,Able,radiologist,neuro,yes", "the e-mail address is empty"),
        ("a@example.org,,Able,radiologist,neuro,yes", "the first name is empty"),
        ("a@example.org,Ann,  ,radiologist,neuro,yes", "the last name is empty"),
        ("a@example.org,Ann,Able,,neuro,yes", "no role is given"),
        ("a@example.org,Ann,Able,radiologist,,yes", "the section is empty"),
        (
            "a@example.org,Ann,Able,radiologist,neuro,maybe",
            "participating is “maybe”; write yes or no",
        ),
        ("a@example.org,Ann,Able,radiologist,neuro,", "participating is empty"),
        (
            "a@example.org,Ann,Able,radiologist,neuro,yes,extra",
            "has 7 values but the header names 6",
        ),
    ],
)
def test_a_bad_row_is_refused_with_its_line_number_and_problem(line, problem):
    parsed = roster_parse(HEADER + "ok@example.org,Ok,Person,trainee,neuro,yes\n" + line + "\n")
    assert not parsed.ok
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 3
    assert problem in str(parsed.errors[0])
    assert str(parsed.errors[0]).startswith("Line 3: ")


def test_every_problem_of_every_row_is_reported_not_only_the_first():
    parsed = roster_parse(
        HEADER
        + "bad,,Able,cook,neuro,perhaps\n"
        + "ok@example.org,Ok,Person,trainee,neuro,yes\n"
        + "x,A,B,leader,body,no\n"
    )
    messages = parsed.error_messages()
    assert len(messages) == 2
    assert messages[0].startswith("Line 2: ")
    for problem in ("not a valid e-mail", "first name is empty", "“cook” is not a role", "perhaps"):
        assert problem in messages[0]
    assert messages[1].startswith("Line 4: ")


def test_a_long_list_of_problems_is_cut_short_and_says_how_many_more():
    parsed = roster_parse(HEADER + "bad,A,B,trainee,body,yes\n" * 60)
    messages = parsed.error_messages()
    assert len(messages) == 51
    assert messages[-1] == "… and 10 more problems."


def test_line_numbers_count_lines_of_the_file_including_blank_and_multiline_ones():
    text = (
        HEADER + '\nok@example.org,"Ok\nStill",Person,trainee,neuro,yes\nbad,A,B,leader,body,no\n'
    )
    parsed = roster_parse(text)
    assert [error.line for error in parsed.errors] == [5]
    assert parsed.rows[0].first_name == "Ok Still"


def test_a_missing_column_is_named():
    parsed = roster_parse(
        "email,first_name,last_name,section,participating\na@example.org,A,B,body,yes\n"
    )
    assert not parsed.ok
    assert "Line 1: the header has no “roles” column." in parsed.error_messages()[0]


def test_two_missing_columns_are_both_named():
    parsed = roster_parse("email,first_name,last_name,section\n")
    assert "no “roles”, “participating” columns" in parsed.error_messages()[0]


def test_a_column_named_twice_is_refused():
    parsed = roster_parse("email,E-mail,first_name,last_name,roles,section,participating\n")
    assert "the column “email” appears twice" in parsed.error_messages()[0]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b"  \n"])
def test_an_empty_file_is_refused_with_a_clear_message(content):
    parsed = roster_parse(content)
    assert parsed.error_messages() == ["The file is empty: it has no header line and no people."]


def test_a_header_without_people_is_refused():
    parsed = roster_parse(HEADER)
    assert parsed.error_messages() == ["The file has a header line but no people."]


def test_a_file_that_is_not_utf8_is_refused_with_the_line():
    data = (HEADER + "a@example.org,Zoë,B,trainee,body,yes\n").encode("cp1252")
    parsed = roster_parse(data)
    assert parsed.error_messages() == [
        "Line 2: is not UTF-8 text. Save the file as “CSV UTF-8” and import it again."
    ]


def test_a_person_listed_twice_in_a_section_has_their_roles_merged(db):
    summary = imported(
        HEADER
        + "a@example.org,Ann,Able,radiologist,neuro,yes\n"
        + "A@example.org,Ann,Able,champion;radiologist,neuro,yes\n"
    )
    assert summary.users_created == 1
    assert summary.memberships_created == 2
    assert set(Membership.objects.values_list("role", flat=True)) == {
        Role.RADIOLOGIST,
        Role.CHAMPION,
    }


def test_a_person_listed_twice_with_different_names_is_refused():
    parsed = roster_parse(
        HEADER
        + "a@example.org,Ann,Able,radiologist,neuro,yes\n"
        + "a@example.org,Anne,Able,champion,neuro,yes\n"
    )
    assert parsed.error_messages() == [
        "Line 3: a@example.org is on line 2 as “Ann Able” and here as “Anne Able”; use one name."
    ]


def test_the_same_role_twice_with_different_participating_is_refused():
    parsed = roster_parse(
        HEADER
        + "a@example.org,Ann,Able,radiologist,neuro,yes\n"
        + "a@example.org,Ann,Able,radiologist,Neuro,no\n"
    )
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 3
    assert "different participating value" in parsed.errors[0].message


# Applying it ----------------------------------------------------------------------------


def test_importing_the_sample_creates_its_people_section_and_memberships(db, sample_roster):
    summary = imported(sample_roster)
    assert (summary.users_created, summary.users_updated, summary.users_unchanged) == (20, 0, 0)
    assert (summary.memberships_created, summary.memberships_unchanged) == (22, 0)
    assert summary.sections_created == 1
    section = Section.objects.get()
    assert (section.slug, section.name) == ("neuroradiology", "Neuroradiology")
    assert Membership.objects.participating_radiologists().count() == 16
    assert set(
        Membership.objects.filter(user__email="luca.moretti@example-hospital.org").values_list(
            "role", flat=True
        )
    ) == {Role.LEADER, Role.RADIOLOGIST}
    assert Membership.objects.get(user__last_name="Kimura").participating is False


def test_people_created_by_an_import_have_no_usable_password(db, sample_roster):
    imported(sample_roster)
    assert not any(user.has_usable_password() for user in User.objects.all())


def test_reimporting_the_same_roster_changes_nothing(db, sample_roster):
    imported(sample_roster)
    before, events = roster_state(), AuditEvent.objects.count()

    summary = imported(sample_roster)

    assert roster_state() == before
    assert AuditEvent.objects.count() == events
    assert not summary.changed and summary.changes == []
    assert summary.counts() == {
        "users_created": 0,
        "users_updated": 0,
        "users_unchanged": 20,
        "sections_created": 0,
        "memberships_created": 0,
        "memberships_updated": 0,
        "memberships_unchanged": 22,
        "memberships_ended": 0,
    }


def test_an_import_records_one_audit_event_with_counts_and_never_names(db, sample_roster):
    imported(sample_roster)
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.IMPORT
    assert event.object_type == "peerlearning.membership"
    assert event.detail["users_created"] == 20 and event.detail["memberships_created"] == 22
    assert event.detail["rows"] == 20
    recorded = json.dumps(event.detail).lower()
    assert "okafor" not in recorded and "@" not in recorded and "neuroradiology" not in recorded


def test_the_audit_event_names_the_acting_administrator(department, sample_roster):
    parsed = roster_parse(sample_roster)
    roster_import(rows=parsed.rows, actor=department.site_admin, source="admin")
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT)
    assert event.actor_id == department.site_admin.pk
    assert event.detail["source"] == "admin"


def test_an_existing_section_is_found_by_slug_or_by_name(department):
    summary = imported(
        HEADER
        + "a@example.org,Ann,Able,radiologist,NEURORADIOLOGY,yes\n"
        + "b@example.org,Bo,Bell,radiologist,Body Imaging,yes\n"
        + "c@example.org,Cy,Cole,radiologist,body,yes\n"
    )
    assert summary.sections_created == 0
    assert Membership.objects.get(user__email="a@example.org").section == department.neuro
    assert Membership.objects.get(user__email="b@example.org").section == department.body
    assert Membership.objects.get(user__email="c@example.org").section == department.body


def test_an_unknown_section_is_created_with_a_readable_name(db):
    imported(
        HEADER
        + "a@example.org,Ann,Able,radiologist,pediatric-imaging,yes\n"
        + "b@example.org,Bo,Bell,radiologist,Cardiac CT,yes\n"
        + "c@example.org,Cy,Cole,radiologist,cardiac-ct,yes\n"
    )
    assert sorted(Section.objects.values_list("slug", "name")) == [
        ("cardiac-ct", "Cardiac CT"),
        ("pediatric-imaging", "Pediatric Imaging"),
    ]


def test_an_existing_person_gets_the_new_name_and_keeps_roles_the_file_does_not_list(department):
    rowan = department.radiologist
    summary = imported(HEADER + f"{rowan.email.upper()},Rowan,Submitter-Hale,trainee,body,yes\n")
    rowan.refresh_from_db()
    assert rowan.last_name == "Submitter-Hale"
    assert rowan.has_usable_password()
    assert set(rowan.memberships.values_list("section__slug", "role")) == {
        ("neuroradiology", Role.RADIOLOGIST),
        ("body", Role.TRAINEE),
    }
    assert (summary.users_updated, summary.memberships_created) == (1, 1)


def test_a_participating_change_updates_the_membership(department):
    assistant = department.assistant
    summary = imported(
        HEADER + f"{assistant.email},Ash,Assistant,admin_assistant,neuroradiology,yes\n"
    )
    assert summary.memberships_updated == 1
    assert Membership.objects.get(user=assistant).participating is True


def test_an_ended_membership_listed_again_is_reopened(department):
    membership = Membership.objects.get(user=department.trainee)
    membership.ended_on = timezone.localdate()
    membership.save()
    summary = imported(
        HEADER + f"{department.trainee.email},Tate,Trainee,trainee,neuroradiology,yes\n"
    )
    membership.refresh_from_db()
    assert membership.ended_on is None
    assert summary.memberships_updated == 1
    assert "rejoins" in summary.changes[0].description


def test_a_membership_ending_in_the_future_is_left_alone(department):
    membership = Membership.objects.get(user=department.trainee)
    membership.ended_on = timezone.localdate() + datetime.timedelta(days=30)
    membership.save()
    summary = imported(
        HEADER + f"{department.trainee.email},Tate,Trainee,trainee,neuroradiology,yes\n"
    )
    assert not summary.changed
    membership.refresh_from_db()
    assert membership.ended_on is not None


def test_sync_ends_memberships_missing_from_the_file_in_its_sections_only(department):
    today = timezone.localdate()
    newcomer = make_member(department.neuro, Role.TRAINEE, first_name="New", last_name="Comer")
    Membership.objects.filter(user=newcomer).update(started_on=today)
    summary = imported(
        HEADER + f"{department.champion.email},Cass,Champion,radiologist,neuroradiology,yes\n",
        sync=True,
    )
    in_force = set(
        Membership.objects.current().filter(section=department.neuro).values_list("user", "role")
    )
    assert in_force == {(department.champion.pk, Role.RADIOLOGIST)}
    # Ended today, kept for history; the one that started today never was in force.
    assert Membership.objects.get(user=department.reader).ended_on == today
    assert not Membership.objects.filter(user=newcomer).exists()
    assert Membership.objects.filter(section=department.body, ended_on=None).count() == 2
    assert summary.memberships_ended == 8
    assert AuditEvent.objects.get(action=AuditEvent.Action.IMPORT).detail["sync"] is True


def test_without_sync_nothing_is_ended(department):
    summary = imported(
        HEADER + f"{department.champion.email},Cass,Champion,radiologist,neuroradiology,yes\n"
    )
    assert summary.memberships_ended == 0
    assert Membership.objects.filter(ended_on__isnull=False).count() == 0


def test_a_dry_run_reports_the_changes_and_writes_nothing(db, sample_roster):
    parsed = roster_parse(sample_roster)
    summary = roster_import(rows=parsed.rows, actor=None, dry_run=True)
    assert summary.users_created == 20 and summary.changed
    assert summary.changes[0].description == "new section “Neuroradiology” (neuroradiology)"
    assert not User.objects.exists() and not Section.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_import_runs_a_fixed_number_of_queries(
    db, sample_roster, django_assert_max_num_queries
):
    parsed = roster_parse(sample_roster)
    with django_assert_max_num_queries(12):
        roster_import(rows=parsed.rows, actor=None)
    with django_assert_max_num_queries(8):
        roster_import(rows=parsed.rows, actor=None)


def test_importing_no_rows_is_a_programming_error(db):
    with pytest.raises(ValueError):
        roster_import(rows=[], actor=None)


# Invitations ----------------------------------------------------------------------------


def test_an_invitation_is_owed_once_a_day_with_a_working_password_link(
    client, department, settings
):
    settings.SITE_URL = "https://pl.example-hospital.org"
    person = UserFactory(first_name="Ivy", last_name="Invitee")
    person.set_unusable_password()
    person.save()

    email, created = invitation_send(user=person, actor=department.site_admin)
    again, created_again = invitation_send(user=person, actor=department.site_admin)

    assert created and not created_again and again.pk == email.pk
    assert email.key == f"invitation:{person.pk}:{timezone.localdate():%Y%m%d}"
    assert email.to == person.email
    link = re.search(r"https://\S+/accounts/password/reset/key/\S+/", email.body_text)[0]
    assert link.startswith("https://pl.example-hospital.org/accounts/password/reset/key/")
    assert f"/key/{user_pk_to_url_str(person)}-" in link
    assert f'href="{link}"' in email.body_html
    response = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    assert response.status_code == 200
    assert b"password1" in response.content
    assert (
        AuditEvent.objects.filter(object_id=str(person.pk), detail__what="invitation sent").count()
        == 1
    )


def test_an_invitation_is_delivered_through_the_outbox(
    department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_send(user=department.outsider, actor=None)
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT
    assert mail.outbox[0].to == [department.outsider.email]


def test_a_deactivated_person_is_not_invited(department):
    department.outsider.is_active = False
    department.outsider.save()
    with pytest.raises(ValueError, match="deactivated"):
        invitation_send(user=department.outsider, actor=None)
    assert not OutboundEmail.objects.exists()

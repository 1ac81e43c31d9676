"""Bad input drills: every form, import and API endpoint that exists, fed hostile input.

Each is answered with a clear error (a form error, a 400 with a message, a command error),
never a 500, and nothing is written. What is accepted (a script tag is just text in a
description) is stored as typed and shown escaped on every page that shows it.

Endpoints: the submission form and API; replies and champion notes; conference scheduling
(page and API), improvement actions, check-in; the roster import (command and admin page);
the attendance import (page, command, API). The TAT import (reporting) and DICOM uploads
(anonymizer) had no finished endpoint when this was written.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from conferences.models import Attendance, AttendanceImport, Conference, ImprovementAction
from conferences.tests.conftest import SAMPLE_START, make_conference, sample_bytes
from peerlearning.models import AuditEvent, Membership, OutboundEmail, User
from submissions.models import Reply, Submission, SubmissionEvent
from tests.security import hostile
from tests.security.conftest import api_client_for, case_for
from tests.security.hostile import ATTRIBUTE, SCRIPT, SQL, assert_escaped

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    """Rows that a refused request must not add."""
    return {
        model.__name__: model.objects.count()
        for model in (
            Submission,
            SubmissionEvent,
            Reply,
            OutboundEmail,
            Conference,
            Attendance,
            AttendanceImport,
            ImprovementAction,
            User,
            Membership,
        )
    }


@pytest.fixture(scope="module")
def huge_file(tmp_path_factory):
    """50 MB of well-formed CSV, written once for the module and never kept."""
    return hostile.huge_csv(tmp_path_factory.mktemp("huge") / "huge.csv", megabytes=50)


@pytest.fixture(scope="module")
def bomb():
    return hostile.zip_bomb(expanded_gib=4)


def hostile_files(huge_file, bomb) -> dict[str, tuple[str, bytes]]:
    """name -> (file name, content) for every upload drill."""
    return {
        "empty": ("report.csv", b""),
        "binary": ("report.csv", hostile.binary_bytes()),
        "not utf-8": ("report.csv", hostile.not_utf8_csv()),
        "dicom": ("report.csv", hostile.dicom_bytes()),
        "png named csv": ("report.csv", hostile.png_bytes()),
        "million columns in a row": ("report.csv", hostile.million_columns_row()),
        "zip bomb": ("report.csv", bomb),
        "script in the file name": (f"{SCRIPT}.csv", hostile.binary_bytes(256)),
        "50 MB": ("report.csv", huge_file.read_bytes()),
    }


DRILLS = [
    "empty",
    "binary",
    "not utf-8",
    "dicom",
    "png named csv",
    "million columns in a row",
    "zip bomb",
    "script in the file name",
    "50 MB",
]


# The submission form and API -------------------------------------------------------------------


def form_data(department, **overrides):
    data = {
        "section": department.neuro.pk,
        "accession_number": "BAD0000001",
        "reason": "discrepancy",
        "reason_detail": "perceptual",
        "description": f"{SCRIPT} {SQL}",
        "learning_point": ATTRIBUTE,
        "reader_kind": "roster",
        "reader": f"Quinn Reader <{department.reader.email}>",
        "required_actions": ["other"],
        "action_other": ATTRIBUTE,
        "urgency": "routine",
        "attestation": "on",
    }
    data.update(overrides)
    return data


def test_hostile_text_in_a_submission_is_kept_as_typed_and_shown_escaped_everywhere(
    client, department
):
    client.force_login(department.radiologist)
    response = client.post(reverse("submissions:submit"), form_data(department))
    assert response.status_code == 302
    case = Submission.objects.get()
    assert case.description == f"{SCRIPT} {SQL}"  # SQL is data: the table is still there
    assert case.learning_point == ATTRIBUTE

    surfaces = {}
    client.force_login(department.radiologist)
    surfaces["mine"] = client.get(reverse("submissions:mine"))
    surfaces["mine detail"] = client.get(reverse("submissions:mine-detail", args=[case.pk]))
    client.force_login(department.reader)
    surfaces["feedback"] = client.get(reverse("submissions:feedback-detail", args=[case.pk]))
    surfaces["inbox"] = client.get(reverse("submissions:feedback-inbox"))
    client.force_login(department.champion)
    surfaces["queue"] = client.get(reverse("submissions:queue"))
    surfaces["review"] = client.get(reverse("submissions:review", args=[case.pk]))
    for where, page in surfaces.items():
        assert page.status_code == 200, where
        assert_escaped(page.content.decode(), where)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in surfaces["review"].content.decode()
    for email in OutboundEmail.objects.all():
        assert_escaped(email.body_html, f"e-mail {email.key}")


@pytest.mark.parametrize(
    "field, value",
    [
        ("accession_number", SCRIPT),
        ("accession_number", SQL),
        ("accession_number", "A" * 10_000),
        ("accession_number", "A1234567\x00"),
        ("description", "x" * 5001),
        ("description", "nul \x00 byte"),
        ("reason", "<b>discrepancy</b>"),
        ("section", "1 OR 1=1"),
        ("reader", f"{SCRIPT} <{SCRIPT}@example.org>"),
        ("urgency", ATTRIBUTE),
        ("required_actions", ["addendum", SQL]),
    ],
)
def test_hostile_values_in_the_submission_form_are_refused_with_a_message(
    client, department, field, value
):
    client.force_login(department.radiologist)
    before = counts()

    response = client.post(reverse("submissions:submit"), form_data(department, **{field: value}))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field-error' in html or "errorlist" in html or "error" in html
    assert_escaped(html, field)
    assert counts() == before


def api_body(**overrides):
    body = {
        "accession_number": "BADAPI0001",
        "reason": "interesting",
        "description": f"{SCRIPT} {SQL}",
        "learning_point": ATTRIBUTE,
    }
    body.update(overrides)
    return body


def test_hostile_text_through_the_api_is_stored_as_typed_and_returned_as_json(department):
    api = api_client_for(department.radiologist)

    response = api.post(reverse("api:submission-list"), api_body(), format="json")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["description"] == f"{SCRIPT} {SQL}"
    assert Submission.objects.get().learning_point == ATTRIBUTE


@pytest.mark.parametrize(
    "raw, content_type, status",
    [
        ("[" * 100_000, "application/json", 400),  # deeper than Python's JSON decoder goes
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, "application/json", 400),
        (b"\xff\xfe\x00\x01garbage", "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ('"just a string"', "application/json", 400),
        ("null", "application/json", 400),
        ("{", "application/json", 400),
        ("", "application/json", 400),
        (json.dumps(api_body(description="x" * (11 * 1024 * 1024))), "application/json", 400),
        ("<submission/>", "application/xml", 415),
        ("accession_number=A1&reason=x", "text/plain", 415),
    ],
    ids=[
        "deep array",
        "deep object",
        "binary",
        "a list",
        "a string",
        "null",
        "truncated",
        "empty",
        "11 MB",
        "xml",
        "text",
    ],
)
def test_malformed_api_bodies_are_a_400_with_a_message_and_write_nothing(
    department, raw, content_type, status
):
    api = api_client_for(department.radiologist)
    before = counts()

    response = api.generic("POST", reverse("api:submission-list"), raw, content_type)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()  # a message, not an empty body
    assert counts() == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"accession_number": SCRIPT},
        {"accession_number": ["A1234567"]},
        {"accession_number": {"$gt": ""}},
        {"reason": SQL},
        {"description": None},
        {"description": "x" * 5001},
        {"required_actions": "addendum"},
        {"required_actions": [SQL]},
        {"section": "../../etc/passwd"},
        {"section": "body"},  # a real section the caller does not submit to
        {"original_reader_email": SCRIPT},
        {"urgency": 10**100},
        {"attestation": "maybe"},
    ],
)
def test_hostile_api_fields_are_a_400_naming_the_field(department, overrides):
    api = api_client_for(department.radiologist)
    before = counts()

    response = api.post(reverse("api:submission-list"), api_body(**overrides), format="json")

    assert response.status_code == 400
    assert set(response.json()) & ({*overrides} | {"non_field_errors"}), response.json()
    assert counts() == before


def test_too_many_fields_is_refused_on_pages_and_the_api(client, department):
    client.force_login(department.radiologist)
    flood = {f"field{i}": "x" for i in range(1200)}
    before = counts()

    page = client.post(reverse("submissions:submit"), flood)
    api = api_client_for(department.radiologist).post(reverse("api:submission-list"), flood)

    assert page.status_code == 400
    assert api.status_code == 400
    assert "more than 1000 fields" in api.json()["detail"]
    assert counts() == before


# Replies, notes and the pages that show them ------------------------------------------------------


def test_hostile_replies_and_notes_are_shown_escaped_to_the_other_side(client, department):
    case = case_for(department.radiologist, department.neuro, department.reader, "BADREPLY01")
    client.force_login(department.reader)
    client.post(reverse("submissions:feedback-reply", args=[case.pk]), {"body": SCRIPT})
    client.force_login(department.champion)
    client.post(reverse("submissions:review-note", args=[case.pk]), {"text": ATTRIBUTE})
    assert Reply.objects.get().body == SCRIPT

    client.force_login(department.radiologist)
    assert_escaped(client.get(reverse("submissions:mine-detail", args=[case.pk])).content.decode())
    client.force_login(department.champion)
    assert_escaped(client.get(reverse("submissions:review", args=[case.pk])).content.decode())


def test_an_oversized_or_empty_reply_is_refused_and_nothing_is_posted(client, department):
    case = case_for(department.radiologist, department.neuro, department.reader, "BADREPLY02")
    client.force_login(department.reader)
    url = reverse("submissions:feedback-reply", args=[case.pk])

    for body in ("x" * 5001, "", "   "):
        response = client.post(url, {"body": body}, follow=True)
        assert response.status_code == 200
        assert "Write a message first." in response.content.decode()
    assert not Reply.objects.exists()


# Conferences, improvement actions, check-in ------------------------------------------------------


def test_a_hostile_conference_title_is_shown_escaped(client, department):
    client.force_login(department.champion)
    response = client.post(
        reverse("conferences:create"),
        {
            "section": department.neuro.pk,
            "title": SCRIPT,
            "starts_at": "2030-01-10T07:00",
            "ends_at": "2030-01-10T08:00",
            "location": ATTRIBUTE,
            "cme_hours": "1",
            "status": "scheduled",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    conference = Conference.objects.get()
    assert conference.title == SCRIPT

    for url in (
        reverse("conferences:list"),
        reverse("conferences:detail", args=[conference.pk]),
        reverse("conferences:edit", args=[conference.pk]),
        reverse("conferences:roster", args=[conference.pk]),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert_escaped(page.content.decode(), url)
    client.force_login(department.radiologist)
    assert_escaped(client.get(reverse("conferences:detail", args=[conference.pk])).content.decode())


@pytest.mark.parametrize(
    "field, value",
    [
        ("virtual_url", "javascript:alert(1)"),
        ("virtual_url", "data:text/html,<script>alert(1)</script>"),
        ("title", "x" * 1000),
        ("starts_at", SQL),
        ("cme_hours", "1e999"),
        ("cme_hours", "-5"),
        ("section", "0 OR 1=1"),
    ],
)
def test_hostile_conference_fields_are_refused_on_the_page_and_the_api(
    client, department, field, value
):
    page_data = {
        "section": department.neuro.pk,
        "title": "Conference",
        "starts_at": "2030-01-10T07:00",
        "ends_at": "2030-01-10T08:00",
        "location": "Room 1",
        "cme_hours": "1",
        "status": "scheduled",
        field: value,
    }
    api_data = {
        "section": department.neuro.slug,
        "title": "Conference",
        "starts_at": "2030-01-10T07:00:00Z",
        "ends_at": "2030-01-10T08:00:00Z",
        "location": "Room 1",
        "cme_hours": "1.00",
        field: value,
    }
    client.force_login(department.champion)
    before = counts()

    page = client.post(reverse("conferences:create"), page_data)
    api = api_client_for(department.champion).post(
        reverse("api:conference-list"), api_data, format="json"
    )

    assert page.status_code == 200
    assert_escaped(page.content.decode(), field)
    assert api.status_code == 400, api.content
    assert counts() == before


def test_a_hostile_improvement_action_is_shown_escaped(client, department):
    client.force_login(department.champion)
    response = client.post(
        reverse("conferences:action-create"),
        {
            "section": department.neuro.pk,
            "title": SCRIPT,
            "category": "other",
            "description": ATTRIBUTE,
            "origin_text": SQL,
            "status": "proposed",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    action = ImprovementAction.objects.get()

    for user in (department.champion, department.leader):
        client.force_login(user)
        for url in (
            reverse("conferences:actions"),
            reverse("conferences:action-detail", args=[action.pk]),
        ):
            page = client.get(url)
            assert page.status_code == 200, url
            assert_escaped(page.content.decode(), url)


@pytest.mark.parametrize("code", [SCRIPT, SQL, "x" * 500, "\x00\x01\x02", "%00"])
def test_a_hostile_check_in_code_is_refused_with_a_message(client, department, code):
    client.force_login(department.radiologist)
    before = counts()

    page = client.post(reverse("conferences:check-in"), {"code": code})
    linked = client.get(reverse("conferences:check-in"), {"code": code})

    assert page.status_code == linked.status_code == 200
    assert_escaped(page.content.decode())
    assert_escaped(linked.content.decode())
    assert 'class="field-error' in page.content.decode() or "errorlist" in page.content.decode()
    assert counts() == before


# The attendance import: page, API, command -------------------------------------------------


@pytest.fixture
def conference(department):
    return make_conference(department.neuro, start=SAMPLE_START, actor=department.champion)


@pytest.mark.parametrize("drill", DRILLS)
def test_the_attendance_import_page_refuses_hostile_files(
    client, department, conference, huge_file, bomb, drill
):
    name, content = hostile_files(huge_file, bomb)[drill]
    client.force_login(department.assistant)
    before = counts()

    response = client.post(
        reverse("conferences:attendance-import", args=[conference.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "not imported" in html or "field-error" in html or "errorlist" in html, html[-3000:]
    assert_escaped(html, drill)
    assert counts() == before


@pytest.mark.parametrize("drill", DRILLS)
def test_the_attendance_import_api_refuses_hostile_files(
    department, conference, huge_file, bomb, drill
):
    name, content = hostile_files(huge_file, bomb)[drill]
    before = counts()

    response = api_client_for(department.assistant).post(
        reverse("api:conference-attendance-import", args=[conference.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["problems"] and body["detail"] == "The file was not imported; nothing was changed."
    assert counts() == before


@pytest.mark.parametrize("drill", DRILLS)
def test_the_attendance_import_command_refuses_hostile_files(
    conference, huge_file, bomb, drill, tmp_path
):
    _, content = hostile_files(huge_file, bomb)[drill]
    path = huge_file if drill == "50 MB" else tmp_path / "report.csv"
    if drill != "50 MB":
        path.write_bytes(content)
    before = counts()

    with pytest.raises(CommandError, match="not imported; nothing was changed"):
        call_command("import_attendance", str(conference.pk), str(path))

    assert counts() == before


def test_hostile_names_in_an_attendance_report_are_shown_escaped(client, department, conference):
    report = sample_bytes("zoom_participants.csv").replace(b"Avery Okafor", SCRIPT.encode(), 1)
    report = report.replace(b"Mina Park", ATTRIBUTE.replace('"', "'").encode(), 1)
    client.force_login(department.assistant)

    response = client.post(
        reverse("conferences:attendance-import", args=[conference.pk]),
        {"file": SimpleUploadedFile("zoom.csv", report, content_type="text/csv")},
        follow=True,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;script&gt;" in html
    assert_escaped(html)


# The roster import: command and admin page -------------------------------------------------


def roster_upload(client, name: str, content: bytes):
    return client.post(
        reverse("admin:peerlearning_membership_import"),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


@pytest.mark.parametrize("drill", [d for d in DRILLS if d != "million columns in a row"])
def test_the_roster_admin_page_refuses_hostile_files(client, department, huge_file, bomb, drill):
    name, content = hostile_files(huge_file, bomb)[drill]
    client.force_login(department.site_admin)
    before = counts()

    response = roster_upload(client, name, content)

    assert response.status_code == 200
    html = response.content.decode()
    assert "errornote" in html or "errorlist" in html, html[-3000:]
    assert "Confirm import" not in html
    assert_escaped(html, drill)
    assert counts() == before


def test_a_roster_row_of_a_million_columns_is_refused_by_line(client, department):
    client.force_login(department.site_admin)
    before = counts()

    response = roster_upload(client, "roster.csv", hostile.million_columns_row())

    assert "Line 2: has 1000006 values but the header names 6." in response.content.decode()
    assert counts() == before


def test_a_roster_header_of_a_million_columns_is_refused_with_a_short_page(client, department):
    client.force_login(department.site_admin)

    response = roster_upload(client, "roster.csv", hostile.million_columns_header())

    assert "errornote" in response.content.decode()
    assert len(response.content) < 200_000


@pytest.mark.parametrize(
    "drill",
    ["empty", "binary", "not utf-8", "dicom", "png named csv", "million columns in a row"],
)
def test_the_roster_command_refuses_hostile_files(huge_file, bomb, drill, tmp_path, db):
    _, content = hostile_files(huge_file, bomb)[drill]
    path = tmp_path / "roster.csv"
    path.write_bytes(content)
    before = counts()

    with pytest.raises(CommandError, match="not imported; nothing was changed"):
        call_command("import_roster", str(path))

    assert counts() == before


def test_the_roster_command_refuses_a_zip_bomb_without_inflating_it(bomb, tmp_path, db):
    path = tmp_path / "roster.csv"
    path.write_bytes(bomb)

    # Refused before it is read whole: larger than a roster may be (or, if small, not text).
    with pytest.raises(CommandError, match="not imported; nothing was changed"):
        call_command("import_roster", str(path))


def test_the_roster_command_refuses_a_50_megabyte_file(huge_file, db):
    with pytest.raises(CommandError, match="larger than"):
        call_command("import_roster", str(huge_file))


def test_hostile_names_in_a_roster_are_stored_as_text_and_shown_escaped(
    client, department, tmp_path
):
    path = tmp_path / "roster.csv"
    last_name = ATTRIBUTE.replace('"', "")  # "><img …> without the CSV's quote character
    row = f'evil@example.org,{SCRIPT},"{last_name}",radiologist,neuroradiology,yes\n'
    path.write_bytes(hostile.ROSTER_HEADER + row.encode())
    call_command("import_roster", str(path))
    evil = User.objects.get(email="evil@example.org")
    assert evil.first_name == SCRIPT

    client.force_login(department.radiologist)
    options = client.get(reverse("submissions:reader-search"), {"reader": "evil"})
    assert "evil@example.org" in options.content.decode()
    assert_escaped(options.content.decode(), "reader type-ahead")
    client.force_login(department.site_admin)
    admin_list = client.get(reverse("admin:peerlearning_membership_changelist"))
    assert_escaped(admin_list.content.decode(), "admin membership list")
    conference = make_conference(department.neuro, actor=department.champion)
    client.force_login(department.champion)
    roster = client.get(reverse("conferences:roster", args=[conference.pk]))
    assert_escaped(roster.content.decode(), "conference roster")


def test_no_drill_left_an_audit_trail_of_phi(db):
    """Refused imports record nothing; the drills above ran in their own transactions."""
    assert not AuditEvent.objects.filter(detail__icontains="script").exists()

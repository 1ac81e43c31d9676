"""Object-level rules under attack: changing an id in a URL or an API call reaches nothing.

tests/test_access_matrix.py proves who may open each *kind* of page. These tests take people
who hold the right role and point them at objects that are not theirs: another section's
case, conference, attendance and improvement actions; another radiologist's submission. For
every such id the answer is the same as for an id that does not exist (404, or the 403 that
the person's roles get everywhere), so a response never tells whether an object exists, and
a POST that is refused changes nothing in the database.
"""

import json

import pytest
from django.urls import reverse

from conferences.attendance.imports import attendance_import
from conferences.models import (
    Attendance,
    AttendanceImport,
    Conference,
    ImprovementAction,
)
from conferences.tests.conftest import SAMPLE_START, make_conference, sample_bytes
from peerlearning.models import AuditEvent, OutboundEmail
from submissions.models import Reply, RequiredAction, Submission, SubmissionEvent
from tests.security.conftest import api_client_for, case_for

pytestmark = pytest.mark.django_db

MISSING = 987654


def snapshot() -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        list(Submission.objects.order_by("pk").values()),
        list(RequiredAction.objects.order_by("pk").values()),
        list(Reply.objects.order_by("pk").values_list("pk", flat=True)),
        SubmissionEvent.objects.count(),
        OutboundEmail.objects.count(),
        list(Conference.objects.order_by("pk").values()),
        list(Attendance.objects.order_by("pk").values()),
        AttendanceImport.objects.count(),
        list(ImprovementAction.objects.order_by("pk").values()),
        AuditEvent.objects.filter(action__in=["view", "download", "export"]).count(),
    )


# What a champion may try against a submission in another section: (url name, POST data).
CHAMPION_SUBMISSION_POSTS = [
    (
        "submissions:review-triage",
        {
            "reason": "discrepancy",
            "reason_detail": "perceptual",
            "significance": "major",
            "counted": "on",
        },
    ),
    ("submissions:review-feedback", {"description": "Reworded.", "send": "1"}),
    ("submissions:review-reader", {"reader_kind": "roster", "reader": "bo.bodyrad@example.org"}),
    ("submissions:review-note", {"text": "A note from the wrong section."}),
    ("submissions:review-route", {"note": "To quality."}),
    ("submissions:review-close", {}),
]
READER_SUBMISSION_POSTS = [
    ("submissions:feedback-respond", {"response": "agree"}),
    ("submissions:feedback-reply", {"body": "Who sent this?"}),
]
SUBMITTER_SUBMISSION_POSTS = [("submissions:mine-reply", {"body": "Not my case."})]


def sides(world, attacker_side: str):
    """(attacker champion, the other section's case, conference and action)."""
    d = world.department
    if attacker_side == "body":
        return d.body_champion, world.neuro_case, world.neuro_conference, world.neuro_action
    return d.champion, world.body_case, world.body_conference, world.body_action


@pytest.fixture(params=["body", "neuro"])
def attack(request, world):
    return (world, *sides(world, request.param))


def same_as_missing(client, name: str, pk: int, method: str = "get", data=None, **kwargs):
    """The status for the real id, after checking a missing id gets exactly the same."""
    call = getattr(client, method)
    real = call(reverse(name, kwargs={"pk": pk, **kwargs}), data or {})
    missing = call(reverse(name, kwargs={"pk": MISSING, **kwargs}), data or {})
    assert real.status_code == missing.status_code, (name, real.status_code, missing.status_code)
    return real.status_code


# A champion of one section against another section -----------------------------------------


def test_the_rightful_champion_opens_every_object_the_attacks_aim_at(client, world):
    """The control for the tests below: the same URLs work for the section's own champion."""
    d = world.department
    for champion, case, conference, action in (
        (d.champion, world.neuro_case, world.neuro_conference, world.neuro_action),
        (d.body_champion, world.body_case, world.body_conference, world.body_action),
    ):
        client.force_login(champion)
        for name, pk in (
            ("submissions:review", case.pk),
            ("submissions:feedback-pdf", case.pk),
            ("conferences:detail", conference.pk),
            ("conferences:edit", conference.pk),
            ("conferences:roster", conference.pk),
            ("conferences:attendance-import", conference.pk),
            ("conferences:action-detail", action.pk),
        ):
            assert client.get(reverse(name, args=[pk])).status_code == 200, (champion, name)
        api = api_client_for(champion)
        for name, pk in (
            ("api:submission-detail", case.pk),
            ("api:conference-detail", conference.pk),
            ("api:conference-attendance", conference.pk),
        ):
            assert api.get(reverse(name, args=[pk])).status_code == 200, (champion, name)


def test_a_champion_cannot_open_another_sections_case_on_any_page(client, attack):
    _world, champion, case, _, _ = attack
    client.force_login(champion)

    for name in ("submissions:review", "submissions:feedback-detail", "submissions:feedback-pdf"):
        assert same_as_missing(client, name, case.pk) == 404, name
    assert same_as_missing(client, "submissions:mine-detail", case.pk) == 404
    queue = client.get(reverse("submissions:queue")).content.decode()
    assert case.accession_number not in queue


def test_a_champion_cannot_change_another_sections_case(client, attack):
    _world, champion, case, _, _ = attack
    client.force_login(champion)
    before = snapshot()

    for name, data in CHAMPION_SUBMISSION_POSTS + READER_SUBMISSION_POSTS:
        assert same_as_missing(client, name, case.pk, "post", data) == 404, name
    assert same_as_missing(client, "submissions:mine-reply", case.pk, "post", {"body": "x"}) == 404
    action = case.actions.get()
    for name in ("submissions:review-action-done", "submissions:feedback-action-done"):
        status = same_as_missing(
            client, name, case.pk, "post", {"done_on": "2026-01-02"}, action_pk=action.pk
        )
        assert status == 404, name

    assert snapshot() == before


def test_an_action_of_another_sections_case_cannot_be_reached_through_an_own_case(client, world):
    """Mixing ids: the own case in the URL's first id, the other section's action in the second."""
    d = world.department
    client.force_login(d.body_champion)
    foreign_action = world.neuro_case.actions.get()
    before = snapshot()

    response = client.post(
        reverse(
            "submissions:review-action-done",
            kwargs={"pk": world.body_case.pk, "action_pk": foreign_action.pk},
        ),
        {"done_on": "2026-01-02"},
    )

    assert response.status_code == 404
    assert snapshot() == before


def test_a_champion_cannot_open_or_run_another_sections_conference(client, attack):
    _world, champion, _, conference, _ = attack
    client.force_login(champion)

    for name in (
        "conferences:detail",
        "conferences:edit",
        "conferences:check-in-display",
        "conferences:roster",
        "conferences:attendance-import",
        "conferences:certificate",
    ):
        assert same_as_missing(client, name, conference.pk) == 404, name
    listing = client.get(reverse("conferences:list")).content.decode()
    assert conference.title not in listing


def test_a_champion_cannot_change_another_sections_conference_or_its_attendance(client, attack):
    _world, champion, _, conference, _ = attack
    client.force_login(champion)
    someone = conference.attendance.get().user
    before = snapshot()

    edits = {
        "title": "Renamed by the wrong section",
        "starts_at": "2026-01-01T08:00",
        "ends_at": "2026-01-01T09:00",
        "location": "Room 1",
    }
    assert same_as_missing(client, "conferences:edit", conference.pk, "post", edits) == 404
    roster = {"user": str(someone.pk), f"minutes_{someone.pk}": "5"}
    assert same_as_missing(client, "conferences:roster", conference.pk, "post", roster) == 404
    upload = {"file": _zoom_file()}
    response = client.post(
        reverse("conferences:attendance-import", args=[conference.pk]), {"file": _zoom_file()}
    )
    assert response.status_code == 404
    missing = client.post(reverse("conferences:attendance-import", args=[MISSING]), upload)
    assert missing.status_code == 404

    assert snapshot() == before


def test_a_champion_cannot_open_another_sections_attendance_import(client, world):
    d = world.department
    conference = make_conference(d.neuro, start=SAMPLE_START, actor=d.champion)
    done = attendance_import(
        conference=conference,
        data=sample_bytes("zoom_participants.csv"),
        filename="z.csv",
        actor=d.champion,
    ).source_import
    row = done.rows.first()
    client.force_login(d.body_champion)
    before = snapshot()

    assert same_as_missing(client, "conferences:import-detail", done.pk) == 404
    resolve = {"row": row.pk, f"row{row.pk}-choice": "guest"}
    assert same_as_missing(client, "conferences:import-detail", done.pk, "post", resolve) == 404
    assert snapshot() == before


def test_a_champion_cannot_change_another_sections_settings(client, world):
    d = world.department
    client.force_login(d.body_champion)

    url = reverse("conferences:settings", args=[d.neuro.slug])
    missing = reverse("conferences:settings", args=["no-such-section"])
    assert client.get(url).status_code == client.get(missing).status_code == 404
    assert client.post(url, {"recording_credit_allowed": "on"}).status_code == 404
    settings_page = client.get(reverse("submissions:settings"), {"section": d.neuro.pk})
    assert d.neuro.name not in settings_page.content.decode()


def test_a_champion_cannot_open_or_edit_another_sections_improvement_action(client, attack):
    _world, champion, _, _, action = attack
    client.force_login(champion)
    before = snapshot()

    assert same_as_missing(client, "conferences:action-detail", action.pk) == 404
    edit = {"title": "Hijacked", "category": "other", "status": "done"}
    assert same_as_missing(client, "conferences:action-edit", action.pk, "post", edit) == 404
    assert snapshot() == before


# The same through the API ---------------------------------------------------------------------


def test_the_api_answers_404_for_another_sections_case_and_lists_none(attack):
    _world, champion, case, _, _ = attack
    api = api_client_for(champion)

    real = api.get(reverse("api:submission-detail", args=[case.pk]))
    missing = api.get(reverse("api:submission-detail", args=[MISSING]))
    listed = api.get(reverse("api:submission-list")).json()["results"]

    assert real.status_code == missing.status_code == 404
    assert real.json() == missing.json()
    assert case.pk not in [row["id"] for row in listed]


def test_the_api_has_no_way_to_change_a_submission(world):
    """Only GET on one submission: PUT, PATCH and DELETE are not methods of the endpoint."""
    d = world.department
    before = snapshot()
    for user in (d.champion, d.radiologist):
        api = api_client_for(user)
        url = reverse("api:submission-detail", args=[world.neuro_case.pk])
        for method in ("put", "patch", "delete"):
            response = getattr(api, method)(url, {"status": "closed"}, format="json")
            assert response.status_code == 405, (user, method)
    assert snapshot() == before


def test_the_api_answers_404_for_another_sections_conference_and_attendance(attack):
    _world, champion, _, conference, _ = attack
    api = api_client_for(champion)
    before = snapshot()

    for name in ("api:conference-detail", "api:conference-attendance"):
        real = api.get(reverse(name, args=[conference.pk]))
        missing = api.get(reverse(name, args=[MISSING]))
        assert real.status_code == missing.status_code == 404, name
        assert real.json() == missing.json()
    for pk in (conference.pk, MISSING):
        response = api.post(
            reverse("api:conference-attendance-import", args=[pk]),
            {"file": _zoom_file()},
            format="multipart",
        )
        assert response.status_code == 404
    listed = api.get(reverse("api:conference-list")).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert conference.pk not in [row["id"] for row in rows]
    assert snapshot() == before


def test_the_api_does_not_schedule_a_conference_in_another_section(world):
    d = world.department
    before = snapshot()

    response = api_client_for(d.body_champion).post(
        reverse("api:conference-list"),
        {
            "section": d.neuro.slug,
            "title": "Planted",
            "starts_at": "2030-01-01T08:00:00Z",
            "ends_at": "2030-01-01T09:00:00Z",
            "location": "Room 1",
        },
        format="json",
    )

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("who", ["body_assistant", "body_leader"])
def test_assistants_and_leaders_read_only_their_own_sections_attendance(client, world, who):
    """The other roles that manage or read attendance are held to their section too."""
    user = getattr(world, who)
    api = api_client_for(user)
    client.force_login(user)

    own = api.get(reverse("api:conference-attendance", args=[world.body_conference.pk]))
    other = api.get(reverse("api:conference-attendance", args=[world.neuro_conference.pk]))

    assert own.status_code == 200
    assert other.status_code == 404
    if who == "body_assistant":
        assert same_as_missing(client, "conferences:roster", world.neuro_conference.pk) == 404


# One radiologist against another -----------------------------------------------------------------


@pytest.fixture
def colleagues_case(world):
    """A case the department's radiologist has nothing to do with: another submitter, reader."""
    d = world.department
    return case_for(d.champion, d.neuro, d.trainee, "COLLEAGUE3003")


def test_a_radiologist_cannot_read_another_radiologists_submission(client, world, colleagues_case):
    d = world.department
    client.force_login(d.radiologist)

    for name in (
        "submissions:mine-detail",
        "submissions:feedback-detail",
        "submissions:feedback-pdf",
    ):
        assert same_as_missing(client, name, colleagues_case.pk) == 404, name
    api = api_client_for(d.radiologist)
    assert api.get(reverse("api:submission-detail", args=[colleagues_case.pk])).status_code == 404
    listed = api.get(reverse("api:submission-list")).json()["results"]
    assert colleagues_case.pk not in [row["id"] for row in listed]
    mine = client.get(reverse("submissions:mine")).content.decode()
    assert colleagues_case.accession_number not in mine


def test_a_radiologist_cannot_reply_respond_or_act_on_another_radiologists_case(
    client, world, colleagues_case
):
    d = world.department
    client.force_login(d.radiologist)
    before = snapshot()

    for name, data in SUBMITTER_SUBMISSION_POSTS + READER_SUBMISSION_POSTS:
        assert same_as_missing(client, name, colleagues_case.pk, "post", data) == 404, name
    action = colleagues_case.actions.get()
    status = same_as_missing(
        client,
        "submissions:feedback-action-done",
        colleagues_case.pk,
        "post",
        {"done_on": "2026-01-02"},
        action_pk=action.pk,
    )
    assert status == 404
    assert snapshot() == before


def test_the_reader_cannot_open_the_submitters_side_of_the_case(client, world):
    d = world.department
    client.force_login(d.reader)

    assert same_as_missing(client, "submissions:mine-detail", world.neuro_case.pk) == 404
    reply = {"body": "Who are you?"}
    before = snapshot()
    assert (
        same_as_missing(client, "submissions:mine-reply", world.neuro_case.pk, "post", reply) == 404
    )
    assert snapshot() == before


# The original reader never learns the submitter ----------------------------------------------


def test_a_champion_who_read_the_study_meets_it_only_as_its_reader(client, world):
    """The champion is the original reader here: no queue row, no review page, no name."""
    d = world.department
    case = case_for(d.radiologist, d.neuro, d.champion, "CHAMPREAD4004")
    submitter = d.radiologist
    client.force_login(d.champion)

    assert client.get(reverse("submissions:review", args=[case.pk])).status_code == 404
    queue = client.get(reverse("submissions:queue")).content.decode()
    assert case.accession_number not in queue
    api = api_client_for(d.champion)
    body = api.get(reverse("api:submission-detail", args=[case.pk])).json()
    assert body["viewer"] == "reader"
    assert body["submitter"] is None
    rows = api.get(reverse("api:submission-list")).json()["results"]
    (row,) = [row for row in rows if row["id"] == case.pk]
    page = client.get(reverse("submissions:feedback-detail", args=[case.pk])).content.decode()
    for surface in (json.dumps(row), json.dumps(body), page):
        for secret in (submitter.first_name, submitter.last_name, submitter.email):
            assert secret not in surface


def test_the_readers_reply_does_not_hand_back_the_submitters_name(client, world):
    """Posting in the thread and following the redirect still shows no name."""
    d = world.department
    client.force_login(d.reader)

    response = client.post(
        reverse("submissions:feedback-reply", args=[world.neuro_case.pk]),
        {"body": "Thanks — who should I thank?"},
        follow=True,
    )

    assert response.status_code == 200
    content = response.content.decode()
    for secret in ("Rowan", "Submitter", d.radiologist.email):
        assert secret not in content
    for email in OutboundEmail.objects.filter(to=d.reader.email):
        assert "Rowan" not in email.body_text and "Submitter" not in email.subject


# Outsiders ------------------------------------------------------------------------------------


def test_an_outsider_gets_the_same_answer_for_every_object_as_for_none(client, world):
    """No role at all: object pages open to any signed-in person answer 404; role pages 403."""
    d = world.department
    client.force_login(d.outsider)
    case, conference = world.neuro_case, world.neuro_conference

    for name in (
        "submissions:feedback-detail",
        "submissions:feedback-pdf",
    ):
        assert same_as_missing(client, name, case.pk) == 404, name
    for name in ("submissions:review", "submissions:mine-detail"):
        assert same_as_missing(client, name, case.pk) == 403, name
    for name in ("conferences:detail", "conferences:roster"):
        assert same_as_missing(client, name, conference.pk) == 403, name
    api = api_client_for(d.outsider)
    assert api.get(reverse("api:submission-detail", args=[case.pk])).status_code == 404
    for name in ("api:conference-detail", "api:conference-attendance"):
        real = api.get(reverse(name, args=[conference.pk]))
        missing = api.get(reverse(name, args=[MISSING]))
        assert real.status_code == missing.status_code == 403, name


def test_signed_out_callers_learn_nothing_about_objects(client, world):
    case, conference = world.neuro_case, world.neuro_conference
    for name, pk in (
        ("submissions:feedback-detail", case.pk),
        ("submissions:review", case.pk),
        ("conferences:detail", conference.pk),
    ):
        real = client.get(reverse(name, args=[pk]))
        missing = client.get(reverse(name, args=[MISSING]))
        assert real.status_code == missing.status_code == 302, name
        assert real["Location"].startswith(reverse("account_login"))
    api = api_client_for(None)
    for name, pk in (
        ("api:submission-detail", case.pk),
        ("api:conference-attendance", conference.pk),
    ):
        real = api.get(reverse(name, args=[pk]))
        missing = api.get(reverse(name, args=[MISSING]))
        assert real.status_code == missing.status_code == 401, name


def _zoom_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(
        "participants.csv", sample_bytes("zoom_participants.csv"), content_type="text/csv"
    )

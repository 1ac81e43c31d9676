"""The submissions API: the same rules as the page, JSON in and out."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from peerlearning.models import OutboundEmail, User
from peerlearning.testing import api_key_for
from submissions.models import RequiredAction, Submission

pytestmark = pytest.mark.django_db

LIST = reverse("api:submission-list")


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


def payload(department, **overrides):
    data = {
        "accession_number": " a12345678 ",
        "reason": "discrepancy",
        "reason_detail": "perceptual",
        "description": "Small right frontal subdural hematoma not reported.",
        "learning_point": "Review the vertex on coronal reformats.",
        "original_reader_email": department.reader.email,
        "required_actions": ["addendum", "contact_clinician"],
        "urgency": "urgent",
        "attestation": True,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_radiologist_submits_through_the_api(department):
    response = api_as(department.radiologist).post(LIST, payload(department), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    submission = Submission.objects.get()
    assert body["id"] == submission.pk
    assert body["accession_number"] == "A12345678"
    assert body["section"] == "neuroradiology"
    assert body["status"] == "feedback_sent"
    assert body["viewer"] == "submitter"
    assert body["original_reader"]["email"] == department.reader.email
    assert sorted(a["kind"] for a in body["required_actions"]) == ["addendum", "contact_clinician"]
    assert body["attestation"] is True
    assert OutboundEmail.objects.filter(key=f"feedback:{submission.pk}:reader").exists()


def test_defaults_apply_and_an_unknown_reader_is_allowed(department):
    response = api_as(department.radiologist).post(
        LIST,
        {"accession_number": "B-2002", "reason": "interesting", "description": "Rare variant."},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "routine"
    assert body["original_reader"] is None
    assert body["required_actions"] == []
    assert body["status"] == "submitted"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"attestation": False}, "attestation"),
        ({"attestation": None}, "attestation"),
        ({"reason": "blame"}, "reason"),
        ({"reason_detail": "sloppy"}, "reason_detail"),
        ({"reason_detail": None}, "reason_detail"),
        ({"accession_number": "x"}, "accession_number"),
        ({"accession_number": "A 1234"}, "accession_number"),
        ({"original_reader_email": "not an email"}, "original_reader_email"),
        ({"original_reader_email": "blair.bodychamp@example.org"}, "original_reader_email"),
        ({"original_reader_email": "stranger@example.org"}, "original_reader_email"),
        ({"required_actions": ["apologise"]}, "required_actions"),
        ({"required_actions": ["other"]}, "required_action_other"),
        ({"urgency": "yesterday"}, "urgency"),
        ({"description": ""}, "description"),
        ({"section": "body"}, "section"),
        ({"section": "no-such-section"}, "section"),
    ],
)
def test_bad_input_answers_400_with_the_field_and_writes_nothing(department, overrides, field):
    response = api_as(department.radiologist).post(
        LIST, payload(department, **overrides), format="json"
    )

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Submission.objects.count() == 0
    assert RequiredAction.objects.count() == 0
    assert not OutboundEmail.objects.exists()


def test_a_reader_outside_the_roster_needs_to_be_said_so(department):
    data = payload(department, original_reader_email="visiting@elsewhere.org")

    refused = api_as(department.radiologist).post(LIST, data, format="json")
    accepted = api_as(department.radiologist).post(
        LIST, {**data, "original_reader_outside": True}, format="json"
    )

    assert "not on the Neuroradiology roster" in refused.json()["original_reader_email"][0]
    assert accepted.status_code == 201
    assert accepted.json()["original_reader"]["email"] == "visiting@elsewhere.org"


def test_an_outside_reader_must_be_at_an_allowed_domain(department, settings):
    settings.OUTSIDE_READER_EMAIL_DOMAINS = ["partner-telerad.org"]
    data = payload(department, original_reader_outside=True)

    refused = api_as(department.radiologist).post(
        LIST, {**data, "original_reader_email": "someone@gmail.com"}, format="json"
    )
    accepted = api_as(department.radiologist).post(
        LIST, {**data, "original_reader_email": "night.reader@Partner-Telerad.org"}, format="json"
    )

    assert refused.status_code == 400
    assert "@partner-telerad.org" in refused.json()["original_reader_email"][0]
    assert not User.objects.filter(email="someone@gmail.com").exists()
    assert accepted.status_code == 201, accepted.json()
    assert User.objects.filter(email="night.reader@partner-telerad.org").exists()


def test_the_same_case_twice_is_refused(department):
    client = api_as(department.radiologist)
    client.post(LIST, payload(department), format="json")

    response = client.post(LIST, payload(department, reason="interesting"), format="json")

    assert response.status_code == 400
    assert "already submitted" in response.json()["accession_number"][0]


def test_people_who_do_not_submit_cases_are_refused(department):
    for person in (department.leader, department.assistant, department.outsider):
        response = api_as(person).post(LIST, payload(department), format="json")
        assert response.status_code == 403, person
    assert not Submission.objects.exists()


def test_signed_out_callers_are_refused(department):
    assert APIClient().get(LIST).status_code in (401, 403)
    assert APIClient().post(LIST, payload(department), format="json").status_code in (401, 403)


def test_the_list_holds_only_what_the_caller_may_see(department, submit):
    mine = submit()
    someone_elses = submit(submitter=department.champion, accession_number="A2")
    in_body = submit(
        submitter=department.body_champion,
        section=department.body,
        accession_number="A3",
        reader=None,
    )

    def ids(user):
        return {row["id"] for row in api_as(user).get(LIST).json()["results"]}

    assert ids(department.radiologist) == {mine.pk}
    assert ids(department.reader) == {mine.pk, someone_elses.pk}
    assert ids(department.champion) == {mine.pk, someone_elses.pk}
    assert ids(department.body_champion) == {in_body.pk}
    assert ids(department.leader) == set()
    assert ids(department.outsider) == set()


def test_the_reader_gets_the_feedback_without_the_submitter(department, submit):
    submission = submit()

    body = api_as(department.reader).get(reverse("api:submission-detail", args=[submission.pk]))

    data = body.json()
    assert data["viewer"] == "reader"
    assert data["submitter"] is None
    assert data["significance"] is None
    assert "Rowan" not in body.content.decode()
    assert department.radiologist.email not in body.content.decode()


def test_the_champion_sees_the_submitter(department, submit):
    submission = submit()

    data = (
        api_as(department.champion)
        .get(reverse("api:submission-detail", args=[submission.pk]))
        .json()
    )

    assert data["viewer"] == "champion"
    assert data["submitter"]["email"] == department.radiologist.email


def test_others_get_404_for_one_submission(department, submit):
    submission = submit()
    url = reverse("api:submission-detail", args=[submission.pk])

    for person in (department.trainee, department.leader, department.body_champion):
        assert api_as(person).get(url).status_code == 404, person


def test_the_list_takes_a_fixed_number_of_queries(
    department, submit, django_assert_max_num_queries
):
    for n in range(30):
        submit(accession_number=f"A{n:06d}")
    client = api_as(department.champion)

    with django_assert_max_num_queries(10):
        response = client.get(LIST)

    assert response.json()["count"] == 30


def test_the_schema_documents_the_fixed_values(client, department):
    client.force_login(department.radiologist)

    schema = client.get(reverse("api-schema"), {"format": "json"}).json()

    request = schema["components"]["schemas"]["SubmissionCreateRequest"]["properties"]
    components = schema["components"]["schemas"]

    def values(name):
        prop = request[name]
        prop = prop.get("items", prop)
        found = set(prop.get("enum", []))
        parts = prop.get("oneOf", []) + prop.get("allOf", [])
        for ref in [prop.get("$ref"), *(part.get("$ref") for part in parts)]:
            if ref:
                found |= set(components[ref.rsplit("/", 1)[1]]["enum"])
        return found - {""}

    assert values("reason") == {"discrepancy", "great_catch", "interesting", "other"}
    assert values("reason_detail") == {
        "perceptual",
        "interpretive",
        "communication",
        "technical",
        "other",
    }
    assert values("required_actions") == {
        "none",
        "addendum",
        "contact_clinician",
        "follow_up_imaging",
        "other",
    }
    assert values("urgency") == {"routine", "urgent"}
    assert "/api/v1/submissions/" in schema["paths"]
    assert "/api/v1/submissions/{id}/" in schema["paths"]


def test_an_outside_address_that_is_on_the_roster_is_treated_as_a_roster_reader(department):
    data = payload(department, original_reader_outside=True)

    response = api_as(department.radiologist).post(LIST, data, format="json")

    assert response.status_code == 201
    assert not Submission.objects.get().reader_outside_roster


def test_the_answer_to_a_submission_is_what_reading_it_back_gives(department):
    # The POST answers from the instance it wrote rather than reading it again.
    client = api_as(department.radiologist)
    created = client.post(LIST, payload(department), format="json")
    assert created.status_code == 201, created.json()
    read = client.get(reverse("api:submission-detail", args=[created.json()["id"]]))
    assert created.json() == read.json()


def test_a_submission_takes_a_fixed_number_of_queries(department, django_assert_max_num_queries):
    # The token and its owner's roles (the MFA rule), the token's last use (written at most
    # every 5 minutes), the caller's sections (their memberships a subquery, with their
    # settings), the accession and reader checks, then the writes in one transaction: the
    # submission, its actions, its two events (one INSERT), the audit row, the reader's
    # e-mail; the answer reads the actions back.
    client = api_as(department.radiologist)
    with django_assert_max_num_queries(14):
        response = client.post(LIST, payload(department), format="json")
    assert response.status_code == 201


def test_a_discrepancy_that_needs_no_clinical_action_is_submitted_with_none(department):
    response = api_as(department.radiologist).post(
        LIST, payload(department, required_actions=["none"]), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["required_actions"] == []
    assert RequiredAction.objects.count() == 0


@pytest.mark.parametrize(
    ("actions", "words"),
    [([], '["none"]'), (["none", "addendum"], '"none" cannot be listed with other actions')],
)
def test_a_discrepancy_without_a_clear_answer_on_actions_is_refused_in_the_apis_words(
    department, actions, words
):
    response = api_as(department.radiologist).post(
        LIST, payload(department, required_actions=actions), format="json"
    )

    assert response.status_code == 400
    [message] = response.json()["required_actions"]
    assert words in message
    assert "None)" not in message  # the page's checkbox label, not an API value
    assert Submission.objects.count() == 0

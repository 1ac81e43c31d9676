"""The whole feedback loop through the API: a PACS, a reporting system or a script can do
everything the pages do."""

import datetime

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from peerlearning.testing import api_key_for
from submissions.models import RequiredAction, Submission, SubmissionEvent


def token_for(user) -> str:
    return api_key_for(user)


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.mark.django_db(transaction=True)
def test_submit_respond_record_the_addendum_and_close_against_the_running_server(
    live_server, department
):
    def call(user, method, name, *args, **body):
        response = requests.request(
            method,
            live_server.url + reverse(f"api:{name}", args=args),
            json=body or None,
            headers={"Authorization": f"Token {token_for(user)}"},
            timeout=30,
        )
        assert response.status_code < 300, (name, response.status_code, response.text)
        return response.json()

    submitted = call(
        department.radiologist,
        "POST",
        "submission-list",
        accession_number="SYN-LOOP-1",
        reason="discrepancy",
        reason_detail="perceptual",
        description="A 4 mm rib fracture was not reported.",
        original_reader_email=department.reader.email,
        required_actions=["addendum"],
        attestation=True,
    )
    pk = submitted["id"]

    inbox = call(department.reader, "GET", "submission-list")["results"]
    [feedback] = [item for item in inbox if item["id"] == pk]
    assert department.radiologist.last_name not in str(feedback)
    [action] = feedback["required_actions"]

    responded = call(department.reader, "POST", "feedback-respond", pk, response="agree")
    assert responded["reader_response"] == "agree"
    done = call(
        department.reader, "POST", "feedback-action-done", pk, action["id"], note="Addendum signed"
    )
    assert all(item["done_on"] for item in done["required_actions"])

    closed = call(department.champion, "POST", "queue-close", pk)
    assert closed["status"] == "closed"
    assert call(department.radiologist, "GET", "submission-detail", pk)["status"] == "closed"
    kinds = list(SubmissionEvent.objects.filter(submission_id=pk).values_list("kind", flat=True))
    assert kinds[-3:] == ["acknowledged", "action_done", "closed"]


@pytest.fixture
def case(department, submit):
    return submit(accession_number="SYN-LOOP-2")


@pytest.mark.django_db
def test_the_reader_steps_are_refused_to_anyone_but_the_reader(case, department):
    url = reverse("api:feedback-respond", args=[case.pk])
    for person in (department.radiologist, department.champion, department.trainee):
        assert api_as(person).post(url, {"response": "agree"}, format="json").status_code == 404
    case.refresh_from_db()
    assert case.reader_response == ""


@pytest.mark.django_db
def test_the_champion_steps_are_refused_to_other_roles(case, department):
    url = reverse("api:queue-close", args=[case.pk])
    assert api_as(department.reader).post(url).status_code == 403
    assert api_as(department.body_champion).post(url).status_code == 404
    case.refresh_from_db()
    assert case.status != Submission.Status.CLOSED


@pytest.mark.django_db
def test_a_bad_step_answers_400_naming_the_api_field(case, department):
    bad_response = api_as(department.reader).post(
        reverse("api:feedback-respond", args=[case.pk]), {"response": "maybe"}, format="json"
    )
    assert bad_response.status_code == 400
    assert "response" in bad_response.json()
    bad_reader = api_as(department.champion).post(
        reverse("api:queue-reader", args=[case.pk]),
        {"original_reader_email": "nobody@example.org"},
        format="json",
    )
    assert bad_reader.status_code == 400
    assert "original_reader_email" in bad_reader.json(), bad_reader.json()


@pytest.mark.django_db
def test_the_champion_corrects_the_actions_with_a_reason_kept_in_the_history(case, department):
    url = reverse("api:queue-actions", args=[case.pk])
    champion = api_as(department.champion)

    no_reason = champion.post(url, {"add": ["contact_clinician"]}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()

    changed = champion.post(
        url,
        {"add": ["contact_clinician"], "remove": ["addendum"], "reason": "Report already final"},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert [a["kind"] for a in changed.json()["required_actions"]] == ["contact_clinician"]
    event = SubmissionEvent.objects.get(submission=case, kind="actions_changed")
    assert event.text == "Report already final"
    assert event.changes == {
        "added": ["Contact the referring clinician"],
        "removed": ["Addendum or corrected report"],
    }


@pytest.mark.django_db
def test_a_done_action_cannot_be_removed(case, department):
    action = RequiredAction.objects.get(submission=case)
    api_as(department.reader).post(
        reverse("api:feedback-action-done", args=[case.pk, action.pk]), {}, format="json"
    )
    refused = api_as(department.champion).post(
        reverse("api:queue-actions", args=[case.pk]),
        {"remove": ["addendum"], "reason": "Changed my mind"},
        format="json",
    )
    assert refused.status_code == 400
    assert "stays on the record" in refused.json()["remove"][0]
    assert RequiredAction.objects.filter(submission=case).exists()


@pytest.mark.django_db
def test_updated_since_returns_only_what_changed_and_refuses_a_date_it_cannot_read(
    department, submit
):
    old = submit(accession_number="SYN-OLD")
    Submission.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=2)
    )
    new = submit(accession_number="SYN-NEW")
    since = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    champion = api_as(department.champion)

    changed = champion.get(reverse("api:submission-list"), {"updated_since": since}).json()
    assert [item["id"] for item in changed["results"]] == [new.pk]
    bad = champion.get(reverse("api:submission-list"), {"updated_since": "yesterday"})
    assert bad.status_code == 400
    assert "updated_since" in bad.json()

"""Submitting from the browser: the form, its inline validation and the PACS launch URL."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from submissions.models import RequiredAction, Submission
from submissions.tests.conftest import emails_to

pytestmark = pytest.mark.django_db

SUBMIT = reverse("submissions:submit")


def form_data(department, **overrides):
    data = {
        "section": department.neuro.pk,
        "accession_number": "  ab-12345.6 ",
        "reason": "discrepancy",
        "reason_detail": "perceptual",
        "description": "Small left frontal subdural collection not mentioned.",
        "learning_point": "Check the vertex.",
        "reader_kind": "roster",
        "reader": f"Quinn Reader <{department.reader.email}>",
        "required_actions": ["addendum", "contact_clinician"],
        "urgency": "urgent",
        "attestation": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def radiologist_client(client, department):
    client.force_login(department.radiologist)
    return client


def test_a_radiologist_submits_a_discrepancy_and_lands_on_it(radiologist_client, department):
    response = radiologist_client.post(SUBMIT, form_data(department))

    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("submissions:mine-detail", args=[submission.pk])
    assert submission.accession_number == "AB-12345.6"
    assert submission.submitter == department.radiologist
    assert submission.original_reader == department.reader
    assert submission.reader_named_by_submitter
    assert submission.urgency == "urgent"
    assert submission.attested_at is not None
    assert submission.status == Submission.Status.FEEDBACK_SENT
    assert set(submission.actions.values_list("kind", flat=True)) == {
        "addendum",
        "contact_clinician",
    }
    page = radiologist_client.get(response["Location"])
    assert "Your feedback goes to the original reader, without your name" in page.content.decode()


def test_the_form_has_every_part_and_no_inline_script(radiologist_client):
    content = radiologist_client.get(SUBMIT).content.decode()

    for name in (
        "accession_number",
        "reason",
        "reason_detail",
        "description",
        "learning_point",
        "reader_kind",
        "reader",
        "required_actions",
        "urgency",
        "attestation",
        "signed",
    ):
        assert f'name="{name}"' in content, name
    assert "I am responsible for ensuring optimal patient care for this case" in content
    assert "<script>" not in content
    assert " style=" not in content
    assert "onclick" not in content
    # One section: it is chosen for them.
    assert 'type="hidden" name="section"' in content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"attestation": None}, "attestation", "needs this attestation"),
        ({"reason": "mistake"}, "reason", "Select a valid choice"),
        ({"accession_number": "12"}, "accession_number", "does not look like an accession"),
        ({"accession_number": "A1 234 567"}, "accession_number", "does not look like"),
        ({"accession_number": "<script>1</script>"}, "accession_number", "does not look like"),
        ({"reader_kind": "outside", "reader": "not-an-email"}, "reader", "valid e-mail"),
        ({"reader": "Blair Bodychamp <blair.bodychamp@example.org>"}, "reader", "not on the"),
        ({"reader": "nobody@example.org"}, "reader", "not on the Neuroradiology roster"),
        ({"reader_detail": None, "reason_detail": ""}, "reason_detail", "type of discrepancy"),
        ({"required_actions": []}, "required_actions", "which actions are needed"),
        ({"required_actions": ["none", "addendum"]}, "required_actions", "not both"),
        ({"required_actions": ["other"]}, "action_other", "which other action"),
        ({"description": "   "}, "description", "describe what happened"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_writes_nothing(
    radiologist_client, department, overrides, field, message
):
    response = radiologist_client.post(SUBMIT, form_data(department, **overrides))

    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert message.lower() in " ".join(form.errors[field]).lower()
    assert Submission.objects.count() == 0
    assert RequiredAction.objects.count() == 0
    # Nothing typed is lost.
    content = response.content.decode()
    assert "Small left frontal subdural collection not mentioned." in content or field == (
        "description"
    )


def test_a_great_catch_needs_no_attestation_and_no_actions(radiologist_client, department):
    data = form_data(
        department,
        reason="great_catch",
        reason_detail="",
        attestation=None,
        required_actions=[],
        reader_kind="unknown",
        reader="",
    )

    response = radiologist_client.post(SUBMIT, data)

    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.reason == "great_catch"
    assert submission.original_reader is None
    assert submission.status == Submission.Status.SUBMITTED
    assert not submission.actions.exists()


def test_a_reader_can_be_named_by_typing_their_full_name(radiologist_client, department):
    radiologist_client.post(SUBMIT, form_data(department, reader="quinn reader"))

    assert Submission.objects.get().original_reader == department.reader


def test_submitting_the_same_case_twice_is_refused_clearly(radiologist_client, department):
    radiologist_client.post(SUBMIT, form_data(department))

    response = radiologist_client.post(SUBMIT, form_data(department, reason="interesting"))

    assert "You already submitted this case on" in " ".join(
        response.context["form"].errors["accession_number"]
    )
    assert Submission.objects.count() == 1


def test_a_case_a_colleague_submitted_gets_a_note_not_an_error(client, department, submit):
    submit(submitter=department.champion, accession_number="AB-12345.6")
    client.force_login(department.radiologist)

    fragment = client.post(
        reverse("submissions:submit-validate") + "?field=accession_number",
        form_data(department),
        HTTP_HX_REQUEST="true",
    )

    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "A colleague has submitted this case too" in text
    assert "errorlist" not in text
    response = client.post(SUBMIT, form_data(department))
    assert response.status_code == 302


def test_inline_validation_answers_with_the_fields_messages_and_no_control(
    radiologist_client, department
):
    response = radiologist_client.post(
        reverse("submissions:submit-validate") + "?field=accession_number",
        form_data(department, accession_number="x"),
        HTTP_HX_REQUEST="true",
    )

    text = response.content.decode()
    assert 'id="live-accession_number-messages"' in text
    assert "does not look like an accession number" in text
    # Nothing a person could be typing in or ticking comes back to replace what they did.
    assert "<input" not in text
    assert "<textarea" not in text
    assert Submission.objects.count() == 0


def test_inline_validation_of_the_attestation_depends_on_the_reason(radiologist_client, department):
    url = reverse("submissions:submit-validate") + "?field=attestation"

    discrepancy = radiologist_client.post(url, form_data(department, attestation=None))
    catch = radiologist_client.post(
        url, form_data(department, attestation=None, reason="great_catch")
    )

    assert "needs this attestation" in discrepancy.content.decode()
    assert "needs this attestation" not in catch.content.decode()


def test_inline_validation_refuses_unknown_fields(radiologist_client, department):
    url = reverse("submissions:submit-validate") + "?field=password"
    assert radiologist_client.post(url, form_data(department)).status_code == 404


def test_the_reader_type_ahead_offers_the_sections_roster_only(radiologist_client, department):
    response = radiologist_client.get(
        reverse("submissions:reader-search"),
        {"reader": "rea", "section": department.neuro.pk},
        HTTP_HX_REQUEST="true",
    )

    text = response.content.decode()
    assert department.reader.email in text
    assert "Quinn Reader" in text
    assert department.body_champion.email not in text
    # Not oneself, nor people who are not radiologists or trainees.
    everyone = radiologist_client.get(
        reverse("submissions:reader-search"), {"section": department.neuro.pk}
    ).content.decode()
    assert department.radiologist.email not in everyone
    assert department.assistant.email not in everyone
    assert department.trainee.email in everyone


def test_someone_in_several_sections_chooses_one(client, department):
    from peerlearning.models import Membership, Role

    Membership.objects.create(
        user=department.radiologist, section=department.body, role=Role.RADIOLOGIST
    )
    client.force_login(department.radiologist)

    content = client.get(SUBMIT).content.decode()

    assert '<select name="section"' in content
    assert "Body imaging" in content and "Neuroradiology" in content


class TestPacsLaunchUrl:
    def test_it_moves_the_values_into_the_session_and_redirects_to_a_clean_url(
        self, radiologist_client, department
    ):
        response = radiologist_client.get(
            SUBMIT, {"accession": "a7654321", "reader": department.reader.email}
        )

        assert response.status_code == 302
        assert response["Location"] == SUBMIT
        page = radiologist_client.get(SUBMIT).content.decode()
        assert 'value="A7654321"' in page
        assert f"Quinn Reader &lt;{department.reader.email}&gt;" in page

    def test_signed_out_it_sends_to_sign_in_without_the_accession_in_any_url(
        self, client, department
    ):
        first = client.get(SUBMIT, {"accession": "A7654321"})
        second = client.get(first["Location"])

        assert first["Location"] == SUBMIT
        assert second.status_code == 302
        assert "A7654321" not in second["Location"]
        assert second["Location"].startswith(reverse("account_login"))
        # After signing in, the form is still pre-filled from the session.
        client.force_login(department.radiologist)
        assert 'value="A7654321"' in client.get(SUBMIT).content.decode()

    def test_the_prefill_is_forgotten_once_submitted(self, radiologist_client, department):
        radiologist_client.get(SUBMIT, {"accession": "AB-12345.6"})
        radiologist_client.post(SUBMIT, form_data(department))

        assert "AB-12345.6" not in radiologist_client.get(SUBMIT).content.decode()

    def test_it_leaves_no_accession_in_the_audit_trail(self, radiologist_client, department):
        from peerlearning.models import AuditEvent

        radiologist_client.get(SUBMIT, {"accession": "A7654321"})
        radiologist_client.post(SUBMIT, form_data(department, accession_number="A7654321"))

        for event in AuditEvent.objects.all():
            assert "A7654321" not in f"{event.path} {event.detail}"

    def test_people_who_cannot_submit_are_refused_after_the_redirect(self, client, department):
        client.force_login(department.leader)

        assert client.get(SUBMIT, {"accession": "A7654321"}).status_code == 302
        assert client.get(SUBMIT).status_code == 403


def test_submitting_takes_a_fixed_number_of_queries(
    radiologist_client, department, django_assert_max_num_queries
):
    # The session, the person, the site policy and their memberships; the sections (with
    # their settings), the accession and the reader checks; then the writes in one
    # transaction: the submission, its actions, its two events (one INSERT), the audit row,
    # the reader's e-mail (one INSERT … ON CONFLICT); and the session's save.
    radiologist_client.get(SUBMIT)  # warm: the site policy row is made on first use
    with django_assert_max_num_queries(17):
        response = radiologist_client.post(SUBMIT, form_data(department))
    assert response.status_code == 302


def _submit_twice_and_expect_refusal(submit, department) -> None:
    first = submit()
    with pytest.raises(ValidationError) as refused:
        submit()  # a second tab: the form's check passed before the first was saved
    assert refused.value.message_dict == {
        "accession_number": ["You have already submitted this case."]
    }
    assert list(Submission.objects.values_list("pk", flat=True)) == [first.pk]
    assert [email.key for email in emails_to(department.reader.email)] == [
        f"feedback:{first.pk}:reader"
    ]


def test_a_second_submission_that_slipped_past_the_form_is_refused(submit, department):
    _submit_twice_and_expect_refusal(submit, department)


@pytest.mark.django_db(transaction=True)
def test_a_second_submission_is_refused_outside_any_transaction_too(submit, department):
    # As in production: the service's transaction is the outermost one, so the refusal
    # is decided after it rolled back rather than inside a savepoint.
    _submit_twice_and_expect_refusal(submit, department)


def test_inline_validation_answers_for_every_field_the_page_validates(
    radiologist_client, department
):
    page = radiologist_client.get(SUBMIT).content.decode()
    fields = set(re.findall(r"submit/validate/\?field=([a-z_]+)", page))
    assert "urgency" in fields
    for field in fields:
        response = radiologist_client.post(
            reverse("submissions:submit-validate") + f"?field={field}",
            form_data(department),
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200, field

"""The original reader's side: the e-mail, the page, responding, replies, clinical actions."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from peerlearning.lib.emails import email_send_due
from peerlearning.models import AuditEvent, Membership, OutboundEmail, User
from submissions.models import Reply, Submission, SubmissionEvent
from submissions.services import ActionRequest
from submissions.tests.conftest import emails_to

pytestmark = pytest.mark.django_db


def test_the_reader_gets_an_email_through_smtp_that_names_no_submitter(
    submit, department, smtp_sink
):
    submission = submit()
    email_send_due()

    messages = [m for m in smtp_sink.messages if department.reader.email in m["To"]]
    assert len(messages) == 1
    raw = messages[0].as_string()
    assert reverse("submissions:feedback-detail", args=[submission.pk]) in raw
    for secret in ("Rowan", "Submitter", department.radiologist.email, "A1000001"):
        assert secret not in raw
    assert "learning opportunity" in messages[0]["Subject"]


def test_the_accession_number_is_in_the_email_only_if_the_section_allows_it(
    submit, department, neuro_settings
):
    neuro_settings(accession_in_email=True)

    submit()

    (email,) = emails_to(department.reader.email)
    assert "A1000001" in email.body_text
    assert department.radiologist.email not in email.body_text


def test_the_pdf_is_attached_only_when_the_section_allows_it(
    submit, department, neuro_settings, smtp_sink, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    submit(accession_number="A1000001")
    neuro_settings(attach_pdf=True)
    submit(accession_number="A1000002", submitter=department.champion)
    email_send_due()

    plain, attached = (m for m in smtp_sink.messages if department.reader.email in m["To"])
    assert list(plain.iter_attachments()) == []
    (pdf,) = attached.iter_attachments()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "learning-opportunity.pdf"
    assert pdf.get_content().startswith(b"%PDF")


def test_with_review_on_the_feedback_waits_for_a_champion(submit, department, neuro_settings):
    neuro_settings(review_before_sending=True)

    submission = submit()

    assert submission.status == Submission.Status.AWAITING_REVIEW
    assert emails_to(department.reader.email) == []
    (notice,) = emails_to(department.champion.email)
    assert "review" in notice.subject
    assert "Rowan" not in notice.body_text and "A1000001" not in notice.body_text


def test_the_reader_reads_responds_and_records_the_addendum(client, submit, department):
    submission = submit()
    client.force_login(department.reader)

    page = client.get(reverse("submissions:feedback-detail", args=[submission.pk]))
    assert page.status_code == 200
    assert "Small left frontal subdural collection" in page.content.decode()
    client.post(
        reverse("submissions:feedback-respond", args=[submission.pk]), {"response": "agree"}
    )
    action = submission.actions.get()
    client.post(
        reverse("submissions:feedback-action-done", args=[submission.pk, action.pk]),
        {"done_on": timezone.localdate().isoformat(), "note": "Addendum issued"},
    )

    submission.refresh_from_db()
    action.refresh_from_db()
    assert submission.status == Submission.Status.ACKNOWLEDGED
    assert submission.reader_response == "agree"
    assert action.done_on == timezone.localdate()
    assert action.done_by == department.reader
    assert action.done_note == "Addendum issued"
    kinds = list(submission.events.values_list("kind", flat=True))
    assert kinds[-2:] == [SubmissionEvent.Kind.ACKNOWLEDGED, SubmissionEvent.Kind.ACTION_DONE]
    (thanks,) = [e for e in emails_to(department.radiologist.email) if "acknowledged" in e.key]
    assert "agrees" in thanks.body_text
    assert "Quinn" not in thanks.body_text


def test_responding_through_htmx_answers_with_the_response_card(client, submit, department):
    submission = submit()
    client.force_login(department.reader)

    response = client.post(
        reverse("submissions:feedback-respond", args=[submission.pk]),
        {"response": "disagree"},
        HTTP_HX_REQUEST="true",
    )

    text = response.content.decode()
    assert text.strip().startswith('<section class="card" id="response-card"')
    assert "your response was recorded" in text
    assert "Disagrees" in text


def test_an_action_date_in_the_future_is_refused(client, submit, department):
    submission = submit()
    action = submission.actions.get()
    client.force_login(department.reader)

    client.post(
        reverse("submissions:feedback-action-done", args=[submission.pk, action.pk]),
        {"done_on": (timezone.localdate() + datetime.timedelta(days=2)).isoformat()},
    )

    action.refresh_from_db()
    assert action.done_at is None


def test_recording_an_action_twice_keeps_the_first(client, submit, department):
    submission = submit()
    action = submission.actions.get()
    client.force_login(department.reader)
    url = reverse("submissions:feedback-action-done", args=[submission.pk, action.pk])
    today = timezone.localdate()

    client.post(url, {"done_on": today.isoformat(), "note": "first"})
    client.post(url, {"done_on": today.isoformat(), "note": "second"})

    action.refresh_from_db()
    assert action.done_note == "first"
    assert submission.events.filter(kind=SubmissionEvent.Kind.ACTION_DONE).count() == 1


def test_replies_are_relayed_both_ways_without_names(client, submit, department):
    submission = submit()
    client.force_login(department.reader)
    client.post(
        reverse("submissions:feedback-reply", args=[submission.pk]),
        {"body": "Thanks. Was the prior available?"},
    )
    client.force_login(department.radiologist)
    page = client.get(reverse("submissions:mine-detail", args=[submission.pk])).content.decode()
    client.post(
        reverse("submissions:mine-reply", args=[submission.pk]), {"body": "Yes, from 2024."}
    )
    client.force_login(department.reader)
    reader_page = client.get(
        reverse("submissions:feedback-detail", args=[submission.pk])
    ).content.decode()

    assert "Was the prior available?" in page
    assert "Original reader" in page
    assert "Yes, from 2024." in reader_page
    assert "The submitter" in reader_page
    assert "Rowan" not in reader_page and department.radiologist.email not in reader_page
    assert list(Reply.objects.values_list("side", flat=True)) == ["reader", "submitter"]
    to_submitter = [e for e in emails_to(department.radiologist.email) if e.key.startswith("reply")]
    to_reader = [e for e in emails_to(department.reader.email) if e.key.startswith("reply")]
    assert len(to_submitter) == len(to_reader) == 1
    assert "Quinn" not in to_submitter[0].body_text
    assert "Rowan" not in to_reader[0].body_text


def test_a_signed_submission_shows_the_submitters_name_to_the_reader(client, submit, department):
    submission = submit(signed=True)
    client.force_login(department.reader)

    page = client.get(reverse("submissions:feedback-detail", args=[submission.pk]))

    assert "Shared by Rowan Submitter" in page.content.decode()


def test_a_reader_outside_the_roster_is_invited_and_sees_only_their_feedback(
    client, submit, department
):
    submission = submit(reader=None, reader_email="Visiting.Reader@Elsewhere.org")

    reader = User.objects.get(email="visiting.reader@elsewhere.org")
    assert not Membership.objects.filter(user=reader).exists()
    assert not reader.has_usable_password()
    assert submission.reader_outside_roster
    keys = [e.key for e in emails_to(reader.email)]
    assert any(key.startswith("invitation:") for key in keys)
    assert f"feedback:{submission.pk}:reader" in keys
    other = submit(accession_number="A1000002")

    client.force_login(reader)
    assert client.get(reverse("submissions:feedback-inbox")).status_code == 200
    assert client.get(reverse("submissions:feedback-detail", args=[submission.pk])).status_code == (
        200
    )
    assert client.get(reverse("submissions:feedback-detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("submissions:queue")).status_code == 403
    assert client.get(reverse("submissions:submit")).status_code == 403


def test_an_existing_account_outside_the_section_is_not_invited_again(submit, department):
    submission = submit(reader=department.body_champion, reader_outside=True)

    assert submission.original_reader == department.body_champion
    assert not OutboundEmail.objects.filter(key__startswith="invitation:").exists()


def test_viewing_feedback_is_audited(client, submit, department):
    submission = submit()
    client.force_login(department.reader)

    client.get(reverse("submissions:feedback-detail", args=[submission.pk]))

    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert event.actor_id == department.reader.pk
    assert event.object_id == str(submission.pk)


def test_the_submitter_never_sees_a_reader_they_did_not_name(client, submit, department):
    from submissions.services import reader_assign

    submission = submit(reader=None, actions=[ActionRequest("addendum")])
    reader_assign(submission=submission, actor=department.champion, reader=department.reader)
    client.force_login(department.radiologist)

    page = client.get(reverse("submissions:mine-detail", args=[submission.pk])).content.decode()
    api = client.get(reverse("api:submission-detail", args=[submission.pk])).json()

    assert "Quinn" not in page and department.reader.email not in page
    assert "Identified by the champion" in page
    assert api["original_reader"] is None
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FEEDBACK_SENT


def test_the_next_due_time_follows_the_open_actions(submit, department):
    from submissions.services import action_complete

    submission = submit(actions=[ActionRequest("addendum"), ActionRequest("contact_clinician")])
    first, second = submission.actions.order_by("id")
    submission.refresh_from_db()
    assert submission.next_action_due_at == first.due_at

    action_complete(action=first, actor=department.reader)
    submission.refresh_from_db()
    assert submission.next_action_due_at == second.due_at

    action_complete(action=second, actor=department.reader)
    submission.refresh_from_db()
    assert submission.next_action_due_at is None


def test_a_disagreement_is_not_reported_as_a_plain_acknowledgment(client, submit, department):
    submission = submit()
    client.force_login(department.reader)
    client.post(
        reverse("submissions:feedback-respond", args=[submission.pk]), {"response": "disagree"}
    )

    (told,) = [e for e in emails_to(department.radiologist.email) if "acknowledged" in e.key]
    assert told.subject == "The original reader sees your submission differently"
    assert "sees the case differently" in told.body_text
    client.force_login(department.radiologist)
    mine = client.get(reverse("submissions:mine")).content.decode()
    assert "Reader disagrees" in mine
    assert "badge-ok" not in mine


def test_champions_are_told_of_a_disagreement_once_and_not_by_name(client, submit, department):
    submission = submit()
    client.force_login(department.reader)
    url = reverse("submissions:feedback-respond", args=[submission.pk])
    client.post(url, {"response": "disagree"})
    client.post(url, {"response": "disagree"})

    (notice,) = emails_to(department.champion.email)
    assert notice.subject == "A reader disagrees with feedback: please review"
    assert reverse("submissions:review", args=[submission.pk]) in notice.body_text
    assert "Quinn" not in notice.body_text and "Rowan" not in notice.body_text
    assert emails_to(department.body_champion.email) == []


def test_agreeing_tells_no_champion(client, submit, department):
    submission = submit()
    client.force_login(department.reader)
    client.post(
        reverse("submissions:feedback-respond", args=[submission.pk]), {"response": "agree"}
    )
    assert emails_to(department.champion.email) == []

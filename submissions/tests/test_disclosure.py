"""What each side of a submission may learn (submissions/disclosure.py), on every output of
this app: pages, the API, the PDF, the admin, the outbox."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import AuditEvent, OutboundEmail, Role
from peerlearning.testing import make_member
from submissions.models import SectionSubmissionSettings, Submission
from submissions.services import reader_assign
from submissions.tests.pdftext import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.real_feedback_batches]

MINUTE_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")


def release(submission) -> Submission:
    """Move the feedback's release into the past, as the batch's hour passing would."""
    past = timezone.now() - datetime.timedelta(minutes=1)
    Submission.objects.filter(pk=submission.pk).update(feedback_sent_at=past)
    OutboundEmail.objects.filter(key=f"feedback:{submission.pk}:reader").update(
        next_attempt_at=past
    )
    submission.refresh_from_db()
    return submission


# Finding 4: the admin -----------------------------------------------------------------------


def test_admin_refuses_a_lookup_by_original_reader(client, department, submit):
    submit()
    client.force_login(department.site_admin)
    url = reverse("admin:submissions_submission_changelist")
    for query in (
        f"original_reader={department.reader.pk}&reason=discrepancy",
        f"original_reader__id__exact={department.reader.pk}",
        f"original_reader__email={department.reader.email}",
    ):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, query


def test_admin_change_page_hides_the_reader_until_an_audited_reveal(client, department, submit):
    submission = submit()
    client.force_login(department.site_admin)
    page = client.get(reverse("admin:submissions_submission_change", args=[submission.pk]))
    assert page.status_code == 200
    assert b"Quinn" not in page.content
    assert b"Reveal the original reader" in page.content

    reveal = reverse("admin:submissions_submission_reveal_reader", args=[submission.pk])
    assert b"Quinn" not in client.get(reveal).content  # the confirmation asks first
    revealed = client.post(reveal, {"reason": "Legal hold request 17"})
    assert revealed.status_code == 200
    assert b"Quinn Reader" in revealed.content
    event = AuditEvent.objects.filter(object_id=str(submission.pk), detail__what="reveal reader")
    assert event.count() == 1
    assert event.get().detail["reason"] == "Legal hold request 17"


def test_admin_reveal_is_for_superusers_only(client, department, submit):
    submission = submit()
    staff = department.outsider
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client.force_login(staff)
    reveal = reverse("admin:submissions_submission_reveal_reader", args=[submission.pk])
    assert client.post(reveal, {"reason": "curious"}).status_code == 403
    assert not AuditEvent.objects.filter(detail__what="reveal reader").exists()


# Finding 6: a champion who submitted ----------------------------------------------------------


def test_a_submitting_champion_never_sees_the_reader_another_champion_identified(
    client, department, submit
):
    second = make_member(
        department.neuro, Role.RADIOLOGIST, Role.CHAMPION, first_name="Dale", last_name="Second"
    )
    submission = submit(submitter=department.champion, reader=None)
    reader_assign(submission=submission, actor=second, reader=department.reader)
    release(submission)

    client.force_login(department.champion)
    queue = client.get(reverse("submissions:queue") + "?status=")
    assert b"Quinn" not in queue.content
    assert submission.pk not in [row.pk for row in queue.context["page_obj"]]
    assert client.get(reverse("submissions:review", args=[submission.pk])).status_code == 404
    mine = client.get(reverse("submissions:mine-detail", args=[submission.pk]))
    assert b"Quinn" not in mine.content
    api = client.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert api["original_reader"] is None and api["viewer"] == "submitter"
    listed = client.get("/api/v1/submissions/").json()["results"]
    assert all(row["original_reader"] is None for row in listed if row["id"] == submission.pk)


# Finding 7: time at a safe resolution ----------------------------------------------------------


def test_reader_api_gives_days_not_times(client, department, submit):
    submission = release(submit())
    client.force_login(department.reader)
    body = client.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert body["viewer"] == "reader"
    assert body["created_at"] is None
    assert body["feedback_sent_at"] is None
    assert body["shared_on"] == timezone.localdate(submission.feedback_sent_at).isoformat()
    for action in body["required_actions"]:
        assert action["due_at"] is None
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", action["due_on"])
    assert not re.search(r"T\d{2}:\d{2}", str(body).replace(str(body["acknowledged_at"]), ""))


def test_reader_page_and_pdf_show_due_dates_without_a_time(client, department, submit):
    submission = release(submit())
    client.force_login(department.reader)
    page = client.get(reverse("submissions:feedback-detail", args=[submission.pk]))
    main = page.content.decode().split("<main", 1)[-1]
    assert "Pending · due" in main
    assert not MINUTE_TIME.search(main), MINUTE_TIME.search(main)
    pdf = client.get(reverse("submissions:feedback-pdf", args=[submission.pk]))
    text = pdf_text(b"".join(pdf.streaming_content) if pdf.streaming else pdf.content)
    assert "to do by" in text
    assert not MINUTE_TIME.search(text), MINUTE_TIME.search(text)


def test_feedback_email_waits_for_the_next_batch_not_the_click(department, submit):
    before = timezone.now()
    submission = submit()
    email = OutboundEmail.objects.get(key=f"feedback:{submission.pk}:reader")
    next_hour = before.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)
    assert next_hour <= email.next_attempt_at <= next_hour + datetime.timedelta(minutes=30)
    assert submission.feedback_sent_at == email.next_attempt_at


def test_the_reader_sees_nothing_before_the_batch_goes(client, department, submit):
    submission = submit()
    client.force_login(department.reader)
    assert (
        client.get(reverse("submissions:feedback-inbox")).context["page_obj"].paginator.count == 0
    )
    detail = reverse("submissions:feedback-detail", args=[submission.pk])
    assert client.get(detail).status_code == 404
    assert client.get(f"/api/v1/submissions/{submission.pk}/").status_code == 404
    release(submission)
    assert client.get(detail).status_code == 200


def test_batch_times_follow_the_section_setting_and_urgency():
    from submissions.disclosure import feedback_release_at
    from submissions.models import FeedbackBatching

    config = SectionSubmissionSettings()
    tz = timezone.get_current_timezone()
    now = datetime.datetime(2026, 11, 5, 10, 7, 30, tzinfo=tz)
    for _ in range(50):
        routine = feedback_release_at(config=config, urgency="routine", now=now)
        assert datetime.datetime(2026, 11, 5, 11, 0, tzinfo=tz) <= routine
        assert routine <= datetime.datetime(2026, 11, 5, 11, 30, tzinfo=tz)
    assert feedback_release_at(config=config, urgency="urgent", now=now) == datetime.datetime(
        2026, 11, 5, 10, 15, tzinfo=tz
    )
    config.feedback_batching = FeedbackBatching.DAILY
    daily = feedback_release_at(config=config, urgency="routine", now=now)
    assert datetime.datetime(2026, 11, 6, 7, 0, tzinfo=tz) <= daily
    assert daily <= datetime.datetime(2026, 11, 6, 7, 30, tzinfo=tz)


def test_the_champion_sees_when_the_feedback_will_go(client, department, submit):
    submission = submit()
    email = OutboundEmail.objects.get(key=f"feedback:{submission.pk}:reader")
    client.force_login(department.champion)
    page = client.get(reverse("submissions:review", args=[submission.pk]))
    goes = timezone.localtime(email.next_attempt_at).strftime("%H:%M")
    assert f"Goes to the reader at {goes}".encode() in page.content


# Finding 8: wording follows what the other side sees --------------------------------------------


def test_reader_is_not_told_they_are_anonymous_when_the_submitter_named_them(
    client, department, submit
):
    submission = release(submit())
    client.force_login(department.reader)
    page = client.get(reverse("submissions:feedback-detail", args=[submission.pk]))
    assert b"reads this without your name" not in page.content
    assert b"named you as the reader" in page.content
    reply = client.post(
        reverse("submissions:feedback-reply", args=[submission.pk]),
        {"body": "Thanks, addendum done."},
        follow=True,
    )
    assert b"Your name was not shown" not in reply.content


def test_reader_identified_by_a_champion_is_told_the_submitter_does_not_know(
    client, department, submit
):
    submission = submit(reader=None)
    reader_assign(submission=submission, actor=department.champion, reader=department.reader)
    release(submission)
    client.force_login(department.reader)
    page = client.get(reverse("submissions:feedback-detail", args=[submission.pk]))
    assert b"reads this without your name" in page.content


def test_a_signing_submitter_is_not_told_the_reader_lacks_their_name(client, department, submit):
    submission = release(submit(signed=True))
    client.force_login(department.radiologist)
    page = client.get(reverse("submissions:mine-detail", args=[submission.pk]))
    assert b"without your name" not in page.content
    assert b"sees your name" in page.content


# The layer itself -------------------------------------------------------------------------------


def test_disclosure_answers_for_each_side(department, submit):
    from submissions.disclosure import disclosure_for

    submission = release(submit())
    reader = disclosure_for(viewer=department.reader, submission=submission)
    assert (reader.side, reader.knows_submitter, reader.knows_reader) == ("reader", False, True)
    assert not reader.exact_times
    submitter = disclosure_for(viewer=department.radiologist, submission=submission)
    assert (submitter.knows_submitter, submitter.knows_reader) == (True, True)
    champion = disclosure_for(viewer=department.champion, submission=submission)
    assert champion.side == "champion" and champion.exact_times
    outsider = disclosure_for(viewer=department.body_champion, submission=submission)
    assert outsider.side is None and not outsider.knows_submitter and not outsider.knows_reader

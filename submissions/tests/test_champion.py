"""Champions: the queue, triage with its history, feedback review, closing, settings."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import AuditEvent, Membership, Role
from submissions.models import SectionSubmissionSettings, Submission
from submissions.services import ActionRequest, action_complete, submission_create
from submissions.tests.conftest import emails_to, make_overdue
from submissions.views.champions import QUEUE_PAGE_SIZE

pytestmark = pytest.mark.django_db

QUEUE = reverse("submissions:queue")


@pytest.fixture
def champion_client(client, department):
    client.force_login(department.champion)
    return client


def test_the_queue_lists_the_sections_submissions_with_the_submitter(
    champion_client, submit, department
):
    submission = submit()
    submit(
        submitter=department.body_champion,
        section=department.body,
        accession_number="BODY-0001",
        reader=None,
    )

    content = champion_client.get(QUEUE).content.decode()

    assert "A1000001" in content
    assert "Rowan Submitter" in content
    assert "BODY-0001" not in content
    assert reverse("submissions:review", args=[submission.pk]) in content


def test_the_queue_never_shows_a_tally_per_original_reader(champion_client, submit, department):
    for n in range(3):
        submit(accession_number=f"A{n:07d}")

    content = champion_client.get(QUEUE).content.decode()

    # No reader column, no reader filter: nothing to count discrepancies per person with.
    assert "Quinn" not in content
    assert department.reader.email not in content
    assert 'name="reader"' not in content


def test_a_champion_does_not_see_feedback_addressed_to_them(champion_client, submit, department):
    submission = submit(reader=department.champion)

    assert "A1000001" not in champion_client.get(QUEUE).content.decode()
    review = reverse("submissions:review", args=[submission.pk])
    assert champion_client.get(review).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"URGENT-1", "ROUTINE-1", "CATCH-1"}),
        ({"status": ""}, {"URGENT-1", "ROUTINE-1", "CATCH-1", "CLOSED-1"}),
        ({"status": "closed"}, {"CLOSED-1"}),
        ({"reason": "great_catch"}, {"CATCH-1"}),
        ({"action": "pending"}, {"URGENT-1", "ROUTINE-1"}),
        ({"action": "overdue"}, {"URGENT-1"}),
        ({"age": "7"}, {"URGENT-1", "ROUTINE-1"}),
        ({"age": "older30"}, {"CATCH-1"}),
    ],
)
def test_the_queue_filters(champion_client, submit, department, params, expected):
    now = timezone.now()
    urgent = submit(accession_number="URGENT-1", urgency="urgent")
    make_overdue(urgent)
    submit(accession_number="ROUTINE-1")
    catch = submit(accession_number="CATCH-1", reason="great_catch", reason_detail="", actions=[])
    Submission.objects.filter(pk=catch.pk).update(created_at=now - datetime.timedelta(days=40))
    closed = submit(accession_number="CLOSED-1", actions=[])
    Submission.objects.filter(pk=closed.pk).update(status=Submission.Status.CLOSED)

    response = champion_client.get(QUEUE, params)

    shown = {s.accession_number for s in response.context["page_obj"]}
    assert shown == expected


def test_the_queue_sorts(champion_client, submit):
    first = submit(accession_number="FIRST-1")
    second = submit(accession_number="SECOND-1", urgency="urgent")
    Submission.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )

    def order(sort):
        page = champion_client.get(QUEUE, {"sort": sort}).context["page_obj"]
        return [s.pk for s in page]

    assert order("newest") == [second.pk, first.pk]
    assert order("oldest") == [first.pk, second.pk]
    assert order("urgency") == [second.pk, first.pk]
    assert order("due") == [second.pk, first.pk]


def test_filtering_through_htmx_answers_with_the_results_only(champion_client, submit):
    submit()

    response = champion_client.get(
        QUEUE, {"status": "open"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results"
    )

    text = response.content.decode()
    assert "A1000001" in text
    assert "<h1>" not in text


def _many(department, start: int, count: int) -> None:
    readers = [department.reader, department.trainee]
    for n in range(start, start + count):
        submission_create(
            submitter=department.radiologist if n % 2 else department.trainee,
            section=department.neuro,
            accession_number=f"Q{n:07d}",
            reason="discrepancy" if n % 3 else "interesting",
            reason_detail="interpretive" if n % 3 else "",
            description="Finding.",
            reader=readers[n % 2],
            actions=[ActionRequest("addendum")] if n % 4 == 0 else [],
            attested=True,
        )


def test_the_queue_takes_the_same_few_queries_whatever_its_length(
    champion_client, department, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(params) -> int:
        champion_client.get(QUEUE, params)  # warm the session and site policy
        with CaptureQueriesContext(connection) as captured:
            champion_client.get(QUEUE, params)
        return len(captured)

    _many(department, 0, 5)
    few = queries({"status": "", "sort": "due"})
    _many(department, 5, 150)
    many = queries({"status": "", "sort": "due"})

    assert few == many
    # The counts are cached (no submission changed since the last request); the filtered page
    # counts its own rows.
    with django_assert_max_num_queries(11):
        response = champion_client.get(QUEUE, {"page": "2", "action": "pending", "sort": "urgency"})
    assert response.status_code == 200
    with django_assert_max_num_queries(11):
        response = champion_client.get(QUEUE, {"status": ""})
    assert len(response.context["page_obj"]) == QUEUE_PAGE_SIZE == 25


def test_a_queue_row_links_to_the_review_and_shows_day_and_status(champion_client, submit):
    from django.utils.formats import date_format

    submission = submit()

    text = champion_client.get(QUEUE).content.decode()

    review = reverse("submissions:review", args=[submission.pk])
    day = date_format(timezone.localtime(submission.created_at), "j M Y")
    assert f'<a href="{review}">{day}</a>' in text
    assert f">{submission.get_status_display()}</span>" in text
    assert submission.reason_label == "Discrepancy: perceptual"
    assert "Discrepancy: perceptual" in text
    assert '<span class="help">0\xa0minutes ago</span>' in text


def test_a_queue_row_shows_its_age_the_readers_answer_and_the_significance(champion_client, submit):
    submission = submit()
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=9, hours=3, minutes=5),
        reader_response="agree",
        significance="major",
    )

    text = champion_client.get(QUEUE).content.decode()

    assert "1\xa0week, 2\xa0days ago" in text
    assert "Reader: agrees" in text
    assert '<span class="badge badge-muted">Major</span>' in text


def test_the_counts_follow_a_status_change_at_once(champion_client, submit, department):
    submit(actions=[])
    second = submit(accession_number="A1000002", actions=[])
    assert champion_client.get(QUEUE).context["counts"]["open"] == 2  # now cached

    from submissions.services import submission_close

    submission_close(submission=second, actor=department.champion)

    counts = champion_client.get(QUEUE).context["counts"]
    assert counts["open"] == 1


def test_the_default_view_pages_through_every_open_case_without_counting_twice(
    champion_client, department, django_assert_max_num_queries
):
    _many(department, 0, 60)
    champion_client.get(QUEUE)  # warm the session, site policy and counts

    with django_assert_max_num_queries(10):
        response = champion_client.get(QUEUE)

    page_obj = response.context["page_obj"]
    assert page_obj.paginator.count == response.context["counts"]["open"] == 60
    assert page_obj.paginator.num_pages == 3  # 25 a page
    assert len(champion_client.get(QUEUE, {"page": "3"}).context["page_obj"]) == 10


def test_triage_keeps_a_history_of_who_changed_what(champion_client, submit, department):
    submission = submit()
    url = reverse("submissions:review-triage", args=[submission.pk])

    champion_client.post(
        url,
        {
            "reason": "discrepancy",
            "reason_detail": "interpretive",
            "significance": "major",
            "conference_candidate": "on",
            "counted": "on",
        },
    )
    champion_client.post(
        url,
        {
            "reason": "discrepancy",
            "reason_detail": "interpretive",
            "significance": "major",
            "not_counted_reason": "duplicate",
        },
    )

    submission.refresh_from_db()
    assert submission.reason_detail == "interpretive"
    assert submission.significance == "major"
    assert submission.conference_candidate is False
    assert submission.counted is False
    assert submission.not_counted_reason == "duplicate"
    first, second = submission.events.filter(kind="triaged").order_by("at", "id")
    assert first.actor == department.champion
    assert first.changes["reason_detail"] == ["perceptual", "interpretive"]
    assert first.changes["conference_candidate"] == [False, True]
    assert second.changes["counted"] == [True, False]
    page = champion_client.get(reverse("submissions:review", args=[submission.pk]))
    assert "Triage changed" in page.content.decode()


def test_not_counting_needs_a_reason(champion_client, submit):
    submission = submit()

    response = champion_client.post(
        reverse("submissions:review-triage", args=[submission.pk]),
        {"reason": "discrepancy", "reason_detail": "perceptual"},
    )

    assert response.status_code == 400
    submission.refresh_from_db()
    assert submission.counted is True


def test_notes_are_private_to_champions(champion_client, client, submit, department):
    submission = submit()
    champion_client.post(
        reverse("submissions:review-note", args=[submission.pk]),
        {"text": "Discuss at the March conference."},
    )
    client.force_login(department.reader)
    reader_page = client.get(reverse("submissions:feedback-detail", args=[submission.pk]))
    client.force_login(department.radiologist)
    submitter_page = client.get(reverse("submissions:mine-detail", args=[submission.pk]))

    assert submission.events.filter(kind="note", text__contains="March").exists()
    assert "March conference" not in reader_page.content.decode()
    assert "March conference" not in submitter_page.content.decode()


def test_a_champion_rewords_held_feedback_then_sends_it(
    champion_client, submit, department, neuro_settings
):
    neuro_settings(review_before_sending=True)
    submission = submit(description="He missed an obvious bleed.")

    champion_client.post(
        reverse("submissions:review-feedback", args=[submission.pk]),
        {
            "description": "A small subdural collection was not described.",
            "learning_point": "Vertex.",
            "send": "1",
        },
    )

    submission.refresh_from_db()
    assert submission.status == Submission.Status.FEEDBACK_SENT
    assert submission.description == "He missed an obvious bleed."
    assert submission.feedback_description == "A small subdural collection was not described."
    edited = submission.events.get(kind="feedback_edited")
    assert edited.changes["feedback_description"][0] == "He missed an obvious bleed."
    (email,) = emails_to(department.reader.email)
    assert email.key == f"feedback:{submission.pk}:reader"
    from django.test import Client

    reader = Client()
    reader.force_login(department.reader)
    page = reader.get(reverse("submissions:feedback-detail", args=[submission.pk]))
    assert "A small subdural collection was not described." in page.content.decode()
    assert "obvious bleed" not in page.content.decode()


def test_held_feedback_is_not_visible_to_the_reader_yet(client, submit, department, neuro_settings):
    neuro_settings(review_before_sending=True)
    submission = submit()
    client.force_login(department.reader)

    assert client.get(reverse("submissions:feedback-detail", args=[submission.pk])).status_code == (
        404
    )


def test_a_champion_identifies_an_unknown_reader(champion_client, submit, department):
    submission = submit(reader=None)

    champion_client.post(
        reverse("submissions:review-reader", args=[submission.pk]),
        {"reader_kind": "roster", "reader": department.reader.email},
    )

    submission.refresh_from_db()
    assert submission.original_reader == department.reader
    assert not submission.reader_named_by_submitter
    assert submission.status == Submission.Status.FEEDBACK_SENT


def test_closing_waits_for_the_clinical_actions(champion_client, submit, department):
    submission = submit()
    url = reverse("submissions:review-close", args=[submission.pk])

    champion_client.post(url)
    submission.refresh_from_db()
    assert submission.status != Submission.Status.CLOSED

    action_complete(action=submission.actions.get(), actor=department.reader)
    champion_client.post(url)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.CLOSED
    assert submission.events.filter(kind="closed", actor=department.champion).exists()

    champion_client.post(url, {"reopen": "1"})
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FEEDBACK_SENT


def test_a_champion_records_an_action_on_the_readers_behalf(champion_client, submit, department):
    submission = submit()
    action = submission.actions.get()

    champion_client.post(
        reverse("submissions:review-action-done", args=[submission.pk, action.pk]),
        {"done_on": timezone.localdate().isoformat(), "note": "Confirmed by phone"},
    )

    action.refresh_from_db()
    assert action.done_by == department.champion


def test_routing_to_quality_is_flagged_once(champion_client, submit):
    submission = submit()
    url = reverse("submissions:review-route", args=[submission.pk])

    champion_client.post(url, {"note": "Protocol issue"})
    champion_client.post(url)

    submission.refresh_from_db()
    assert submission.routed_to_quality_at is not None
    assert (
        submission.events.filter(kind="triaged", changes__has_key="routed_to_quality").count() == 1
    )


def test_reviewing_is_audited(champion_client, submit, department):
    submission = submit()

    champion_client.get(reverse("submissions:review", args=[submission.pk]))

    assert AuditEvent.objects.filter(
        action="view", actor_id=department.champion.pk, object_id=str(submission.pk)
    ).exists()


def test_a_champion_of_another_section_gets_404(client, submit, department):
    submission = submit()
    client.force_login(department.body_champion)

    for name in ("review", "review-triage", "review-note", "review-close"):
        response = (client.get if name == "review" else client.post)(
            reverse(f"submissions:{name}", args=[submission.pk])
        )
        assert response.status_code == 404, name


def test_section_settings_are_edited_by_champions_and_audited(champion_client, department):
    response = champion_client.post(
        reverse("submissions:settings"),
        {
            "review_before_sending": "on",
            "feedback_batching": "daily",
            "urgent_window_hours": "12",
            "routine_window_hours": "48",
        },
    )

    assert response.status_code == 302
    config = SectionSubmissionSettings.objects.get(section=department.neuro)
    assert config.review_before_sending
    assert config.feedback_batching == "daily"
    assert (config.urgent_window_hours, config.routine_window_hours) == (12, 48)
    assert AuditEvent.objects.filter(action="update", object_type__contains="settings").exists()


def test_a_champion_cannot_change_another_sections_settings(client, department):
    client.force_login(department.body_champion)

    client.post(
        reverse("submissions:settings") + f"?section={department.neuro.pk}",
        {"urgent_window_hours": "1", "routine_window_hours": "1"},
    )

    assert not SectionSubmissionSettings.objects.filter(section=department.neuro).exists()


def test_the_window_for_actions_comes_from_the_section(submit, neuro_settings):
    neuro_settings(urgent_window_hours=6)

    urgent = submit(urgency="urgent")
    routine = submit(accession_number="A2")

    for submission, hours in ((urgent, 6), (routine, 72)):
        action = submission.actions.get()
        assert action.due_at - submission.created_at == datetime.timedelta(hours=hours)


def test_a_leader_sees_counts_only(client, submit, department):
    submit()
    submit(accession_number="A2", reason="great_catch", reason_detail="", actions=[])
    client.force_login(department.leader)

    response = client.get(reverse("submissions:summary"))

    content = response.content.decode()
    (line,) = response.context["lines"]
    assert line["section"] == "Neuroradiology"
    assert line["total"] == 2
    for name in ("Quinn", "Rowan", "A1000001", department.reader.email):
        assert name not in content


def test_a_leader_sees_only_their_sections(client, submit, department):
    submit(
        submitter=department.body_champion,
        section=department.body,
        accession_number="B1",
        reader=None,
    )
    client.force_login(department.leader)

    assert client.get(reverse("submissions:summary")).context["lines"] == []
    Membership.objects.create(user=department.leader, section=department.body, role=Role.LEADER)
    client.force_login(department.leader)
    assert len(client.get(reverse("submissions:summary")).context["lines"]) == 1


def test_the_champion_corrects_the_actions_on_the_review_page(client, submit, department):
    from submissions.models import SubmissionEvent

    submission = submit()
    client.force_login(department.champion)
    page = client.get(reverse("submissions:review", args=[submission.pk])).content.decode()
    assert "Correct the clinical actions" in page

    refused = client.post(
        reverse("submissions:review-actions", args=[submission.pk]), {"add": ["other"]}
    )
    assert refused.status_code == 400
    assert "Say why the actions change" in refused.content.decode()

    client.post(
        reverse("submissions:review-actions", args=[submission.pk]),
        {
            "add": ["follow_up_imaging"],
            "remove": ["addendum"],
            "reason": "The addendum was already signed; follow-up CT is what is missing.",
        },
    )
    assert list(submission.actions.values_list("kind", flat=True)) == ["follow_up_imaging"]
    event = submission.events.get(kind=SubmissionEvent.Kind.ACTIONS_CHANGED)
    assert event.actor == department.champion
    assert event.text.startswith("The addendum was already signed")
    history = client.get(reverse("submissions:review", args=[submission.pk])).content.decode()
    assert "Clinical actions changed" in history

"""The agenda: checked cases in order, minutes against the conference's length; presenting;
the audience's anonymous votes."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences.attendance.services import attendance_mark, check_in
from conferences.cases.agenda import (
    AgendaRefused,
    VoteRefused,
    agenda_add,
    agenda_move,
    agenda_remove,
    agenda_reorder,
    vote_cast,
    vote_close,
    vote_open,
    voter_key,
)
from conferences.meetings.services import conference_update
from conferences.models import AgendaItem, VoteCount, VoteReceipt
from conferences.tests.conftest import make_conference
from conferences.tests.teaching import agenda_of, ready_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def conference(department):
    return make_conference(
        department.neuro, actor=department.champion, start=timezone.now(), minutes=45
    )


@pytest.fixture
def cases(department):
    return [
        ready_case(department.neuro, department.champion, images=0, title=f"Case {n}")
        for n in range(1, 4)
    ]


def titles(conference):
    return list(
        AgendaItem.objects.filter(conference=conference)
        .order_by("position")
        .values_list("teaching_case__title", "position")
    )


def test_cases_are_added_moved_reordered_and_removed_keeping_positions_one_to_n(
    department, conference, cases
):
    agenda_of(conference, cases, department.champion)
    first, second, third = AgendaItem.objects.filter(conference=conference).order_by("position")
    assert titles(conference) == [("Case 1", 1), ("Case 2", 2), ("Case 3", 3)]

    agenda_move(item=third, direction="up", actor=department.champion)
    assert titles(conference) == [("Case 1", 1), ("Case 3", 2), ("Case 2", 3)]
    agenda_move(item=first, direction="up", actor=department.champion)  # already first
    agenda_reorder(
        conference=conference, order=[second.pk, first.pk, third.pk], actor=department.champion
    )
    assert titles(conference) == [("Case 2", 1), ("Case 1", 2), ("Case 3", 3)]
    with pytest.raises(AgendaRefused, match="changed meanwhile"):
        agenda_reorder(conference=conference, order=[second.pk, first.pk], actor=None)
    agenda_remove(item=first, actor=department.champion)
    assert titles(conference) == [("Case 2", 1), ("Case 3", 2)]
    with pytest.raises(AgendaRefused, match="already"):
        agenda_add(conference=conference, case=cases[1], actor=department.champion)


def test_a_case_of_another_section_cannot_be_added(department, conference):
    body = ready_case(department.body, department.body_champion, images=0)
    with pytest.raises(AgendaRefused, match="another section"):
        agenda_add(conference=conference, case=body, actor=department.champion)


def test_the_builder_saves_by_htmx_and_shows_the_total_against_the_length(
    client, department, conference, cases, django_assert_max_num_queries
):
    client.force_login(department.champion)
    save = reverse("conferences:agenda-save", args=[conference.pk])
    for case in cases:
        response = client.post(save, {"add": str(case.uuid)}, HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="agenda-builder"')
    assert "<strong>30</strong> of 45 minutes planned" in fragment
    items = list(AgendaItem.objects.filter(conference=conference).order_by("position"))

    # Drag and drop posts the new order; a minutes field posts with it.
    response = client.post(
        save,
        {"order": [items[2].pk, items[0].pk, items[1].pk], f"minutes-{items[2].pk}": "25"},
        HTTP_HX_REQUEST="true",
    )
    assert titles(conference) == [("Case 3", 1), ("Case 1", 2), ("Case 2", 3)]
    assert "<strong>45</strong> of 45 minutes" in response.content.decode()
    response = client.post(save, {f"minutes-{items[0].pk}": "20"}, HTTP_HX_REQUEST="true")
    assert "10 minutes over" in response.content.decode()
    response = client.post(save, {f"minutes-{items[0].pk}": "lots"}, HTTP_HX_REQUEST="true")
    assert "is not a number of minutes" in response.content.decode()

    # Without JavaScript: the up button posts the form and the page reloads.
    response = client.post(save, {"move": f"{items[0].pk}:up"})
    assert response.status_code == 302
    assert titles(conference) == [("Case 1", 1), ("Case 3", 2), ("Case 2", 3)]
    with django_assert_max_num_queries(15):
        assert client.get(reverse("conferences:agenda", args=[conference.pk])).status_code == 200


def test_only_the_sections_champions_build_the_agenda_and_presenters_may_present(
    client, department, conference, cases
):
    agenda_of(conference, cases[:1], department.champion)
    conference_update(conference=conference, actor=None, presenters=[department.reader])
    agenda = reverse("conferences:agenda", args=[conference.pk])
    present = reverse("conferences:present", args=[conference.pk])

    client.force_login(department.body_champion)
    assert client.get(agenda).status_code == 404
    assert client.get(present).status_code == 404
    client.force_login(department.reader)  # the presenter
    assert client.get(agenda).status_code == 403
    assert client.get(present).status_code == 200
    client.force_login(department.radiologist)  # in the room, not presenting
    assert client.get(present).status_code == 404


# Votes ---------------------------------------------------------------------------------------


@pytest.fixture
def item(department, conference, cases):
    agenda_of(conference, cases[:2], department.champion)
    return AgendaItem.objects.get(conference=conference, position=1)


def test_people_present_vote_once_and_no_vote_names_its_voter(department, conference, item):
    check_in(code=conference.check_in_code, user=department.trainee)
    attendance_mark(
        conference=conference, user=department.reader, present=True, minutes=None, actor=None
    )
    with pytest.raises(VoteRefused, match="closed"):
        vote_cast(item=item, user=department.trainee, choice=0)
    vote_open(item=item, actor=department.champion)

    vote_cast(item=item, user=department.trainee, choice=1)
    vote_cast(item=item, user=department.reader, choice=1)
    with pytest.raises(VoteRefused, match="answered this question already"):
        vote_cast(item=item, user=department.trainee, choice=0)
    with pytest.raises(VoteRefused, match="Check in"):
        vote_cast(item=item, user=department.radiologist, choice=0)
    with pytest.raises(VoteRefused, match="Pick one"):
        vote_cast(item=item, user=department.reader, choice=7)

    assert dict(VoteCount.objects.filter(item=item).values_list("choice", "count")) == {
        0: 0,
        1: 2,
        2: 0,
    }
    receipts = list(VoteReceipt.objects.values())
    assert [set(r) for r in receipts] == [{"id", "item_id", "voter_key"}] * 2
    ids = {str(department.trainee.pk), str(department.reader.pk)}
    assert not any(r["voter_key"] in ids for r in receipts)
    assert voter_key(user_id=1, item_id=item.pk) != voter_key(user_id=1, item_id=item.pk + 1)


def test_opening_a_vote_closes_the_one_before(department, conference, item):
    other = AgendaItem.objects.get(conference=conference, position=2)
    vote_open(item=item, actor=department.champion)
    vote_open(item=other, actor=department.champion)
    item.refresh_from_db()
    assert (item.vote_state, other.vote_state) == ("closed", "open")


def test_the_presenter_sees_the_count_while_open_and_the_tally_only_after_closing(
    client, department, conference, item
):
    check_in(code=conference.check_in_code, user=department.trainee)
    client.force_login(department.champion)
    panel = reverse("conferences:vote-panel", args=[conference.pk, item.pk])
    opened = client.post(panel, {"action": "open"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Voting is open" in opened and 'hx-trigger="every 2s"' in opened
    vote_cast(item=item, user=department.trainee, choice=2)

    polled = client.get(panel, HTTP_HX_REQUEST="true").content.decode()
    assert "<strong data-vote-count>1</strong>" in polled and "data-tally" not in polled
    closed = client.post(panel, {"action": "close"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-count="C">1<' in closed and 'data-count="A">0<' in closed
    assert "every 2s" not in closed


def test_the_audience_page_shows_the_open_question_and_takes_an_answer(
    client, department, conference, item
):
    client.force_login(department.trainee)
    live = reverse("conferences:live", args=[conference.pk])
    assert client.get(live).status_code == 404  # not checked in
    check_in(code=conference.check_in_code, user=department.trainee)
    waiting = client.get(reverse("conferences:live-question", args=[conference.pk]))
    assert "No question is open" in waiting.content.decode()

    vote_open(item=item, actor=department.champion)
    page = client.get(live).content.decode()
    assert 'hx-trigger="every 2s"' in page and "Subdural hematoma" in page
    vote = reverse("conferences:live-vote", args=[conference.pk])
    answered = client.post(
        vote, {"item": item.pk, "choice": "0"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "your answer is in" in answered
    again = client.post(vote, {"item": item.pk, "choice": "1"}, HTTP_HX_REQUEST="true")
    assert "You have answered this question" in again.content.decode()
    vote_close(item=item, actor=department.champion)
    assert "No question is open" in client.get(live).content.decode()


def test_a_held_back_case_is_never_opened_for_votes(department, conference, item):
    from conferences.models import TeachingCase

    TeachingCase.objects.filter(pk=item.teaching_case_id).update(check_passed=False)
    item.refresh_from_db()
    with pytest.raises(VoteRefused, match="held back"):
        vote_open(item=item, actor=department.champion)


def test_checking_in_leads_to_the_audience_page(client, department):
    conference = make_conference(
        department.neuro, start=timezone.now() - datetime.timedelta(minutes=1)
    )
    client.force_login(department.radiologist)
    response = client.post(reverse("conferences:check-in"), {"code": conference.check_in_code})
    assert response["Location"] == reverse("conferences:live", args=[conference.pk])


def test_another_sections_champion_reaches_nothing_and_changes_nothing(client, department):
    from conferences.models import CaseImage, KeyImage, TeachingCase
    from conferences.tests.teaching import dicom_upload

    conference = make_conference(department.neuro, actor=department.champion)
    case = ready_case(department.neuro, department.champion, images=1)
    agenda_of(conference, [case], department.champion)
    item = AgendaItem.objects.get()
    image, key = CaseImage.objects.get(), KeyImage.objects.get()

    def state():
        return (
            list(TeachingCase.objects.values()),
            list(CaseImage.objects.values()),
            list(KeyImage.objects.values()),
            list(AgendaItem.objects.values()),
        )

    before = state()
    client.force_login(department.body_champion)
    posts = [
        ("case-edit", [case.uuid], {"title": "Mine now", "question_kind": "none"}),
        ("case-check", [case.uuid], {}),
        ("case-credits-ask", [case.uuid], {}),
        ("case-images", [case.uuid], {"files": dicom_upload(1)}),
        ("image-review", [case.uuid, image.pk], {"rectangles": "0, 0, 5, 5"}),
        ("image-delete", [case.uuid, image.pk], {}),
        ("key-image-add", [case.uuid, image.pk], {"frame": 1, "preset": "ct_bone"}),
        ("key-image-edit", [case.uuid, key.pk], {"delete": "1"}),
        ("agenda-save", [conference.pk], {"remove": item.pk}),
        ("vote-panel", [conference.pk, item.pk], {"action": "open"}),
    ]
    for name, args, data in posts:
        response = client.post(reverse(f"conferences:{name}", args=args), data)
        assert response.status_code == 404, name
    assert client.get(reverse("conferences:key-image", args=[case.uuid, key.pk])).status_code == 404
    assert state() == before


def test_a_reloaded_presentation_shows_closed_tallies_in_a_fixed_number_of_queries(
    client, department, conference, item, django_assert_max_num_queries
):
    check_in(code=conference.check_in_code, user=department.trainee)
    vote_open(item=item, actor=department.champion)
    vote_cast(item=item, user=department.trainee, choice=0)
    vote_close(item=item, actor=department.champion)
    client.force_login(department.champion)
    # Session, sign-in and policy rows, then the deck in six queries whatever its length.
    with django_assert_max_num_queries(18):
        page = client.get(reverse("conferences:present", args=[conference.pk])).content.decode()
    assert 'data-count="A">1<' in page and "<strong>1</strong> answer" in page

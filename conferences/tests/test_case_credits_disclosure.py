"""A teaching case's credits as each champion may know them: the original reader of a
source never learns its submitter from the case page, nor the submitter a reader they
did not name (submissions/disclosure.py)."""

import pytest
from django.urls import reverse

from conferences.cases.services import credit_ask_readers
from conferences.tests.teaching import candidate, ready_case
from peerlearning.models import Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_champion(department):
    return make_member(
        department.neuro, Role.RADIOLOGIST, Role.CHAMPION, first_name="Dale", last_name="Second"
    )


def test_the_reader_champion_is_not_told_who_submitted_the_great_catch(
    client, department, second_champion
):
    source = candidate(
        department.neuro, department.radiologist, reader=department.champion, reason="great_catch"
    )
    case = ready_case(department.neuro, second_champion, images=0, sources=[source])

    client.force_login(department.champion)
    page = client.get(reverse("conferences:case-detail", args=[case.uuid]))
    assert page.status_code == 200
    assert b"Rowan" not in page.content and b"Submitter" not in page.content.split(
        b"credits-heading", 1
    )[-1].split(b"</section>", 1)[0].replace(b"submitter and reader", b"")

    client.force_login(second_champion)
    page = client.get(reverse("conferences:case-detail", args=[case.uuid]))
    assert b"Rowan Submitter" in page.content  # the champion who made the case sees it


def test_a_submitting_champion_is_not_told_a_reader_they_did_not_name(
    client, department, second_champion
):
    source = candidate(
        department.neuro, department.champion, reader=department.reader, reason="great_catch"
    )
    case = ready_case(department.neuro, second_champion, images=0, sources=[source])
    credit_ask_readers(case=case, actor=second_champion)

    client.force_login(department.champion)
    page = client.get(reverse("conferences:case-detail", args=[case.uuid]))
    assert b"Quinn" not in page.content

"""A page that polls by itself does not keep its session alive.

The audience page asks for the open question every 2 seconds; that is the page, not its
person. Only a person's requests push the idle deadline (IdleSessionMiddleware), so a
screen left open in a conference room still signs out after the idle timeout.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.security.test_signin_controls import let_time_pass, sign_in, signed_in

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_POLL": "1"}
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_the_audience_pages_poll_does_not_keep_an_idle_session_alive(client, world):
    conference = world.neuro_conference
    sign_in(client, world.department.reader.email)
    assert client.get(reverse("conferences:live", args=[conference.pk])).status_code == 200
    question = reverse("conferences:live-question", args=[conference.pk])

    # The page keeps polling for longer than the idle timeout; nobody touches it.
    for _ in range(settings.SESSION_COOKIE_AGE // settings.SESSION_REFRESH_SECONDS + 1):
        let_time_pass(settings.SESSION_REFRESH_SECONDS)
        client.get(question, **POLL)

    assert not signed_in(client)
    assert client.get(reverse("home"))["Location"].startswith(reverse("account_login"))
    # The next poll sends the whole page to the sign-in page, not into the fragment.
    live = reverse("conferences:live", args=[conference.pk])
    response = client.get(question, **POLL, HTTP_HX_CURRENT_URL=f"http://testserver{live}")
    assert response["HX-Redirect"] == f"{reverse('account_login')}?next={live}"
    assert response.content == b""


def test_a_person_on_the_same_page_stays_signed_in(client, world):
    conference = world.neuro_conference
    sign_in(client, world.department.reader.email)
    page = reverse("conferences:live", args=[conference.pk])

    for _ in range(settings.SESSION_COOKIE_AGE // settings.SESSION_REFRESH_SECONDS + 1):
        let_time_pass(settings.SESSION_REFRESH_SECONDS)
        assert client.get(page).status_code == 200

    assert signed_in(client)


def test_every_polling_element_marks_its_requests_as_polls():
    polling = []
    for template in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<[^<>]*hx-trigger=\"[^\"]*every [^<>]*>", template.read_text()):
            polling.append((template.relative_to(TEMPLATES), "X-Poll" in tag))

    assert polling, "the audience page polls, at least"
    assert [name for name, marked in polling if not marked] == []

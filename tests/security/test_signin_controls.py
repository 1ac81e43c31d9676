"""Sign-in controls beyond peerlearning/tests/test_signin.py: idle sessions, lockout, MFA.

test_signin.py proves the basics (a lockout after LOGIN_FAILURES_ALLOWED, expiry after the
idle timeout, MFA demanded of champions and administrators). These tests try to get around
them: other spellings of the address, waiting, sharing one address, the API, POSTs.
"""

import datetime
import time
from types import SimpleNamespace

import pytest
from allauth.core.internal import ratelimit
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from peerlearning.lib.security import SESSION_REFRESHED_AT
from peerlearning.models import SitePolicy
from peerlearning.testing import PASSWORD, UserFactory, pass_mfa
from submissions.models import SubmissionEvent
from tests.security.conftest import api_client_for, case_for

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# Idle sessions ----------------------------------------------------------------------------------


def let_time_pass(seconds: float) -> None:
    """Age every stored session as if `seconds` had passed since its last request: the
    server-side deadline and the time of the last refresh both move back."""
    delta = datetime.timedelta(seconds=seconds)
    for row in Session.objects.all():
        store = SessionStore(session_key=row.session_key)
        data = row.get_decoded()
        if SESSION_REFRESHED_AT in data:
            data[SESSION_REFRESHED_AT] -= int(seconds)
        Session.objects.filter(pk=row.pk).update(
            session_data=store.encode(data), expire_date=row.expire_date - delta
        )


def session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "django_session" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_each_request_pushes_the_idle_deadline_forward(client, department):
    sign_in(client, department.radiologist.email)
    session = Session.objects.get()
    let_time_pass(settings.SESSION_COOKIE_AGE - 60)  # one minute left

    assert client.get(reverse("home")).status_code == 200

    renewed = Session.objects.get(pk=session.pk).expire_date
    expected = timezone.now() + datetime.timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    assert abs((renewed - expected).total_seconds()) < 60


def test_someone_active_stays_signed_in_past_the_idle_timeout(client, department):
    sign_in(client, department.radiologist.email)
    step = settings.SESSION_COOKIE_AGE // 3
    for _ in range(5):  # five thirds of the idle timeout in all, never idle for long
        let_time_pass(step)
        assert client.get(reverse("home")).status_code == 200
    assert signed_in(client)


def test_someone_idle_for_the_timeout_is_signed_out(client, department):
    sign_in(client, department.radiologist.email)
    assert client.get(reverse("home")).status_code == 200

    let_time_pass(settings.SESSION_COOKIE_AGE + 1)
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not signed_in(client)


def test_requests_within_a_minute_of_each_other_write_the_session_once(client, department):
    sign_in(client, department.radiologist.email)
    let_time_pass(settings.SESSION_REFRESH_SECONDS)
    with CaptureQueriesContext(connection) as first:
        assert client.get(reverse("home")).status_code == 200
    deadline = Session.objects.get().expire_date

    let_time_pass(settings.SESSION_REFRESH_SECONDS - 5)
    with CaptureQueriesContext(connection) as second:
        assert client.get(reverse("home")).status_code == 200

    assert len(session_writes(first.captured_queries)) == 1
    assert session_writes(second.captured_queries) == []
    assert len(second) < len(first)
    # Not written, so the deadline stays where the first request put it (aged by the wait).
    waited = datetime.timedelta(seconds=settings.SESSION_REFRESH_SECONDS - 5)
    assert Session.objects.get().expire_date == deadline - waited


def test_a_request_on_an_ended_session_does_not_bring_it_back(client, department):
    sign_in(client, department.radiologist.email)
    let_time_pass(settings.SESSION_COOKIE_AGE + 1)

    client.get(reverse("livez"))

    assert not Session.objects.filter(expire_date__gt=timezone.now()).exists()


def test_the_session_cookie_dies_with_the_browser_and_is_not_readable_by_scripts(
    client, department
):
    response = sign_in(client, department.radiologist.email)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]

    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie


def test_an_expired_session_cannot_call_the_api_either(client, department):
    sign_in(client, department.radiologist.email)
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))

    response = client.get(reverse("api:me"))

    assert response.status_code in (401, 403)


def test_signing_out_ends_the_session_on_the_server(client, department):
    sign_in(client, department.radiologist.email)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post(reverse("account_logout"))

    assert not Session.objects.filter(session_key=stolen).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert client.get(reverse("home")).status_code == 302


# Lockout ----------------------------------------------------------------------------------------


def test_the_lockout_counts_every_spelling_of_the_address(client, department):
    email = department.radiologist.email
    spellings = [email, email.upper(), email.title(), f" {email}", email.capitalize()]
    for spelling in spellings[: settings.LOGIN_FAILURES_ALLOWED]:
        sign_in(client, spelling, "wrong password")

    sign_in(client, email, PASSWORD)

    assert not signed_in(client)


def test_a_locked_account_says_so_without_telling_whether_the_password_was_right(
    client, department
):
    email = department.radiologist.email
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        sign_in(client, email, "wrong password")

    right = sign_in(client, email, PASSWORD)
    wrong = sign_in(client, email, "still wrong")

    assert right.status_code == wrong.status_code
    assert b"Too many failed login attempts" in right.content
    assert right.content.count(b"Too many") == wrong.content.count(b"Too many")


def test_the_lockout_ends_after_the_lockout_period(client, department, monkeypatch):
    email = department.radiologist.email
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        sign_in(client, email, "wrong password")
    assert not signed_in(client)

    later = time.time() + settings.LOGIN_LOCKOUT_MINUTES * 60 + 1

    clock = SimpleNamespace(time=lambda: later, monotonic=time.monotonic, sleep=time.sleep)
    monkeypatch.setattr(ratelimit, "time", clock)
    sign_in(client, email, PASSWORD)

    assert signed_in(client)


def test_one_locked_account_does_not_lock_out_the_others(client, department):
    for _ in range(settings.LOGIN_FAILURES_ALLOWED + 2):
        sign_in(client, department.radiologist.email, "wrong password")

    sign_in(client, department.reader.email, PASSWORD)

    assert signed_in(client)


def test_unknown_addresses_are_refused_like_wrong_passwords(client, department):
    unknown = sign_in(client, "nobody@example.org", "wrong password")
    wrong = sign_in(client, department.radiologist.email, "wrong password")

    assert unknown.status_code == wrong.status_code == 200
    assert b"not correct" in unknown.content and b"not correct" in wrong.content


def test_failures_from_one_client_do_not_lock_out_colleagues_behind_the_same_proxy(
    client, db, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1  # TRUSTED_PROXY_COUNT=1 behind nginx
    people = [UserFactory(first_name=f"P{i}", last_name="Spray") for i in range(21)]
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for person in people[:-1]:  # an attacker at 203.0.113.9 sprays 20 accounts
        sign_in(client, person.email, "wrong password", HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)

    # A colleague at another address, through the same proxy, types the right password.
    sign_in(client, people[-1].email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)

    assert signed_in(client)


# MFA per role -----------------------------------------------------------------------------------


@pytest.fixture
def mfa_for_champions_and_leaders(db):
    policy = SitePolicy.load()
    for name in SitePolicy.MFA_FIELDS:
        setattr(policy, name, name in ("mfa_required_for_champions", "mfa_required_for_leaders"))
    policy.save()
    return policy


def test_mfa_is_demanded_of_leaders_when_the_policy_says_so(
    client, department, mfa_for_champions_and_leaders
):
    client.force_login(department.leader, mfa=False)
    response = client.get(reverse("submissions:summary"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


@pytest.mark.parametrize("persona", ["radiologist", "trainee", "admin_assistant", "quality"])
def test_roles_the_policy_does_not_name_are_not_asked_for_mfa(
    client, department, mfa_for_champions_and_leaders, persona
):
    client.force_login(department.personas()[persona])
    assert client.get(reverse("home")).status_code == 200


def test_a_champion_without_mfa_cannot_act_through_a_post_either(
    client, department, mfa_for_champions_and_leaders
):
    case = case_for(department.radiologist, department.neuro, department.reader, "MFA6000006")
    client.force_login(department.champion, mfa=False)
    before = SubmissionEvent.objects.count()

    response = client.post(
        reverse("submissions:review-note", args=[case.pk]), {"text": "Without MFA"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert SubmissionEvent.objects.count() == before


def test_a_champion_without_mfa_can_still_set_it_up_and_sign_out(
    client, department, mfa_for_champions_and_leaders
):
    sign_in(client, department.champion.email)

    assert client.get(reverse("home")).status_code == 302
    # allauth asks for the password again before TOTP set-up; that page is reachable too.
    setup = client.get(reverse("mfa_activate_totp"))
    assert setup["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    client.post(reverse("account_logout"))
    assert not signed_in(client)


def test_a_champion_without_mfa_cannot_make_an_api_token(
    client, department, mfa_for_champions_and_leaders
):
    from peerlearning.models import ApiToken

    client.force_login(department.champion, mfa=False)
    response = client.post(reverse("api-token-create"))

    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=department.champion).exists()


def test_a_champion_without_mfa_cannot_read_the_api_with_the_password_session(
    client, department, mfa_for_champions_and_leaders
):
    case_for(department.radiologist, department.neuro, department.reader, "MFA7000007")
    client.force_login(department.champion, mfa=False)

    response = client.get(reverse("api:submission-list"))

    assert response.status_code in (302, 403)


def test_a_champion_with_totp_uses_pages_and_the_api(
    client, department, mfa_for_champions_and_leaders
):
    client.force_login(department.champion)
    pass_mfa(client, department.champion)

    assert client.get(reverse("submissions:queue")).status_code == 200
    assert client.get(reverse("api:submission-list")).status_code == 200
    assert api_client_for(department.champion).get(reverse("api:me")).status_code == 200

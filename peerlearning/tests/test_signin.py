import datetime
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import ApiToken, AuditEvent, OutboundEmail, Role, SitePolicy
from peerlearning.testing import PASSWORD, api_key_for, pass_mfa

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_a_radiologist_signs_in_with_email_and_lands_on_their_home_page(client, department):
    response = sign_in(client, department.radiologist.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert b"Radiologist" in home.content
    assert b"PL champion" not in home.content


def test_each_role_sees_its_own_panel_on_the_home_page(client, department):
    client.force_login(department.champion)
    content = client.get(reverse("home")).content.decode()
    assert "PL champion" in content and "Radiologist" in content
    client.force_login(department.leader)
    content = client.get(reverse("home")).content.decode()
    assert "Department leader" in content and "PL champion" not in content


def test_every_link_on_every_home_panel_names_a_page():
    from peerlearning.home import PANELS

    for _title, _summary, pairs in PANELS.values():
        for _label, url_name in pairs:
            reverse(url_name)  # NoReverseMatch fails the test instead of hiding a link


def test_signing_in_is_recorded_in_the_audit_trail(client, department):
    sign_in(client, department.radiologist.email)
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
    assert event.actor_email == department.radiologist.email
    assert event.ip_address == "127.0.0.1"


def test_there_is_no_public_sign_up(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "stranger@example.org", "password1": "a long enough password 123"},
    )
    assert response.status_code in (200, 302)
    from peerlearning.models import User

    assert not User.objects.filter(email="stranger@example.org").exists()
    assert b"sign up" not in client.get(reverse("account_login")).content.lower()


def test_repeated_failed_sign_ins_lock_the_account_out(client, department):
    email = department.radiologist.email
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        response = sign_in(client, email, "wrong password")
        assert response.status_code == 200
    # Even the right password is refused while locked.
    response = sign_in(client, email, PASSWORD)
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() >= (
        settings.LOGIN_FAILURES_ALLOWED
    )


def test_a_session_ends_after_the_idle_timeout(client, department):
    sign_in(client, department.radiologist.email)
    assert client.get(reverse("home")).status_code == 200
    from django.contrib.sessions.models import Session

    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_idle_timeout_defaults_to_fifteen_minutes():
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    # Requests push the deadline forward (tests/security/test_signin_controls.py).
    assert "peerlearning.lib.security.IdleSessionMiddleware" in settings.MIDDLEWARE


def test_password_reset_goes_through_the_outbox(client, department):
    client.post(reverse("account_reset_password"), {"email": department.radiologist.email})
    email = OutboundEmail.objects.get(to=department.radiologist.email)
    assert "/accounts/password/reset/key/" in email.body_text


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert OutboundEmail.objects.count() == 0


def test_mfa_is_demanded_of_champions_when_the_policy_says_so(client, department):
    policy = SitePolicy.load()
    policy.mfa_required_for_champions = True
    policy.save()
    client.force_login(department.champion, mfa=False)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    # Others are not affected.
    client.force_login(department.radiologist)
    assert client.get(reverse("home")).status_code == 200


def test_a_policy_change_applies_to_the_next_request(client, department):
    policy = SitePolicy.load()
    policy.mfa_required_for_champions = False
    policy.save()
    client.force_login(department.champion, mfa=False)
    assert client.get(reverse("home")).status_code == 200  # the policy is now in the cache
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    assert not [q for q in queries.captured_queries if "sitepolicy" in q["sql"]]

    policy = SitePolicy.load()
    policy.mfa_required_for_champions = True
    policy.save()

    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_a_champion_with_totp_passes_the_mfa_policy(client, department):
    policy = SitePolicy.load()
    policy.mfa_required_for_champions = True
    policy.save()
    client.force_login(department.champion)
    pass_mfa(client, department.champion)
    assert client.get(reverse("home")).status_code == 200


def test_mfa_for_administrators_covers_site_admins(client, department):
    policy = SitePolicy.load()
    for name in SitePolicy.MFA_FIELDS:
        setattr(policy, name, name == "mfa_required_for_administrators")
    policy.save()
    client.force_login(department.site_admin, mfa=False)
    assert client.get(reverse("outbox-list")).status_code == 302
    assert Role.CHAMPION not in policy.roles_requiring_mfa()


def test_sso_cannot_create_accounts():
    from allauth.socialaccount.adapter import get_adapter

    assert get_adapter().is_open_for_signup(None, None) is False


def test_api_token_authenticates_api_calls(client, department):
    key = api_key_for(department.radiologist)
    response = client.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["email"] == department.radiologist.email
    assert response.json()["roles"] == ["radiologist"]
    assert client.get(reverse("api:me"), HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_creating_a_token_on_the_profile_page_shows_it_once(client, department):
    client.force_login(department.radiologist)
    client.post(reverse("api-token-create"), {"name": "PACS button"})
    first = client.get(reverse("profile")).content.decode()
    second = client.get(reverse("profile")).content.decode()

    key = re.search(r'<code id="new-token">([^<]+)</code>', first).group(1)
    assert key not in second
    assert "PACS button" in second
    token = ApiToken.objects.get(user=department.radiologist)
    assert token.prefix in second and token.key_hash != key

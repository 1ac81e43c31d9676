"""API tokens end: they expire, can be revoked, and die with the password and the account.

A token cannot pass a second factor, so it is made only from a session that did, and the API
refuses it while its owner's role requires MFA that its owner has not set up.
"""

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from peerlearning.models import ApiToken, AuditEvent, SitePolicy
from peerlearning.services import api_token_create
from peerlearning.testing import PASSWORD, api_key_for, pass_mfa

pytestmark = pytest.mark.django_db

ME = reverse("api:me")
NEW_PASSWORD = "a different long passphrase 42"


def api(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(ME)


def test_a_token_works_for_ninety_days_by_default_and_then_gets_401(department):
    key = api_key_for(department.radiologist)
    token = ApiToken.objects.get()
    assert api(key).status_code == 200
    lifetime = token.expires_at - token.created_at
    assert lifetime == datetime.timedelta(days=90)

    # Ninety days later.
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = api(key)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_the_lifetime_is_a_setting(department, settings):
    settings.API_TOKEN_DAYS = 7
    api_key_for(department.radiologist)

    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == datetime.timedelta(days=7)


def test_a_token_revoked_on_the_profile_page_gets_401(client, department):
    key = api_key_for(department.radiologist, name="PACS button")
    client.force_login(department.radiologist)
    page = client.get(reverse("profile")).content.decode()
    token = ApiToken.objects.get()
    assert "PACS button" in page and token.prefix in page
    assert reverse("api-token-revoke", args=[token.pk]) in page

    client.post(reverse("api-token-revoke", args=[token.pk]))

    assert api(key).status_code == 401
    assert "Revoked" in client.get(reverse("profile")).content.decode()
    assert AuditEvent.objects.filter(
        object_type="peerlearning.apitoken", detail__what="api token revoked"
    ).exists()


def test_nobody_revokes_someone_elses_token(client, department):
    key = api_key_for(department.reader)
    token = ApiToken.objects.get()
    client.force_login(department.radiologist)

    response = client.post(reverse("api-token-revoke", args=[token.pk]))

    assert response.status_code == 404
    assert api(key).status_code == 200


def test_a_password_change_ends_every_token_made_before_it(client, department):
    old = api_key_for(department.radiologist)
    client.force_login(department.radiologist)

    client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert api(old).status_code == 401
    assert "password changed" in api(old).json()["detail"]
    department.radiologist.refresh_from_db()
    assert api(api_key_for(department.radiologist)).status_code == 200  # a new one works


def test_a_password_set_any_other_way_ends_them_too(department):
    key = api_key_for(department.radiologist)
    user = department.radiologist
    user.set_password(NEW_PASSWORD)
    user.save()

    assert api(key).status_code == 401


def test_deactivating_the_account_in_the_admin_ends_its_tokens_for_good(client, department):
    key = api_key_for(department.radiologist)
    user = department.radiologist
    client.force_login(department.site_admin)
    change = reverse("admin:peerlearning_user_change", args=[user.pk])
    form = client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "is_active": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        }
    )
    data.pop("groups", None), data.pop("user_permissions", None), data.pop("last_login", None)
    data.pop("date_joined", None)
    client.post(change, data)
    user.refresh_from_db()
    assert not user.is_active

    assert api(key).status_code == 401
    user.is_active = True
    user.save()
    assert api(key).status_code == 401  # revoked, not merely suspended


def test_the_api_refuses_a_token_whose_owner_needs_mfa_but_has_none(department):
    key = api_key_for(department.radiologist)
    assert api(key).status_code == 200
    policy = SitePolicy.load()
    policy.mfa_required_for_radiologists = True
    policy.save()

    response = api(key)

    assert response.status_code == 401
    assert "two-factor" in response.json()["detail"]


def test_a_token_is_made_only_from_a_session_that_passed_mfa(client, department):
    client.force_login(department.champion, mfa=False)  # the policy asks champions for MFA
    client.post(reverse("api-token-create"))
    assert not ApiToken.objects.exists()

    pass_mfa(client, department.champion)
    client.post(reverse("api-token-create"))

    assert ApiToken.objects.filter(user=department.champion).count() == 1


def test_only_a_hash_of_the_key_is_stored(department):
    _, key = api_token_create(user=department.radiologist)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM peerlearning_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert key not in stored
    assert key[:10] in stored  # the prefix, to tell tokens apart


def test_the_admin_lists_every_token_and_revokes_them(client, department):
    key = api_key_for(department.reader, name="Night script")
    client.force_login(department.site_admin)
    changelist = reverse("admin:peerlearning_apitoken_changelist")
    assert "Night script" in client.get(changelist).content.decode()

    client.post(
        changelist,
        {"action": "revoke", "_selected_action": [ApiToken.objects.get().pk]},
    )

    assert api(key).status_code == 401


def test_the_profile_page_says_which_tokens_ended_and_why(client, department, settings):
    user = department.radiologist
    api_key_for(user, name="Old script")
    user.set_password(NEW_PASSWORD)
    user.save()
    client.force_login(user)

    page = client.get(reverse("profile")).content.decode()

    assert "Ended: your password changed" in page

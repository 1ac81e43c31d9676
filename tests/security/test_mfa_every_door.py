"""Every sign-in goes through allauth, and only a session that used its second factor counts.

Owning a TOTP device is not having passed it: a session opened by a password alone (Django's
own admin login, say) must not reach the admin, the audit trail or the API.
"""

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.urls import reverse

from peerlearning.mfa import session_passed_mfa
from peerlearning.models import SitePolicy
from peerlearning.testing import PASSWORD, pass_mfa, real_totp_for, totp_code

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/admin/", "/audit/", "/outbox/", "/admin/peerlearning/sitepolicy/1/change/"]


@pytest.fixture
def mfa_for_administrators(db):
    policy = SitePolicy.load()
    policy.mfa_required_for_administrators = True
    policy.save()
    return policy


def admin_login(client, user, password=PASSWORD):
    return client.post("/admin/login/?next=/admin/", {"username": user.email, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_login_page_sends_people_to_the_sign_in_page_with_next(client, db):
    response = client.get("/admin/login/?next=/admin/peerlearning/user/")

    assert response.status_code == 302
    assert response["Location"] == (f"{reverse('account_login')}?next=/admin/peerlearning/user/")


def test_the_admin_itself_sends_signed_out_visitors_to_the_sign_in_page(client, db):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_a_staff_password_posted_to_the_admin_login_opens_no_session(client, department):
    real_totp_for(department.site_admin)

    response = admin_login(client, department.site_admin)

    assert response.status_code == 302
    assert not signed_in(client)
    for page in ADMIN_PAGES:
        assert client.get(page).status_code == 302, page


def test_an_account_locked_at_the_sign_in_page_does_not_get_in_through_the_admin(
    client, department
):
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        client.post(
            reverse("account_login"),
            {"login": department.site_admin.email, "password": "wrong password"},
        )

    admin_login(client, department.site_admin)
    client.post(
        reverse("account_login"), {"login": department.site_admin.email, "password": PASSWORD}
    )

    assert not signed_in(client)


def test_wrong_passwords_at_the_admin_login_are_never_checked(client, department):
    from peerlearning.models import AuditEvent

    for _ in range(3):
        admin_login(client, department.site_admin, "wrong password")

    # Nothing there looks at a password: no failure to count, no success to grant.
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).exists()
    admin_login(client, department.site_admin)
    assert not signed_in(client)


def test_a_session_without_the_second_factor_reaches_no_admin_page(
    client, department, mfa_for_administrators
):
    real_totp_for(department.site_admin)
    client.force_login(
        department.site_admin, mfa=False
    )  # a password alone, as Django's admin login did

    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("mfa_reauthenticate")), page
    assert client.get(reverse("api:me")).status_code == 403


def test_a_session_that_passed_the_second_factor_reaches_the_admin(
    client, department, mfa_for_administrators
):
    client.force_login(department.site_admin)
    pass_mfa(client, department.site_admin)

    for page in ADMIN_PAGES:
        assert client.get(page).status_code == 200, page
    assert client.get(reverse("api:me")).status_code == 200


def test_signing_in_with_password_and_code_passes_mfa_and_the_password_alone_does_not(
    client, department, mfa_for_administrators
):
    secret = real_totp_for(department.site_admin)

    response = client.post(
        reverse("account_login") + "?next=/admin/",
        {"login": department.site_admin.email, "password": PASSWORD},
    )
    assert response["Location"].startswith(reverse("mfa_authenticate"))
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_session_whose_totp_was_never_used_enters_a_code_and_goes_on(
    client, department, mfa_for_administrators
):
    secret = real_totp_for(department.site_admin)
    client.force_login(department.site_admin, mfa=False)

    prompt = client.get("/audit/")
    response = client.post(prompt["Location"], {"code": totp_code(secret)})

    assert response.status_code == 302
    assert response["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200


@pytest.mark.django_db(transaction=True)  # allauth announces the new device after commit
def test_setting_up_totp_counts_as_passing_it(client, department, mfa_for_administrators):
    client.force_login(department.site_admin, mfa=False)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret

    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert Authenticator.objects.filter(user=department.site_admin).exists()
    assert client.get("/audit/").status_code == 200


def test_the_predicate_ignores_the_records_of_another_person(rf, department):
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/")
    request.session = SessionStore()
    request.user = department.champion
    from allauth.account.internal.flows.login import record_authentication

    record_authentication(request, department.champion, "mfa", type="totp")
    assert session_passed_mfa(request)
    request.user = department.leader
    assert not session_passed_mfa(request)

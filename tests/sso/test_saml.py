"""Hospital sign-in over SAML 2.0 against a real identity provider (pysaml2).

The IdP's signed answer travels through the browser, so the tests post it to our ACS
themselves: as the IdP gave it, altered, or again.
"""

import base64
import html
import re

import pytest
import requests
from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from peerlearning.models import Role, SitePolicy
from peerlearning.testing import SectionFactory, make_member
from tests.sso.conftest import SAML_ORGANIZATION, SAML_SP_ENTITY_ID, signed_in_email, start_sign_in
from tests.sso.saml_idp import MFA, PASSWORD

LOGIN = f"/accounts/saml/{SAML_ORGANIZATION}/login/"

pytestmark = pytest.mark.services


def hidden_fields(page) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))


def idp_answer(live_server, saml_idp, email, authn_context=PASSWORD):
    """Start a sign-in on our site and sign in at the IdP: (browser, ACS url, IdP's fields)."""
    browser = requests.Session()
    page = start_sign_in(browser, live_server, LOGIN)
    assert page.url.startswith(f"{saml_idp.base}/sso/redirect"), page.url
    answer = browser.post(
        f"{saml_idp.base}/sso/login",
        data={**hidden_fields(page), "login": email, "authn_context": authn_context},
        timeout=30,
    )
    action = re.search(r'action="([^"]+)"', answer.text).group(1)
    fields = {k: html.unescape(v) for k, v in hidden_fields(answer).items()}
    return browser, html.unescape(action), fields


def sign_in(live_server, saml_idp, email, authn_context=PASSWORD):
    browser, acs, fields = idp_answer(live_server, saml_idp, email, authn_context)
    return browser, browser.post(acs, data=fields, timeout=30), fields


def records_of(browser, user) -> list[dict]:
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key=browser.cookies["sessionid"])
    return get_authentication_records(request, user)


@pytest.fixture
def radiologist(transactional_db):
    return make_member(
        SectionFactory(), Role.RADIOLOGIST, email="rowan.radiologist@hospital.example"
    )


@pytest.fixture
def radiologist_with_totp(radiologist):
    Authenticator.objects.create(user=radiologist, type=Authenticator.Type.TOTP, data={})
    return radiologist


def test_a_known_person_signs_in_through_the_hospital(
    live_server, saml_site, saml_idp, radiologist
):
    browser, response, _ = sign_in(live_server, saml_idp, radiologist.email)
    assert response.status_code == 200, response.text[:2000]
    assert signed_in_email(browser, live_server) == radiologist.email


def test_signing_in_through_the_hospital_keeps_the_persons_password(
    live_server, saml_site, saml_idp, radiologist
):
    sign_in(live_server, saml_idp, radiologist.email)
    radiologist.refresh_from_db()
    assert radiologist.has_usable_password()


def test_an_unknown_person_is_refused_and_no_account_is_made(
    live_server, saml_site, saml_idp, radiologist
):
    accounts = get_user_model().objects.count()
    browser, response, _ = sign_in(live_server, saml_idp, "stranger@hospital.example")
    assert "closed" in response.text.lower()
    assert signed_in_email(browser, live_server) is None
    assert get_user_model().objects.count() == accounts


def test_an_assertion_altered_after_signing_is_refused(
    live_server, saml_site, saml_idp, radiologist
):
    victim = make_member(SectionFactory(), Role.LEADER, email="lee.leader@hospital.example")
    browser, acs, fields = idp_answer(live_server, saml_idp, radiologist.email)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert xml.count(radiologist.email) >= 1
    fields["SAMLResponse"] = base64.b64encode(xml.replace(radiologist.email, victim.email).encode())
    response = browser.post(acs, data=fields, timeout=30)
    assert response.status_code == 401 and "Third-Party Login Failure" in response.text
    assert signed_in_email(browser, live_server) is None


def test_an_assertion_for_another_service_is_refused(live_server, saml_site, saml_idp, radiologist):
    # Another service of the hospital, registered at the same IdP (here with our ACS address,
    # so that only the audience tells the assertion is not ours).
    scheduler = "https://scheduler.hospital.example/saml"
    ours = saml_idp.sp_metadata[0]
    saml_idp.trust_sp(ours, ours.replace(SAML_SP_ENTITY_ID, scheduler))
    saml_idp.audience_override = scheduler
    browser, response, _ = sign_in(live_server, saml_idp, radiologist.email)
    assert response.status_code == 401 and "Third-Party Login Failure" in response.text
    assert signed_in_email(browser, live_server) is None


def test_a_replayed_assertion_is_refused(live_server, saml_site, saml_idp, radiologist):
    first, _, captured = sign_in(live_server, saml_idp, radiologist.email)
    assert signed_in_email(first, live_server) == radiologist.email
    # A second browser starts its own sign-in and posts the captured answer instead.
    second, acs, _ = idp_answer(live_server, saml_idp, radiologist.email)
    # allauth finds no pending sign-in the answer belongs to: 403.
    assert second.post(acs, data=captured, timeout=30).status_code == 403
    assert signed_in_email(second, live_server) is None
    # And the first browser, signed out, cannot use it again either.
    first.cookies.clear()
    assert first.post(acs, data=captured, timeout=30).status_code == 403
    assert signed_in_email(first, live_server) is None


def test_an_idp_initiated_sign_in_is_refused(live_server, saml_site, saml_idp, radiologist):
    browser = requests.Session()
    acs = f"{live_server.url}/accounts/saml/{SAML_ORGANIZATION}/acs/"
    action, fields = saml_idp.unsolicited(
        acs=acs, sp_entity_id=SAML_SP_ENTITY_ID, email=radiologist.email
    )
    response = browser.post(action, data=fields, timeout=30)
    assert response.status_code == 401 and "Third-Party Login Failure" in response.text
    assert signed_in_email(browser, live_server) is None


def test_without_the_site_setting_the_idps_mfa_does_not_replace_ours(
    live_server, saml_site, saml_idp, radiologist_with_totp
):
    browser, response, _ = sign_in(live_server, saml_idp, radiologist_with_totp.email, MFA)
    assert response.url.endswith("/accounts/2fa/authenticate/")
    assert signed_in_email(browser, live_server) is None


def test_a_site_that_accepts_the_idps_authn_context_does_not_ask_for_our_totp(
    live_server, saml_site, saml_idp, radiologist_with_totp
):
    saml_site(mfa_authn_contexts=[MFA])
    browser, response, _ = sign_in(live_server, saml_idp, radiologist_with_totp.email, MFA)
    assert "/2fa/" not in response.url
    assert signed_in_email(browser, live_server) == radiologist_with_totp.email
    mfa = [r for r in records_of(browser, radiologist_with_totp) if r["method"] == "mfa"]
    assert [(r["type"], r["provider"]) for r in mfa] == [("idp", "saml")]


def test_a_site_that_accepts_the_idps_authn_context_still_asks_ours_for_a_password_sign_in(
    live_server, saml_site, saml_idp, radiologist_with_totp
):
    saml_site(mfa_authn_contexts=[MFA])
    browser, response, _ = sign_in(live_server, saml_idp, radiologist_with_totp.email, PASSWORD)
    assert response.url.endswith("/accounts/2fa/authenticate/")
    assert signed_in_email(browser, live_server) is None


@pytest.fixture
def champion_whose_role_requires_mfa(transactional_db):
    policy = SitePolicy.load()
    policy.mfa_required_for_champions = True
    policy.save()
    return make_member(SectionFactory(), Role.CHAMPION, email="cass.champion@hospital.example")


def test_the_idps_accepted_mfa_satisfies_the_policy_without_our_totp(
    live_server, saml_site, saml_idp, champion_whose_role_requires_mfa
):
    saml_site(mfa_authn_contexts=[MFA])
    browser, _, _ = sign_in(live_server, saml_idp, champion_whose_role_requires_mfa.email, MFA)
    assert signed_in_email(browser, live_server) == champion_whose_role_requires_mfa.email


def test_without_the_idps_accepted_mfa_the_policy_sends_the_champion_to_set_up_totp(
    live_server, saml_site, saml_idp, champion_whose_role_requires_mfa
):
    saml_site(mfa_authn_contexts=[MFA])
    browser, _, _ = sign_in(live_server, saml_idp, champion_whose_role_requires_mfa.email)
    profile = browser.get(f"{live_server.url}/profile/", allow_redirects=False, timeout=30)
    assert profile.headers["Location"].startswith("/accounts/2fa/totp/activate")

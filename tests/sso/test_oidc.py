"""Hospital sign-in over OpenID Connect against a real provider (npm `oidc-provider`).

The IdP's answers travel back to our server through a proxy at its token endpoint
(`TokenProxy`), so a test can swap the ID token as a hostile network path would.
"""

import base64

import pytest
import requests
from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from peerlearning.models import Role, SitePolicy
from peerlearning.testing import SectionFactory, make_member
from tests.sso.conftest import OIDC_PROVIDER_ID, follow, idp_login, signed_in_email, start_sign_in

LOGIN = f"/accounts/oidc/{OIDC_PROVIDER_ID}/login/"
MFA_ACR = "urn:hospital:acr:mfa"

pytestmark = pytest.mark.services


def sign_in(live_server, email, **idp_answers):
    session = requests.Session()
    page = start_sign_in(session, live_server, LOGIN)
    response = follow(session, idp_login(session, page, email=email, **idp_answers))
    return session, response


def refused(response) -> bool:
    """allauth's answer to a sign-in it does not accept: a 401 page saying so."""
    return response.status_code == 401 and "Third-Party Login Failure" in response.text


def records_of(session, user) -> list[dict]:
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key=session.cookies["sessionid"])
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


def test_a_known_person_signs_in_through_the_hospital(live_server, oidc_site, radiologist):
    session, response = sign_in(live_server, radiologist.email)
    assert response.status_code == 200
    assert signed_in_email(session, live_server) == radiologist.email
    assert radiologist.socialaccount_set.get().uid == radiologist.email


def test_signing_in_through_the_hospital_keeps_the_persons_password(
    live_server, oidc_site, radiologist
):
    sign_in(live_server, radiologist.email)
    radiologist.refresh_from_db()
    assert radiologist.has_usable_password()
    assert radiologist.emailaddress_set.get().verified


def test_an_unknown_person_is_refused_and_no_account_is_made(live_server, oidc_site, radiologist):
    accounts = get_user_model().objects.count()
    session, response = sign_in(live_server, "stranger@hospital.example")
    assert "closed" in response.text.lower()
    assert signed_in_email(session, live_server) is None
    assert get_user_model().objects.count() == accounts


def test_an_id_token_with_a_bad_signature_is_refused(live_server, oidc_site, oidc_idp, radiologist):
    def break_signature(id_token):
        head, body, signature = id_token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
        raw[10] ^= 0xFF
        return f"{head}.{body}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"

    oidc_idp.proxy.swap = break_signature
    session, response = sign_in(live_server, radiologist.email)
    assert refused(response)
    assert signed_in_email(session, live_server) is None


def test_an_id_token_issued_to_another_application_is_refused(
    live_server, oidc_site, oidc_idp, radiologist
):
    other = oidc_idp.id_token_for_other_client(radiologist.email)
    oidc_idp.proxy.swap = lambda id_token: other
    session, response = sign_in(live_server, radiologist.email)
    assert refused(response)
    assert signed_in_email(session, live_server) is None


def test_a_replayed_id_token_is_refused(live_server, oidc_site, oidc_idp, radiologist):
    first, _ = sign_in(live_server, radiologist.email)
    assert signed_in_email(first, live_server) == radiologist.email
    captured = oidc_idp.proxy.seen[-1]
    oidc_idp.proxy.swap = lambda id_token: captured
    second, response = sign_in(live_server, radiologist.email)
    assert refused(response)
    assert signed_in_email(second, live_server) is None


def test_without_the_site_setting_the_idps_mfa_does_not_replace_ours(
    live_server, oidc_site, radiologist_with_totp
):
    session, response = sign_in(
        live_server, radiologist_with_totp.email, amr="pwd,mfa", acr=MFA_ACR
    )
    assert response.url.endswith("/accounts/2fa/authenticate/")
    assert signed_in_email(session, live_server) is None


@pytest.mark.parametrize(
    ("accepted", "answers"),
    [
        ({"mfa_amr": ["mfa"]}, {"amr": "pwd,mfa"}),
        ({"mfa_acr": [MFA_ACR]}, {"acr": MFA_ACR}),
    ],
    ids=["amr", "acr"],
)
def test_a_site_that_accepts_the_idps_mfa_claim_does_not_ask_for_our_totp(
    live_server, oidc_site, radiologist_with_totp, accepted, answers
):
    oidc_site(**accepted)
    session, response = sign_in(live_server, radiologist_with_totp.email, **answers)
    assert response.status_code == 200, (response.url, response.text[:3000])
    assert "/2fa/" not in response.url, response.url
    assert signed_in_email(session, live_server) == radiologist_with_totp.email
    mfa = [r for r in records_of(session, radiologist_with_totp) if r["method"] == "mfa"]
    assert [(r["type"], r["provider"]) for r in mfa] == [("idp", OIDC_PROVIDER_ID)]


def test_a_site_that_accepts_the_idps_mfa_claim_still_asks_ours_when_the_claim_is_absent(
    live_server, oidc_site, radiologist_with_totp
):
    oidc_site(mfa_amr=["mfa"], mfa_acr=[MFA_ACR])
    session, response = sign_in(
        live_server, radiologist_with_totp.email, amr="pwd", acr="urn:hospital:acr:password"
    )
    assert response.url.endswith("/accounts/2fa/authenticate/")
    assert signed_in_email(session, live_server) is None
    assert not [r for r in records_of(session, radiologist_with_totp) if r["method"] == "mfa"]


@pytest.fixture
def champion_whose_role_requires_mfa(transactional_db):
    policy = SitePolicy.load()
    policy.mfa_required_for_champions = True
    policy.save()
    return make_member(SectionFactory(), Role.CHAMPION, email="cass.champion@hospital.example")


def test_the_idps_accepted_mfa_satisfies_the_policy_without_our_totp(
    live_server, oidc_site, champion_whose_role_requires_mfa
):
    oidc_site(mfa_amr=["mfa"])
    session, _ = sign_in(live_server, champion_whose_role_requires_mfa.email, amr="pwd,mfa")
    assert signed_in_email(session, live_server) == champion_whose_role_requires_mfa.email


def test_without_the_idps_accepted_mfa_the_policy_sends_the_champion_to_set_up_totp(
    live_server, oidc_site, champion_whose_role_requires_mfa
):
    oidc_site(mfa_amr=["mfa"])
    session, _ = sign_in(live_server, champion_whose_role_requires_mfa.email, amr="pwd")
    profile = session.get(f"{live_server.url}/profile/", allow_redirects=False, timeout=30)
    assert profile.headers["Location"].startswith("/accounts/2fa/totp/activate")

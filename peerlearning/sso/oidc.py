"""OpenID Connect: allauth's provider, with the ID token's signature and nonce always checked.

allauth skips the signature of an ID token it fetched from the token endpoint (OpenID Connect
Core allows it over TLS) and sends no nonce, so a token a proxy swapped in, or one replayed
from an earlier sign-in, would be accepted. Here every ID token must carry a good signature
from the provider's published keys and the nonce of this very sign-in (single use: the state
it lives in is consumed by the callback).
"""

import secrets

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404


class HospitalOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


class HospitalOpenIDConnectProvider(OpenIDConnectProvider):
    package = "peerlearning.sso"
    oauth2_adapter_class = HospitalOpenIDConnectAdapter

    def get_oauth2_adapter(self, request):
        return HospitalOpenIDConnectAdapter(request, self.app.provider_id)

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        auth_params["nonce"] = nonce
        return super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )


def id_token_check_nonce(*, sociallogin) -> None:
    """Refuse an ID token that does not carry the nonce this sign-in sent."""
    claims = sociallogin.account.extra_data.get("id_token") or {}
    expected = sociallogin.state.get("nonce")
    if not expected or not secrets.compare_digest(str(claims.get("nonce", "")), expected):
        raise OAuth2Error("ID token nonce does not match this sign-in")


@login_not_required
def login(request, provider_id):
    try:
        view = OAuth2LoginView.adapter_view(HospitalOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


@login_not_required
def callback(request, provider_id):
    try:
        view = OAuth2CallbackView.adapter_view(HospitalOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None

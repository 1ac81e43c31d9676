"""The identity provider's second factor, accepted in place of ours where the site says so.

Each provider's configuration names the statements that mean "this person passed the
hospital's MFA": OpenID Connect `amr` values (`mfa_amr`) or `acr` values (`mfa_acr`) of the
signed ID token, SAML AuthnContextClassRef values (`mfa_authn_contexts`) of the signed
assertion. When the sign-in carries one, the session gets allauth's authentication record
with method "mfa" (type "idp"), exactly as if our TOTP had been entered, and our TOTP is not
asked. Otherwise nothing changes: a person with TOTP is asked for it, and the site policy still
sends people whose role requires MFA to set it up.
"""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.stages import AuthenticateStage

from peerlearning.sso.saml import AUTHN_CONTEXTS_KEY


def idp_mfa_statement(*, sociallogin) -> str | None:
    """The accepted MFA statement this sign-in carries (e.g. `amr=mfa`), or None."""
    provider = sociallogin.provider
    config = provider.app.settings if provider.app else {}
    extra = sociallogin.account.extra_data or {}
    if provider.id == "openid_connect":
        claims = extra.get("id_token") or {}
        amr = claims.get("amr") or []
        for value in config.get("mfa_amr") or []:
            if isinstance(amr, list) and value in amr:
                return f"amr={value}"
        if claims.get("acr") and claims["acr"] in (config.get("mfa_acr") or []):
            return f"acr={claims['acr']}"
    elif provider.id == "saml":
        contexts = extra.get(AUTHN_CONTEXTS_KEY) or []
        for value in config.get("mfa_authn_contexts") or []:
            if value in contexts:
                return f"authn_context={value}"
    return None


class IdpAwareAuthenticateStage(AuthenticateStage):
    """allauth's TOTP step, skipped (and recorded as passed) when the IdP's MFA is accepted."""

    def handle(self):
        sociallogin = (self.login.signal_kwargs or {}).get("sociallogin")
        statement = sociallogin and idp_mfa_statement(sociallogin=sociallogin)
        if statement:
            record_authentication(
                self.request,
                self.login.user,
                "mfa",
                type="idp",
                provider=sociallogin.account.provider,
                statement=statement,
            )
            return None, True
        return super().handle()

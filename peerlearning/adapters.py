"""django-allauth adapters: no public sign-up, and allauth's e-mails go through the outbox."""

import uuid

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.oauth2.client import OAuth2Error

from peerlearning.lib.emails import email_enqueue


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return False

    def send_mail(self, template_prefix, email, context):
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = content
        email_enqueue(
            key=f"account:{template_prefix.rsplit('/', 1)[-1]}:{uuid.uuid4()}",
            to=email,
            subject=message.subject,
            body_text=message.body,
            body_html=html,
        )

    def get_login_stages(self):
        # allauth's TOTP step, made to accept the IdP's MFA where the site says so.
        return [
            "peerlearning.sso.mfa.IdpAwareAuthenticateStage"
            if stage == "allauth.mfa.stages.AuthenticateStage"
            else stage
            for stage in super().get_login_stages()
        ]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Hospital SSO signs in people who already have an account; it never creates one."""

    def is_open_for_signup(self, request, sociallogin):
        return False

    def pre_social_login(self, request, sociallogin):
        from peerlearning.sso.accounts import sso_email_confirm
        from peerlearning.sso.oidc import id_token_check_nonce

        if sociallogin.provider.id == "openid_connect":
            try:
                id_token_check_nonce(sociallogin=sociallogin)
            except OAuth2Error as error:
                raise ImmediateHttpResponse(
                    render_authentication_error(request, sociallogin.provider, exception=error)
                ) from error
        if sociallogin.account.pk is None and sociallogin.is_existing:
            # A first sign-in, matched by a verified address the IdP asserted.
            for address in sociallogin.email_addresses:
                if address.verified:
                    sso_email_confirm(user=sociallogin.user, email=address.email)

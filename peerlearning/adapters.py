"""django-allauth adapters: no public sign-up, and allauth's e-mails go through the outbox."""

import uuid

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

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


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Hospital SSO signs in people who already have an account; it never creates one."""

    def is_open_for_signup(self, request, sociallogin):
        return False

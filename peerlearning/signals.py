"""Sign-in events go to the audit trail (Django's auth signals are the only hook for them)."""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit_record(action=AuditEvent.Action.LOGIN, actor=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action=AuditEvent.Action.LOGOUT, actor=user, request=request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # The e-mail tried is kept in detail: it is what a security review needs.
    audit_record(
        action=AuditEvent.Action.LOGIN_FAILED,
        request=request,
        detail={"email": str(credentials.get("email", credentials.get("username", "")))[:254]},
    )


@receiver(authenticator_added)
def totp_setup_counts_as_mfa(sender, request, user, authenticator, **kwargs):
    # Setting up TOTP means typing a valid code from the device, just as signing in with it
    # does: the session has passed the second factor (peerlearning/mfa.py), and is not sent
    # to enter another code straight away.
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)

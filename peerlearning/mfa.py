"""Make multi-factor authentication mandatory for the roles the site policy names."""

from allauth.mfa.models import Authenticator
from django.shortcuts import redirect
from django.urls import reverse

from peerlearning.access import user_roles
from peerlearning.models import SitePolicy

# Where a person without MFA may still go: set it up, or sign out.
MFA_SETUP_PATHS = ("/accounts/", "/static/", "/healthz", "/livez")


def mfa_required(user) -> bool:
    policy = SitePolicy.load()
    if user.is_staff and policy.mfa_required_for_administrators:
        return True
    return bool(policy.roles_requiring_mfa() & user_roles(user))


def mfa_missing(user) -> bool:
    """True when the site policy demands MFA of this person and they have not set it up."""
    if not user.is_authenticated or not mfa_required(user):
        return False
    return not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class MfaEnforcementMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or request.path.startswith(MFA_SETUP_PATHS):
            return None
        if hasattr(view_func, "cls"):
            return None  # RoleAccessPermission applies the same rule after authentication.
        if not mfa_missing(user):
            return None
        return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")

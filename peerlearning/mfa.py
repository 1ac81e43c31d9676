"""Multi-factor authentication: who must have it, and whether this session passed it.

One predicate answers "is this session MFA-verified?" for pages, the admin, the API's
session authentication and API token creation: `session_passed_mfa`. Owning a TOTP device
is not enough; the session must have used a second factor.
"""

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from peerlearning.models import SitePolicy
from peerlearning.roles import user_roles

# Where a person without MFA may still go: set it up, or sign out.
MFA_SETUP_PATHS = ("/accounts/", "/static/", "/healthz", "/livez")


def session_passed_mfa(request) -> bool:
    """True when a second factor was accepted in this session for its signed-in person.

    allauth keeps, in the session, a record of each authentication step of the person
    signed in; a TOTP or recovery code adds one whose method is "mfa". A hospital identity
    provider's asserted MFA is recorded with the same method (another type) and counts too.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return any(record.get("method") == "mfa" for record in records)


def mfa_required(user) -> bool:
    """True when the site policy demands a second factor of this person."""
    if not user.is_authenticated:
        return False
    policy = SitePolicy.load()
    if user.is_staff and policy.mfa_required_for_administrators:
        return True
    return bool(policy.roles_requiring_mfa() & user_roles(user))


def user_has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def session_mfa_unmet(request) -> bool:
    """True when the policy demands MFA of the signed-in person and this session lacks it."""
    return mfa_required(request.user) and not session_passed_mfa(request)


def mfa_prompt_url(request) -> str:
    """Where a session that lacks MFA goes: set up TOTP, or enter the code of the one set up.

    `next` is the path alone: a PACS launch URL carries an accession number in its query.
    """
    name = "mfa_reauthenticate" if user_has_totp(request.user) else "mfa_activate_totp"
    return f"{reverse(name)}?{urlencode({'next': request.path})}"


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
        if not session_mfa_unmet(request):
            return None
        return redirect(mfa_prompt_url(request))

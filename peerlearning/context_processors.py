from django.conf import settings

from peerlearning.access import user_roles
from peerlearning.models import SitePolicy
from peerlearning.navigation import nav_items_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": frozenset()}
    return {"nav_items": nav_items_for(request), "user_roles": user_roles(user)}


def sign_in_notice(request):
    """On the sign-in page of a development server (`make run`), whom the policy no longer
    asks for a second factor. A production sign-in page never says so."""
    match = getattr(request, "resolver_match", None)
    if not settings.DEBUG or match is None or match.url_name != "account_login":
        return {}
    return {"mfa_off_for": SitePolicy.load().mfa_below_defaults()}

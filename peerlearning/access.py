"""Deny-by-default access: every view says who may use it, or nobody can.

A view declares its rule with one of the decorators below (`@public`, `@signed_in`,
`@roles(Role.CHAMPION, ...)`, `@site_admin`); API views set `access = Access(...)`.
`AccessMiddleware` enforces the rule for pages and `RoleAccessPermission` for the API
(where token authentication happens inside the view). A view with no rule answers 403,
and `tests/test_access_matrix.py` walks every URL pattern for every role.
Object-level rules (which section, whose submission) live in each app's selectors.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from peerlearning.mfa import session_mfa_unmet
from peerlearning.models import Role
from peerlearning.roles import user_roles as user_roles
from peerlearning.roles import user_sections_with_role as user_sections_with_role


@dataclass(frozen=True)
class Access:
    """Who may use a view: anyone, anyone signed in, holders of some roles, or site admins."""

    anonymous: bool = False
    any_signed_in: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)
    site_admins: bool = False

    def allows(self, user) -> bool:
        if self.anonymous:
            return True
        if not user.is_authenticated or not user.is_active:
            return False
        if self.any_signed_in:
            return True
        if self.site_admins and user.is_staff:
            return True
        return bool(self.roles & user_roles(user))

    @property
    def needs_sign_in(self) -> bool:
        return not self.anonymous


PUBLIC = Access(anonymous=True)
SIGNED_IN = Access(any_signed_in=True)
SITE_ADMIN = Access(site_admins=True)

# URL prefixes where included libraries guard their own views: allauth's sign-in pages
# (which must be reachable signed out) and the Django admin (site administrators only).
THIRD_PARTY_ROUTES = {"accounts/": PUBLIC, "admin/": PUBLIC}


def roles_access(*allowed: str, site_admins: bool = False) -> Access:
    return Access(roles=frozenset(allowed), site_admins=site_admins)


def _declare(rule: Access):
    def decorate(view):
        view.access = rule
        return view

    return decorate


def public(view):
    return _declare(PUBLIC)(view)


def signed_in(view):
    return _declare(SIGNED_IN)(view)


def site_admin(view):
    return _declare(SITE_ADMIN)(view)


def roles(*allowed: str, site_admins: bool = False):
    return _declare(roles_access(*allowed, site_admins=site_admins))


def access_rule_for(view_func, route: str = "") -> Access | None:
    for prefix, third_party_rule in THIRD_PARTY_ROUTES.items():
        if route.startswith(prefix):
            return third_party_rule
    rule = getattr(view_func, "access", None)
    view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
    if rule is None and view_class is not None:
        rule = getattr(view_class, "access", None)
    return rule if isinstance(rule, Access) else None


def is_api_view(view_func) -> bool:
    return hasattr(view_func, "cls")


class AccessMiddleware:
    """Refuse any page whose view has not declared who may use it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_api_view(view_func):
            return None  # RoleAccessPermission decides after token authentication.
        rule = access_rule_for(view_func, request.resolver_match.route)
        if rule is None:
            raise PermissionDenied("This page declares no access rule.")
        if rule.allows(request.user):
            return None
        if not request.user.is_authenticated:
            if request.headers.get("HX-Request"):
                return _htmx_to_sign_in(request)
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied


def _htmx_to_sign_in(request) -> HttpResponse:
    """An htmx request (a poll, say) whose session has ended: the whole page goes to the
    sign-in page, rather than the sign-in form being swapped into a fragment."""
    page = urlsplit(request.headers.get("HX-Current-URL", ""))
    here = page.path if page.netloc in ("", request.get_host()) and page.path else "/"
    response = HttpResponse(status=200)
    response["HX-Redirect"] = redirect_to_login(here)["Location"]
    return response


class RoleAccessPermission(BasePermission):
    """The API's side of the same rule: a view without `access` is closed to everyone."""

    def has_permission(self, request, view):
        rule = getattr(view, "access", None)
        if not isinstance(rule, Access):
            return False
        if not rule.allows(request.user):
            return False
        # A browser session of someone whose role demands MFA counts only once it has passed
        # the second factor; a token is checked by its own authentication class.
        if isinstance(request.successful_authenticator, SessionAuthentication):
            return not session_mfa_unmet(request)
        return True


ALL_ROLES = tuple(Role.values)

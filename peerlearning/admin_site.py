"""The Django admin, signed into through allauth like every other page.

Django's own admin login checks a password and nothing else: no lockout, no second factor.
Here the admin's login URL sends people to allauth's sign-in (with `next`), and the admin
opens only to a session that meets the MFA policy.
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from peerlearning.mfa import session_mfa_unmet


class PeerLearningAdminSite(admin.AdminSite):
    site_header = "Peer Learning administration"
    site_title = "Peer Learning admin"

    def has_permission(self, request):
        return super().has_permission(request) and not session_mfa_unmet(request)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            # Signed in but not a site administrator: allauth would send them straight back.
            raise PermissionDenied
        return redirect_to_login(
            request.GET.get("next") or reverse("admin:index", current_app=self.name)
        )

"""allauth's OpenID Connect URLs (`/accounts/oidc/<provider_id>/login/…`), served by our views."""

from django.urls import include, path, re_path

from peerlearning.sso import oidc

urlpatterns = [
    re_path(
        r"^oidc/(?P<provider_id>[^/]+)/",
        include(
            [
                path("login/", oidc.login, name="openid_connect_login"),
                path("login/callback/", oidc.callback, name="openid_connect_callback"),
            ]
        ),
    )
]

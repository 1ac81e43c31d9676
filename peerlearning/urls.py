from django.contrib import admin
from django.urls import include, path

from peerlearning import api, views

api_v1 = [
    path("me/", api.MeView.as_view(), name="me"),
    path("", include("submissions.api_urls")),
    path("", include("conferences.api_urls")),
    path("", include("reporting.api_urls")),
    path("", include(api.router.urls)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/api-token/", views.api_token_create_view, name="api-token-create"),
    path("profile/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("outbox/", views.outbox_list, name="outbox-list"),
    path("outbox/<int:pk>/", views.outbox_detail, name="outbox-detail"),
    path("outbox/<int:pk>/retry/", views.outbox_retry, name="outbox-retry"),
    path("audit/", views.audit_list, name="audit-list"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("submissions/", include("submissions.urls")),
    path("conferences/", include("conferences.urls")),
    path("reporting/", include("reporting.urls")),
    path("anonymizer/", include("anonymizer.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", api.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api.SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

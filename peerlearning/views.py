from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from peerlearning.access import public, signed_in, site_admin
from peerlearning.home import home_panels_for, memberships_for
from peerlearning.lib.audit import audited_read
from peerlearning.lib.emails import email_retry
from peerlearning.lib.health import broker_reachable
from peerlearning.models import AuditEvent, OutboundEmail
from peerlearning.services import api_token_create, api_tokens_revoke
from peerlearning.tokens import api_tokens_listed, api_tokens_of


@signed_in
def home(request):
    return render(
        request,
        "home.html",
        {"panels": home_panels_for(request.user), "memberships": memberships_for(request.user)},
    )


@signed_in
def profile(request):
    return render(
        request,
        "peerlearning/profile.html",
        {
            "memberships": memberships_for(request.user),
            "tokens": api_tokens_listed(user=request.user),
            "token_days": settings.API_TOKEN_DAYS,
            "new_token": request.session.pop("new_api_token", None),
        },
    )


# Reaching these pages at all takes the second factor the policy asks of the person
# (MfaEnforcementMiddleware): a token is made only from an MFA-verified session.
@signed_in
@require_POST
def api_token_create_view(request):
    _, key = api_token_create(user=request.user, name=request.POST.get("name", ""))
    # Shown once, on the next page only.
    request.session["new_api_token"] = key
    messages.success(request, "A new API token was created. Copy it now: it is shown only once.")
    return redirect("profile")


@signed_in
@require_POST
def api_token_revoke(request, pk):
    mine = api_tokens_of(user=request.user).filter(pk=pk)
    token = get_object_or_404(mine)  # someone else's token is a 404, like a missing one
    if api_tokens_revoke(tokens=mine, actor=request.user):
        messages.success(request, f"The token {token.prefix}… was revoked: it no longer works.")
    return redirect("profile")


@site_admin
def outbox_list(request):
    emails = OutboundEmail.objects.order_by("-created_at")
    status = request.GET.get("status")
    if status in OutboundEmail.Status.values:
        emails = emails.filter(status=status)
    page = Paginator(
        emails.only(
            "id",
            "to",
            "subject",
            "status",
            "created_at",
            "sent_at",
            "attempts",
            "last_error",
            "next_attempt_at",
        ),
        50,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "peerlearning/outbox_list.html",
        {"page_obj": page, "status": status, "statuses": OutboundEmail.Status.choices},
    )


@site_admin
@audited_read("peerlearning.outboundemail")
def outbox_detail(request, pk):
    email = get_object_or_404(OutboundEmail, pk=pk)
    return render(request, "peerlearning/outbox_detail.html", {"email": email})


@site_admin
@require_POST
def outbox_retry(request, pk):
    email = get_object_or_404(OutboundEmail, pk=pk)
    email_retry(email=email)
    messages.success(request, "The e-mail will be sent again.")
    return redirect("outbox-detail", pk=pk)


@site_admin
def audit_list(request):
    events = AuditEvent.objects.all()
    for name in ("action", "object_type"):
        if request.GET.get(name):
            events = events.filter(**{name: request.GET[name]})
    if request.GET.get("actor"):
        events = events.filter(actor_email__icontains=request.GET["actor"].strip())
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "peerlearning/audit_list.html",
        {"page_obj": page, "actions": AuditEvent.Action.choices, "filters": request.GET},
    )


@public
@never_cache
def livez(request):
    """Liveness: the Python process answers. Touches nothing else, so a load balancer can
    tell a hung worker from a database outage (that is /healthz); also the benchmarks' floor."""
    return HttpResponse("ok", content_type="text/plain")


@public
@never_cache
def healthz(request):
    checks = {"database": _database_reachable(), "broker": broker_reachable()}
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            **{k: "ok" if v else "down" for k, v in checks.items()},
        },
        status=200 if healthy else 503,
    )


def _database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False

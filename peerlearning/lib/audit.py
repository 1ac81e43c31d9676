"""The audit trail: one call records who read or changed what."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from allauth.core.internal.httpkit import get_client_ip
from django.http import HttpRequest

from peerlearning.models import AuditEvent


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address, through as many proxies as TRUSTED_PROXY_COUNT says."""
    if request is None:
        return None
    return get_client_ip(request)


def audit_record(
    *,
    action: str,
    actor=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event. `detail` must never hold PHI: ids and counts, not names or text."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is not None and not actor.is_authenticated:
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEvent.objects.create(
        actor_id=actor.pk if actor else None,
        actor_email=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        ip_address=client_address(request),
        # The path only: query strings may carry identifiers.
        path=request.path[:300] if request is not None else "",
        detail=detail or {},
    )


# Reads: each view that shows PHI declares it, one way per kind of view -----------------------
#
#   @audited_read("submissions.submission")                   pages (function views)
#   class SubmissionDetail(AuditedReadAPIMixin, GenericAPIView):
#       audited_read = AuditedRead("submissions.submission")  API views
#   class SubmissionAdmin(AuditedReadAdminMixin, ModelAdmin)  admin change and list pages
#
# Each records one event per successful GET (or HEAD): the object the URL names, or the ids
# of the page of objects a list showed (`audit_shown`). Writes are audited by their services,
# so a POST records nothing here. tests/security/test_audit_reads.py walks every URL that
# shows a submission, teaching case, attendance list, report or export.

READ_METHODS = frozenset({"GET", "HEAD"})
# A list page's event names at most this many of the objects it showed.
MAX_IDS = 200


@dataclass(frozen=True)
class AuditedRead:
    """What a view shows: the type of object, the event's action, which URL argument names
    the object (None for a list) and, for downloads and exports, what the file is."""

    object_type: str
    action: str = AuditEvent.Action.VIEW
    id_kwarg: str | None = "pk"
    what: str = ""


def _http_request(request) -> HttpRequest:
    # A DRF Request wraps the HttpRequest; the notes live on the one both see.
    return getattr(request, "_request", request)


def audit_shown(request, *, obj=None, objects: Iterable | None = None, **detail) -> None:
    """Tell the view's read declaration what it showed: the object (when the URL does not
    name it), the objects of a list (their ids are recorded), and more detail (ids, counts)."""
    notes = _http_request(request).__dict__.setdefault("_audit_shown", {})
    if obj is not None:
        notes["obj"] = obj
    if objects is not None:
        notes.setdefault("ids", []).extend(item.pk for item in objects)
    notes.setdefault("detail", {}).update(detail)


def audit_read_record(rule: AuditedRead, request, view_kwargs: dict, response) -> None:
    """One event for a response that showed what `rule` declares; nothing for the rest."""
    if request.method not in READ_METHODS or not 200 <= response.status_code < 300:
        return
    notes = _http_request(request).__dict__.get("_audit_shown", {})
    obj = notes.get("obj")
    object_id = view_kwargs.get(rule.id_kwarg, "") if rule.id_kwarg else ""
    detail = {"what": rule.what} if rule.what else {}
    detail.update(notes.get("detail", {}))
    if "ids" in notes:
        detail["ids"] = notes["ids"][:MAX_IDS]
        detail["count"] = len(notes["ids"])
    audit_record(
        action=rule.action,
        obj=obj,
        object_type=rule.object_type,
        object_id=obj.pk if obj is not None else object_id,
        request=request,
        detail=detail,
    )


def audited_read(
    object_type: str,
    *,
    action: str = AuditEvent.Action.VIEW,
    id_kwarg: str | None = "pk",
    what: str = "",
):
    """Declare that a page view shows `object_type`; each successful GET is recorded."""
    rule = AuditedRead(object_type, action=action, id_kwarg=id_kwarg, what=what)

    def decorate(view):
        @functools.wraps(view)
        def audited_view(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            audit_read_record(rule, request, kwargs, response)
            return response

        audited_view.audited_read = rule
        return audited_view

    return decorate


class AuditedReadAPIMixin:
    """API views: set `audited_read = AuditedRead(...)`; a paginated list records its page."""

    audited_read: AuditedRead

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            audit_shown(self.request, objects=page)
        return page

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        audit_read_record(self.audited_read, request, kwargs, response)
        return response


class AuditedReadAdminMixin:
    """Admin: the change (or read-only view) page and the list record what they showed."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        audit_shown(request, via="admin")
        rule = AuditedRead(self.model._meta.label_lower, id_kwarg="object_id")
        audit_read_record(rule, request, {"object_id": object_id}, response)
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            audit_shown(request, objects=changelist.result_list, via="admin")
            rule = AuditedRead(self.model._meta.label_lower, id_kwarg=None)
            audit_read_record(rule, request, {}, response)
        return response

"""Improvement action pages: the list, creating, the detail with its history, editing."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from conferences import selectors
from conferences.forms import ImprovementActionForm, QualityUpdateForm
from conferences.models import ImprovementAction
from conferences.services import improvement_action_create, improvement_action_update
from conferences.services.actions import QUALITY_FIELDS
from peerlearning.access import roles
from peerlearning.models import Role, Section

READERS = (Role.CHAMPION, Role.LEADER, Role.QUALITY)


@roles(*READERS)
def action_list(request):
    held = selectors.sections_by_role(request.user)
    actions = selectors.improvement_actions_visible_to(request.user, held=held).order_by(
        "status", "due_on", "-created_at"
    )
    filters = {}
    status = request.GET.get("status")
    if status in ImprovementAction.Status.values:
        actions = actions.filter(status=status)
        filters["status"] = status
    elif status != "all":
        actions = actions.filter(
            status__in=[ImprovementAction.Status.PROPOSED, ImprovementAction.Status.IN_PROGRESS]
        )
    if request.GET.get("escalated") == "1":
        actions = actions.filter(escalated=True)
    return render(
        request,
        "conferences/action_list.html",
        {
            "page_obj": Paginator(actions, 50).get_page(request.GET.get("page")),
            "statuses": ImprovementAction.Status.choices,
            "status": status or "",
            "escalated_only": request.GET.get("escalated") == "1",
            "can_create": bool(held.get(Role.CHAMPION)),
        },
    )


@roles(Role.CHAMPION)
def action_create(request):
    sections = Section.objects.filter(
        pk__in=selectors.sections_with_role(request.user, Role.CHAMPION)
    )
    initial = {}
    if request.GET.get("conference", "").isdigit():
        initial["conference"] = int(request.GET["conference"])
    form = ImprovementActionForm(request.POST or None, sections=sections, initial=initial)
    if request.method == "POST" and form.is_valid():
        action = improvement_action_create(actor=request.user, **form.cleaned_data)
        messages.success(request, "The improvement action was recorded.")
        return redirect("conferences:action-detail", pk=action.pk)
    return render(request, "conferences/action_form.html", {"form": form, "action": None})


@roles(*READERS)
def action_detail(request, pk):
    action = selectors.improvement_action_get_for_user(user=request.user, pk=pk)
    labels = {f.name: f.verbose_name for f in ImprovementAction._meta.fields}
    history = [
        (change, [(labels.get(name, name), *values) for name, values in change.changes.items()])
        for change in action.changes.select_related("changed_by")
    ]
    return render(
        request,
        "conferences/action_detail.html",
        {
            "action": action,
            "history": history,
            "can_edit": bool(selectors.improvement_action_editable_fields(request.user, action)),
        },
    )


@roles(Role.CHAMPION, Role.QUALITY)
def action_edit(request, pk):
    action = selectors.improvement_action_get_for_user(user=request.user, pk=pk)
    allowed = selectors.improvement_action_editable_fields(request.user, action)
    if not allowed:
        raise PermissionDenied
    if allowed == QUALITY_FIELDS:
        form = QualityUpdateForm(request.POST or None, instance=action)
    else:
        form = ImprovementActionForm(request.POST or None, instance=action, sections=None)
    if request.method == "POST" and form.is_valid():
        improvement_action_update(
            action=selectors.improvement_action_get_for_user(user=request.user, pk=pk),
            actor=request.user,
            allowed=allowed,
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )
        messages.success(request, "The improvement action was saved.")
        return redirect("conferences:action-detail", pk=pk)
    return render(request, "conferences/action_form.html", {"form": form, "action": action})

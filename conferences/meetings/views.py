"""Meeting pages: the conference list, scheduling and editing, the detail page, section settings;
improvement actions; a person's CME credit and certificates."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from conferences.attendance.selectors import attendance_counts, imports_for, my_attendance
from conferences.attendance.services import (
    conference_settings_for,
    conference_settings_update,
    recording_attestation_refusal,
)
from conferences.cases.selectors import agenda_items, can_present
from conferences.meetings.cme import cme_certificate_pdf, cme_summary_pdf
from conferences.meetings.forms import (
    ConferenceForm,
    ConferenceSettingsForm,
    ImprovementActionForm,
    QualityUpdateForm,
)
from conferences.meetings.models import CHECK_IN_OPENS_BEFORE, ImprovementAction
from conferences.meetings.qr import qr_svg
from conferences.meetings.selectors import (
    can_manage,
    cme_attendance_for,
    cme_attendance_get,
    conference_get_for_manager,
    conference_get_for_user,
    conferences_upcoming_and_past,
    improvement_action_editable_fields,
    improvement_action_get_for_user,
    improvement_actions_visible_to,
    managed_sections,
    sections_by_role,
    sections_with_role,
)
from conferences.meetings.services import (
    QUALITY_FIELDS,
    conference_create,
    conference_update,
    improvement_action_create,
    improvement_action_update,
)
from conferences.roles import ACTION_EDITORS, ACTION_READERS, MANAGERS, ROSTER_ROLES
from peerlearning.access import ALL_ROLES, roles, user_sections_with_role
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Role, Section, User


@roles(*ALL_ROLES)
def conference_list(request):
    held = sections_by_role(request.user)
    member_of = sorted(set().union(*held.values()))
    sections = list(Section.objects.filter(pk__in=member_of))
    section = next((s for s in sections if s.slug == request.GET.get("section")), None)
    upcoming, past = conferences_upcoming_and_past(
        request.user, section=section, section_ids=member_of
    )
    return render(
        request,
        "conferences/conference_list.html",
        {
            "upcoming": list(upcoming[:50]),
            "page_obj": Paginator(past, 25).get_page(request.GET.get("page")),
            "sections": sections,
            "section": section,
            "can_schedule": any(held.get(role) for role in MANAGERS),
            "champion_sections": [s for s in sections if s.pk in held.get(Role.CHAMPION, ())],
        },
    )


def _form_errors_to(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, problems in error.error_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error)


@roles(*MANAGERS)
def conference_create_view(request):
    sections = managed_sections(request.user)
    form = ConferenceForm(request.POST or None, sections=sections)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            conference = conference_create(
                section=data["section"],
                title=data["title"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                location=data["location"],
                virtual_url=data["virtual_url"],
                cme_hours=data["cme_hours"],
                presenters=data["presenters"],
                actor=request.user,
            )
        except ValidationError as error:
            _form_errors_to(form, error)
        else:
            messages.success(
                request,
                "The conference is scheduled. Members of the section are invited by e-mail.",
            )
            return redirect("conferences:detail", pk=conference.pk)
    return render(request, "conferences/conference_form.html", {"form": form, "conference": None})


@roles(*MANAGERS)
def conference_edit(request, pk):
    conference = conference_get_for_manager(user=request.user, pk=pk)
    form = ConferenceForm(
        request.POST or None,
        instance=conference,
        sections=Section.objects.filter(pk=conference.section_id),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        presenters = data.pop("presenters")
        try:
            conference_update(
                conference=conference_get_for_manager(user=request.user, pk=pk),
                actor=request.user,
                presenters=presenters,
                **{k: v for k, v in data.items() if k != "section"},
            )
        except ValidationError as error:
            _form_errors_to(form, error)
        else:
            messages.success(request, "The conference was saved.")
            return redirect("conferences:detail", pk=pk)
    return render(
        request, "conferences/conference_form.html", {"form": form, "conference": conference}
    )


@roles(*ALL_ROLES)
def conference_detail(request, pk):
    conference = conference_get_for_user(user=request.user, pk=pk)
    manage = can_manage(request.user, conference)
    mine = my_attendance(request.user, conference)
    rule = conference_settings_for(conference.section)
    held = sections_by_role(request.user)
    clinical = sections_with_role(request.user, *ROSTER_ROLES, held=held)
    context = {
        "attends": mine is not None or conference.section_id in clinical,
        "ended": conference.ends_at < timezone.now(),
        "conference": conference,
        "presenters": conference.presenters.all(),
        "manage": manage,
        "counts": attendance_counts(conference),
        "mine": mine,
        "rule": rule,
        "credit_threshold": rule.credit_threshold(conference.duration_minutes),
        "attest_refusal": recording_attestation_refusal(conference=conference, user=request.user),
        "certificate": bool(
            mine
            and mine.credited
            and mine.recorded_via != mine.Via.RECORDING
            and conference.cme_hours > 0
            and conference.status == conference.Status.HELD
        ),
        "actions": conference.improvement_actions.all() if manage else [],
    }
    if manage:
        context["imports"] = imports_for(conference)[:10]
        context["check_in_url"] = _check_in_url(request, conference)
    context["builds_agenda"] = conference.section_id in sections_with_role(
        request.user, Role.CHAMPION, held=held
    )
    context["presents"] = can_present(request.user, conference, held=held)
    if context["presents"]:
        context["agenda"] = agenda_items(conference)
        context["agenda_minutes"] = sum(item.minutes for item in context["agenda"])
    context["live"] = mine is not None and not context["ended"]
    return render(request, "conferences/conference_detail.html", context)


def _check_in_url(request, conference) -> str:
    return request.build_absolute_uri(
        reverse("conferences:check-in") + f"?code={conference.check_in_code}"
    )


@roles(*MANAGERS)
def check_in_display(request, pk):
    """The code and QR code, large, for the projector in the room."""
    conference = conference_get_for_manager(user=request.user, pk=pk)
    url = _check_in_url(request, conference)
    return render(
        request,
        "conferences/check_in_display.html",
        {
            "conference": conference,
            "qr": qr_svg(url),
            "check_in_url": url,
            "opens_at": conference.starts_at - CHECK_IN_OPENS_BEFORE,
        },
    )


@roles(Role.CHAMPION)
def section_settings(request, section):
    section = get_object_or_404(Section, slug=section)
    if section.pk not in user_sections_with_role(request.user, Role.CHAMPION):
        raise Http404("No such section.")
    rule = conference_settings_for(section)
    form = ConferenceSettingsForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        conference_settings_update(
            section=section,
            actor=request.user,
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )
        messages.success(request, f"Conference settings for {section} were saved.")
        return redirect("conferences:list")
    return render(request, "conferences/section_settings.html", {"form": form, "section": section})


# Improvement actions ---------------------------------------------------------------------


@roles(*ACTION_READERS)
def action_list(request):
    held = sections_by_role(request.user)
    actions = improvement_actions_visible_to(request.user, held=held).order_by(
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
    sections = Section.objects.filter(pk__in=sections_with_role(request.user, Role.CHAMPION))
    initial = {}
    if request.GET.get("conference", "").isdigit():
        initial["conference"] = int(request.GET["conference"])
    form = ImprovementActionForm(request.POST or None, sections=sections, initial=initial)
    if request.method == "POST" and form.is_valid():
        action = improvement_action_create(actor=request.user, **form.cleaned_data)
        messages.success(request, "The improvement action was recorded.")
        return redirect("conferences:action-detail", pk=action.pk)
    return render(request, "conferences/action_form.html", {"form": form, "action": None})


@roles(*ACTION_READERS)
def action_detail(request, pk):
    action = improvement_action_get_for_user(user=request.user, pk=pk)
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
            "can_edit": bool(improvement_action_editable_fields(request.user, action)),
        },
    )


@roles(*ACTION_EDITORS)
def action_edit(request, pk):
    action = improvement_action_get_for_user(user=request.user, pk=pk)
    allowed = improvement_action_editable_fields(request.user, action)
    if not allowed:
        raise PermissionDenied
    if allowed == QUALITY_FIELDS:
        form = QualityUpdateForm(request.POST or None, instance=action)
    else:
        form = ImprovementActionForm(request.POST or None, instance=action, sections=None)
    if request.method == "POST" and form.is_valid():
        improvement_action_update(
            action=improvement_action_get_for_user(user=request.user, pk=pk),
            actor=request.user,
            allowed=allowed,
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )
        messages.success(request, "The improvement action was saved.")
        return redirect("conferences:action-detail", pk=pk)
    return render(request, "conferences/action_form.html", {"form": form, "action": action})


# CME ---------------------------------------------------------------------------------------


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@roles(*ALL_ROLES)
def certificate(request, pk):
    attendance = cme_attendance_get(user=request.user, conference_pk=pk)
    data = cme_certificate_pdf(attendance=attendance)
    audit_record(
        action=AuditEvent.Action.DOWNLOAD,
        obj=attendance.conference,
        request=request,
        detail={"what": "cme certificate", "attendance": attendance.pk},
    )
    day = timezone.localtime(attendance.conference.starts_at).date()
    return _pdf_response(data, f"cme-certificate-{day:%Y-%m-%d}-{pk}.pdf")


@roles(*ALL_ROLES)
def cme(request):
    """My CME credit: each credited conference by year, with its certificate."""
    rows = list(cme_attendance_for(request.user))
    years: dict[int, dict] = {}
    for attendance in rows:
        year = timezone.localtime(attendance.conference.starts_at).year
        entry = years.setdefault(year, {"year": year, "rows": [], "hours": 0})
        entry["rows"].append(attendance)
        entry["hours"] += attendance.conference.cme_hours
    return render(
        request,
        "conferences/cme.html",
        {"years": sorted(years.values(), key=lambda y: -y["year"])},
    )


@roles(*ALL_ROLES)
def cme_summary(request, year):
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise Http404("No such year.")
    user: User = request.user
    rows = list(cme_attendance_for(user, year=year))
    if not rows:
        raise Http404("No CME credit in that year.")
    data = cme_summary_pdf(user=user, year=year, attendance=rows)
    audit_record(
        action=AuditEvent.Action.DOWNLOAD,
        object_type="conferences.cme_summary",
        object_id=f"{user.pk}-{year}",
        request=request,
        detail={"what": "cme summary", "year": year, "conferences": len(rows)},
    )
    return _pdf_response(data, f"cme-summary-{year}.pdf")

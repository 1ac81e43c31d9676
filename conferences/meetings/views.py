"""Conference pages: the list, scheduling and editing, the detail page, section settings."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from conferences import selectors
from conferences import selectors_cases as cases_selectors
from conferences.forms import ConferenceForm, ConferenceSettingsForm
from conferences.models import CHECK_IN_OPENS_BEFORE
from conferences.qr import qr_svg
from conferences.services import (
    conference_create,
    conference_settings_for,
    conference_settings_update,
    conference_update,
    recording_attestation_refusal,
)
from peerlearning.access import ALL_ROLES, roles, user_sections_with_role
from peerlearning.models import Role, Section

MANAGERS = (Role.CHAMPION, Role.ADMIN_ASSISTANT)


@roles(*ALL_ROLES)
def conference_list(request):
    held = selectors.sections_by_role(request.user)
    member_of = sorted(set().union(*held.values()))
    sections = list(Section.objects.filter(pk__in=member_of))
    section = next((s for s in sections if s.slug == request.GET.get("section")), None)
    upcoming, past = selectors.conferences_upcoming_and_past(
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
    sections = selectors.managed_sections(request.user)
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
    conference = selectors.conference_get_for_manager(user=request.user, pk=pk)
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
                conference=selectors.conference_get_for_manager(user=request.user, pk=pk),
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
    conference = selectors.conference_get_for_user(user=request.user, pk=pk)
    manage = selectors.can_manage(request.user, conference)
    mine = selectors.my_attendance(request.user, conference)
    rule = conference_settings_for(conference.section)
    held = selectors.sections_by_role(request.user)
    clinical = selectors.sections_with_role(
        request.user, Role.RADIOLOGIST, Role.TRAINEE, Role.CHAMPION, Role.LEADER, held=held
    )
    context = {
        "attends": mine is not None or conference.section_id in clinical,
        "ended": conference.ends_at < timezone.now(),
        "conference": conference,
        "presenters": conference.presenters.all(),
        "manage": manage,
        "counts": selectors.attendance_counts(conference),
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
        context["imports"] = selectors.imports_for(conference)[:10]
        context["check_in_url"] = _check_in_url(request, conference)
    context["builds_agenda"] = conference.section_id in selectors.sections_with_role(
        request.user, Role.CHAMPION, held=held
    )
    context["presents"] = (
        context["builds_agenda"] or conference.presenters.filter(pk=request.user.pk).exists()
    )
    if context["presents"]:
        context["agenda"] = cases_selectors.agenda_items(conference)
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
    conference = selectors.conference_get_for_manager(user=request.user, pk=pk)
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

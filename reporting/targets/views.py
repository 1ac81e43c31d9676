"""Monitoring pages: the month dashboard, the year grid, a radiologist's month, exports,
the reminder's preview and sending, and the section's targets.

Assistants, champions and leaders of a section see its participation numbers. Only
assistants and champions see the submissions behind them (date, reason, accession number);
leaders see counts. Which section a person may open is decided in `reporting/targets/ledger.py`.
"""

import dataclasses
import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from peerlearning.access import roles
from peerlearning.lib.audit import audit_record
from peerlearning.lib.figures import figures_cached
from peerlearning.models import AuditEvent, User
from reporting import months
from reporting.targets import exports as exports_targets
from reporting.targets import ledger, reminders, selectors, services
from reporting.targets.forms import (
    ExemptionForm,
    MonitoringFilters,
    ReminderActionForm,
    ReminderSettingsForm,
    TargetPolicyForm,
)
from reporting.targets.models import ReminderSettings
from reporting.targets.monitoring import (
    MONTH_SORTS,
    STATUS_FILTERS,
    MonthLine,
    MonthReport,
    filter_and_sort,
    month_report,
    year_report,
)

MONITORS = selectors.MONITOR_ROLES


def _month_url(name: str, section, month: datetime.date, **extra) -> str:
    query = f"section={section.pk}&month={months.month_key(month)}"
    for key, value in extra.items():
        query += f"&{key}={value}"
    return f"{reverse(name)}?{query}"


def _scope_and_filters(request, allowed=MONITORS):
    filters = MonitoringFilters(request.GET).values()
    scope = selectors.monitoring_scope(user=request.user, pk=filters["section"], allowed=allowed)
    return scope, filters


def _common(request, scope: selectors.MonitoringScope, filters) -> dict:
    section, section_roles = scope.section, scope.roles
    return {
        "section": section,
        "sections": scope.sections,
        "filters": filters,
        "month": filters["month"],
        "month_key": months.month_key(filters["month"]),
        "previous_month": months.month_key(
            months.month_of(filters["month"] - datetime.timedelta(days=1))
        ),
        "next_month": months.month_key(months.next_month(filters["month"])),
        "this_month": months.month_key(months.month_of(timezone.localdate())),
        "sees_detail": selectors.sees_detail(section_roles),
        "can_remind": bool(section_roles & set(selectors.REMINDER_ROLES)),
        "section_roles": section_roles,
    }


# The month dashboard -------------------------------------------------------------------------


def month_page(*, section, month: datetime.date, viewer) -> MonthReport:
    """The month's report with every row as a `MonthLine` (its HTML up to the reminder
    cell), unfiltered, from the cache while nothing it counts has changed.

    The rendered rows are kept rather than the report: unpickling the year's ledger and
    rendering the table took most of a cached request. Same version, lifetime and
    freshness rule as the ledgers (docs/targets.md, "Cached ledgers"). A viewer who read
    some of the section's submissions gets figures of their own, without those.
    """
    month = months.month_of(month)
    viewer_key = ledger.viewer_figures_key(
        sections=[section],
        months=months.months_between(month.replace(month=1), month),
        viewer=viewer,
    )

    def compute() -> MonthReport:
        report = month_report(section=section, month=month, viewer=viewer)
        row_template = get_template("reporting/monitoring.html#row")
        context = {"report": report, "section": section, "month_key": months.month_key(month)}
        lines = [
            MonthLine.of(row, row_template.render({**context, "row": row})) for row in report.rows
        ]
        return dataclasses.replace(report, rows=lines)

    return figures_cached(
        ledger.PROGRAM,
        "monitoring-month",
        section.pk,
        months.month_key(month),
        viewer_key,
        compute=compute,
        ttl=ledger.FIGURES_TTL,
    )


@roles(*MONITORS)
def monitoring(request):
    scope, filters = _scope_and_filters(request)
    section = scope.section
    page = month_page(section=section, month=filters["month"], viewer=request.user)
    report = dataclasses.replace(
        page,
        rows=filter_and_sort(
            page.rows, status=filters["status"], query=filters["q"], sort=filters["sort"]
        ),
    )
    deliveries = reminders.deliveries_for(
        section=section, month=report.month, user_ids=[line.user_id for line in report.rows]
    )
    context = {
        **_common(request, scope, filters),
        "report": report,
        "rows": [(line, deliveries.get(line.user_id)) for line in report.rows],
        "reminder": reminders.reminder_state(
            section=section, month=report.month, deliveries=deliveries
        ),
        "sorts": MONTH_SORTS.items(),
        "statuses": STATUS_FILTERS.items(),
    }
    template = "reporting/monitoring.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@roles(*MONITORS)
def monitoring_year(request):
    scope, filters = _scope_and_filters(request)
    section = scope.section
    report = year_report(
        section=section, year=filters["year"], viewer=request.user, query=filters["q"]
    )
    context = {
        **_common(request, scope, filters),
        "report": report,
        "year": filters["year"],
        "previous_year": filters["year"] - 1,
        "next_year": filters["year"] + 1,
        "months_header": [(m, months.month_key(m)) for m in report.months],
        "totals": list(zip(report.month_counted, report.month_target, report.held, strict=True)),
    }
    return render(request, "reporting/monitoring_year.html", context)


@roles(*MONITORS)
def monitoring_person(request, user_id: int):
    scope, filters = _scope_and_filters(request)
    section = scope.section
    detail = selectors.person_month(
        viewer=request.user, section=section, user_id=user_id, month=filters["month"]
    )
    if detail.lines is not None:
        # Accession numbers identify a patient's study: reading them is recorded.
        audit_record(
            action=AuditEvent.Action.VIEW,
            obj=detail.user,
            request=request,
            detail={
                "what": "monthly submissions",
                "section": section.pk,
                "month": months.month_key(detail.month),
                "rows": len(detail.lines),
            },
        )
    return render(
        request,
        "reporting/monitoring_person.html",
        {**_common(request, scope, filters), "detail": detail},
    )


@roles(*MONITORS)
def monitoring_export(request):
    scope, filters = _scope_and_filters(request)
    section = scope.section
    fmt = request.GET.get("format", "csv")
    period = request.GET.get("period", "month")
    if fmt not in exports_targets.FORMATS or period not in ("month", "year"):
        raise Http404
    if period == "year":
        data = exports_targets.year_dataset(
            year_report(section=section, year=filters["year"], viewer=request.user)
        )
        label = str(filters["year"])
    else:
        data = exports_targets.month_dataset(
            month_report(section=section, month=filters["month"], viewer=request.user)
        )
        label = months.month_key(filters["month"])
    audit_record(
        action=AuditEvent.Action.EXPORT,
        obj=section,
        request=request,
        detail={"what": "participation", "period": label, "format": fmt, "rows": data.height},
    )
    content_type, extension = exports_targets.FORMATS[fmt]
    response = HttpResponse(exports_targets.export_bytes(data, fmt), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="participation-{section.slug}-{label}.{extension}"'
    )
    return response


# The reminder ------------------------------------------------------------------------------------


@roles(*selectors.REMINDER_ROLES)
def reminders_preview(request):
    scope, filters = _scope_and_filters(request, allowed=selectors.REMINDER_ROLES)
    section = scope.section
    batch = reminders.reminder_batch(section=section, month=filters["month"], viewer=request.user)
    chosen = None
    wanted = request.GET.get("user", "")
    if batch.drafts:
        chosen = next((d for d in batch.drafts if str(d.user.pk) == wanted), batch.drafts[0])
        # The preview shows a radiologist's accession numbers (when the section e-mails them).
        audit_record(
            action=AuditEvent.Action.VIEW,
            obj=chosen.user,
            request=request,
            detail={
                "what": "reminder preview",
                "section": section.pk,
                "month": months.month_key(batch.month),
            },
        )
    deliveries = reminders.deliveries_for(
        section=section, month=batch.month, user_ids=[d.user.pk for d in batch.drafts]
    )
    return render(
        request,
        "reporting/monitoring_reminders.html",
        {
            **_common(request, scope, filters),
            "batch": batch,
            "drafts": [(d, deliveries.get(d.user.pk)) for d in batch.drafts],
            "chosen": chosen,
            "chosen_body": reminders.draft_render(chosen) if chosen else "",
            "reminder": reminders.reminder_state(
                section=section, month=batch.month, deliveries=deliveries
            ),
        },
    )


def _reminder_action(request):
    form = ReminderActionForm(request.POST)
    if not form.is_valid():
        raise Http404
    section = selectors.section_for(
        user=request.user, pk=form.cleaned_data["section"], allowed=selectors.REMINDER_ROLES
    )
    return section, form.cleaned_data["month"], form.cleaned_data.get("user")


@roles(*selectors.REMINDER_ROLES)
@require_POST
def reminders_send(request):
    section, month, _ = _reminder_action(request)
    back = _month_url("reporting:reminders-preview", section, month)
    if month != months.month_of(timezone.localdate()):
        messages.error(request, "Reminders go out for the current month only.")
        return redirect(back)
    if "retry_failed" in request.POST:
        count = reminders.reminders_retry_failed(section=section, month=month, actor=request.user)
        plural = "s" if count != 1 else ""
        messages.success(request, f"{count} failed reminder{plural} queued again.")
        return redirect(back)
    outcome = reminders.reminders_send(
        section=section, month=month, actor=request.user, request=request
    )
    if outcome.queued:
        messages.success(
            request,
            f"{outcome.queued} reminder{'s' if outcome.queued != 1 else ''} queued for "
            f"{section.name}. Deliveries appear below as they go out.",
        )
    else:
        messages.info(
            request, "Nothing new to send: everyone due a reminder this month already has it."
        )
    return redirect(back)


@roles(*selectors.REMINDER_ROLES)
@require_POST
def reminders_test(request):
    section, month, user_id = _reminder_action(request)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        reminders.reminder_send_test(
            section=section, month=month, actor=request.user, user=user, request=request
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"A test e-mail is on its way to {request.user.email}.")
    extra = {"user": user.pk} if user else {}
    return redirect(_month_url("reporting:reminders-preview", section, month, **extra))


# Targets, exemptions and reminder settings ------------------------------------------------------


def _targets_page(request, section, *, status=200, **forms):
    section_roles = selectors.roles_in_section(user=request.user, section=section)
    today_month = months.month_of(timezone.localdate())
    policies = ledger.section_policies(section=section)
    current = ledger.policy_for(policies, today_month)
    people = selectors.section_radiologists(section=section)
    config = selectors.reminder_settings_for(section=section)
    can_policy = bool(section_roles & set(selectors.POLICY_ROLES))
    can_exempt = bool(section_roles & set(selectors.EXEMPTION_ROLES))
    can_remind = bool(section_roles & set(selectors.REMINDER_ROLES))
    policy_form = forms.get("policy_form")
    if policy_form is None and can_policy:
        policy_form = TargetPolicyForm(
            initial={
                "effective_from": months.next_month(today_month),
                "submissions_per_month": current.submissions_per_month,
                "attendance_rule": current.attendance_rule,
                "attendance_percent": current.attendance_percent,
                "attendance_per_year": current.attendance_per_year,
                "counted_reasons": current.counted_reasons,
                "include_trainees": current.include_trainees,
            }
        )
    exemption_form = forms.get("exemption_form")
    if exemption_form is None and can_exempt:
        exemption_form = ExemptionForm(people=people, initial={"starts_on": timezone.localdate()})
    reminder_form = forms.get("reminder_form")
    if reminder_form is None and can_remind:
        reminder_form = ReminderSettingsForm(instance=config)
    return render(
        request,
        "reporting/targets.html",
        {
            "section": section,
            "sections": selectors.sections_for_monitoring(user=request.user),
            "policies": [p for p in reversed(policies) if p.pk],
            "current": current,
            "current_is_default": current.pk is None,
            "exemptions": selectors.exemptions_for(section=section),
            "config": config,
            "policy_form": policy_form if can_policy else None,
            "exemption_form": exemption_form if can_exempt else None,
            "reminder_form": reminder_form if can_remind else None,
            "this_month": months.month_key(today_month),
            "month": today_month,
            "month_key": months.month_key(today_month),
            "can_remind": can_remind,
        },
        status=status,
    )


@roles(*MONITORS)
def targets_page(request):
    section = selectors.section_for(user=request.user, pk=request.GET.get("section"))
    return _targets_page(request, section)


def _post_section(request, allowed):
    return selectors.section_for(user=request.user, pk=request.POST.get("section"), allowed=allowed)


def _targets_url(section) -> str:
    return f"{reverse('reporting:targets')}?section={section.pk}"


@roles(*selectors.POLICY_ROLES)
@require_POST
def targets_policy(request):
    section = _post_section(request, selectors.POLICY_ROLES)
    form = TargetPolicyForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                policy = services.target_policy_create(
                    section=section, actor=request.user, request=request, **form.cleaned_data
                )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            start = f"{policy.effective_from:%B %Y}"
            messages.success(request, f"New targets for {section.name} from {start}.")
            return redirect(_targets_url(section))
    return _targets_page(request, section, status=400, policy_form=form)


@roles(*selectors.EXEMPTION_ROLES)
@require_POST
def targets_exemption_add(request):
    section = _post_section(request, selectors.EXEMPTION_ROLES)
    form = ExemptionForm(request.POST, people=selectors.section_radiologists(section=section))
    if form.is_valid():
        try:
            with transaction.atomic():
                exemption = services.exemption_create(
                    section=section, actor=request.user, request=request, **form.cleaned_data
                )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Exemption recorded for {exemption.user.display_name}.")
            return redirect(_targets_url(section))
    return _targets_page(request, section, status=400, exemption_form=form)


@roles(*selectors.EXEMPTION_ROLES)
@require_POST
def targets_exemption_delete(request, pk: int):
    section = _post_section(request, selectors.EXEMPTION_ROLES)
    exemption = selectors.exemption_get(section=section, pk=pk)
    services.exemption_delete(exemption=exemption, actor=request.user, request=request)
    messages.success(request, "Exemption removed; the target is recalculated.")
    return redirect(_targets_url(section))


@roles(*selectors.REMINDER_ROLES)
@require_POST
def targets_reminders(request):
    section = _post_section(request, selectors.REMINDER_ROLES)
    # A throw-away instance: the service compares the saved settings with the new values.
    form = ReminderSettingsForm(request.POST, instance=ReminderSettings(section=section))
    if form.is_valid():
        reminders.reminder_settings_update(
            section=section,
            actor=request.user,
            request=request,
            **{name: form.cleaned_data[name] for name in ReminderSettingsForm.Meta.fields},
        )
        messages.success(request, f"Reminder settings for {section.name} saved.")
        return redirect(_targets_url(section))
    return _targets_page(request, section, status=400, reminder_form=form)

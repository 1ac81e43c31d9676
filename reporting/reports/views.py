"""Pages of the reports for leaders: the program dashboard, the reports list (generate,
watch progress, download again), OPPE reports and MOC letters as PDF, FPPE referrals.

Which sections a leader reports on, and which generated reports they may fetch, is decided
in reporting/reports/jobs.py; whose OPPE report a person may read in reporting/oppe/sources.py
(themselves; leaders: radiologists of the sections they lead). See docs/reports.md.
"""

import datetime
import logging

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from peerlearning.access import roles, user_roles
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Role, Section, User
from reporting.models import OppePolicy
from reporting.oppe.forms import PeriodForm
from reporting.oppe.sources import oppe_radiologist_get_for_user
from reporting.reports import jobs as report_jobs
from reporting.reports.dashboard import leader_dashboard_html
from reporting.reports.forms import AcrReportForm, MocYearForm, OppeBatchForm, OppeReferralForm
from reporting.reports.moc import moc_letter_build, moc_letter_pdf, oppe_referral_set
from reporting.reports.oppe import LEADERS, SELF, oppe_report_build, oppe_report_pdf

logger = logging.getLogger(__name__)

leaders = roles(Role.LEADER, site_admins=True)
radiologists_only = roles(Role.RADIOLOGIST)
PAGE_SIZE = 20


def _report_sections(user: User) -> tuple[list[Section], bool]:
    """Active sections the person reports on, and whether that is every active section."""
    sections = list(report_jobs.report_sections_for(user=user).filter(is_active=True))
    everything = bool(sections) and len(sections) == Section.objects.filter(is_active=True).count()
    return sections, everything


def _pdf(content: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


# The dashboard -----------------------------------------------------------------------------------


@leaders
def leader(request):
    sections = list(report_jobs.report_sections_for(user=request.user).filter(is_active=True))
    chosen = request.GET.get("section", "")
    shown = [s for s in sections if str(s.pk) == chosen] or sections
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
    except ValueError:
        year = today.year
    year = min(max(year, today.year - 20), today.year)
    # Site administrators see the figures but not the leaders' other pages.
    is_leader = Role.LEADER in user_roles(request.user)
    return render(
        request,
        "reporting/leader.html",
        {
            "figures": leader_dashboard_html(
                sections=shown, viewer=request.user, year=year, today=today, links=is_leader
            )
            if shown
            else "",
            "shown": sorted(shown, key=lambda s: s.name),
            "through": min(datetime.date(year, 12, 31), today),
            "sections": sections,
            "chosen": chosen if len(shown) == 1 and len(sections) > 1 else "",
            "year": year,
            "years": list(range(today.year, today.year - 5, -1)),
            "is_leader": is_leader,
        },
    )


# Generated reports ----------------------------------------------------------------------------


def _reports_page(request, *, acr_form=None, oppe_form=None, status=200):
    sections, everything = _report_sections(request.user)
    policy = OppePolicy.load()
    page = Paginator(report_jobs.reports_visible_to(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "reporting/reports.html",
        {
            "acr_form": acr_form or AcrReportForm(sections=sections, everything=everything),
            "oppe_form": oppe_form
            or OppeBatchForm(sections=sections, everything=everything, policy=policy),
            "page_obj": page,
            "sections": sections,
            "is_leader": Role.LEADER in user_roles(request.user),
        },
        status=status,
    )


@leaders
def reports(request):
    return _reports_page(request)


@leaders
@require_POST
def report_generate_acr(request):
    sections, everything = _report_sections(request.user)
    form = AcrReportForm(request.POST, sections=sections, everything=everything)
    if not form.is_valid():
        return _reports_page(request, acr_form=form, status=400)
    data = form.cleaned_data
    report = report_jobs.acr_request(
        sections=data["sections"],
        department=data["department"],
        start=data["start"],
        end=data["end"],
        file_format=data["file_format"],
        actor=request.user,
        request=request,
    )
    messages.success(request, f"“{report.title}” is being generated; it appears below.")
    return redirect(f"{reverse('reporting:reports')}#report-{report.pk}")


@leaders
@require_POST
def report_generate_oppe(request):
    sections, everything = _report_sections(request.user)
    form = OppeBatchForm(
        request.POST, sections=sections, everything=everything, policy=OppePolicy.load()
    )
    if not form.is_valid():
        return _reports_page(request, oppe_form=form, status=400)
    data = form.cleaned_data
    report = report_jobs.oppe_batch_request(
        sections=data["sections"],
        start=data["start"],
        end=data["end"],
        actor=request.user,
        request=request,
    )
    messages.success(request, f"“{report.title}” is being generated; it appears below.")
    return redirect(f"{reverse('reporting:reports')}#report-{report.pk}")


@leaders
def report_status(request, pk: int):
    """The report's row, polled by htmx while it is generated."""
    report = report_jobs.report_get_for_user(user=request.user, pk=pk)
    if not request.htmx:
        return redirect(f"{reverse('reporting:reports')}#report-{report.pk}")
    return render(request, "reporting/reports.html#report-row", {"report": report})


@leaders
def report_download(request, pk: int):
    report = report_jobs.report_get_for_user(user=request.user, pk=pk)
    try:
        handle = report_jobs.report_file_open(report=report)
    except report_jobs.ReportFileDamaged:
        logger.error("Generated report %s does not match its checksum", report.pk)
        messages.error(
            request,
            "The stored file no longer matches the one generated, so it is not served. "
            "Generate the report again, and tell the site administrator.",
        )
        return redirect("reporting:reports")
    report_jobs.report_downloaded(report=report, request=request)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=report.file_name,
        content_type=report_jobs.CONTENT_TYPES[report.file_format],
    )


# OPPE reports and MOC letters, one radiologist -------------------------------------------------


def _oppe_pdf(request, person: User, *, audience: str) -> HttpResponse:
    _, start, end = PeriodForm.period(request.GET, OppePolicy.load())
    report = oppe_report_build(
        radiologist=person, start=start, end=end, viewer=request.user, audience=audience
    )
    audit_record(
        action=AuditEvent.Action.DOWNLOAD,
        obj=person,
        request=request,
        detail={"what": "oppe report", "start": str(start), "end": str(end)},
    )
    return _pdf(oppe_report_pdf(report), report.file_name)


@leaders
def oppe_pdf(request, pk: int):
    person = oppe_radiologist_get_for_user(user=request.user, pk=pk)
    # A leader opening their own report still gets the leaders' version here.
    return _oppe_pdf(request, person, audience=LEADERS)


@radiologists_only
def oppe_mine_pdf(request):
    return _oppe_pdf(request, request.user, audience=SELF)


def _moc_letter(request, person: User, signatory: User | None) -> HttpResponse:
    year = MocYearForm.year_from(request.GET)
    letter = moc_letter_build(
        radiologist=person, year=year, viewer=request.user, signatory=signatory
    )
    audit_record(
        action=AuditEvent.Action.DOWNLOAD,
        obj=person,
        request=request,
        detail={"what": "moc part 4 letter", "year": year},
    )
    return _pdf(moc_letter_pdf(letter), letter.file_name)


@leaders
def moc_letter(request, pk: int):
    person = oppe_radiologist_get_for_user(user=request.user, pk=pk)
    signs = Role.LEADER in user_roles(request.user)
    return _moc_letter(request, person, request.user if signs else None)


@radiologists_only
def moc_letter_mine(request):
    return _moc_letter(request, request.user, None)


@leaders
@require_POST
def oppe_referral(request, pk: int):
    person = oppe_radiologist_get_for_user(user=request.user, pk=pk)
    form = OppeReferralForm(request.POST)
    if person.pk == request.user.pk:
        messages.error(request, "A referral about yourself is for another leader to make.")
        return redirect("reporting:oppe-mine")
    if not form.is_valid():
        messages.error(request, "The period of this referral could not be read.")
        return redirect("reporting:oppe-radiologist", pk=person.pk)
    data = form.cleaned_data
    referral = oppe_referral_set(
        radiologist=person,
        start=data["start"],
        end=data["end"],
        referred=data["referred"],
        actor=request.user,
        request=request,
    )
    if referral is not None:
        messages.success(
            request,
            f"{person.display_name} is referred for focused review (FPPE) for this period; "
            "an FPPE event “from OPPE” is open under review.",
        )
    else:
        messages.success(request, "The referral for this period was withdrawn.")
    url = reverse("reporting:oppe-radiologist", args=[person.pk])
    return redirect(f"{url}?start={data['start']:%Y-%m-%d}&end={data['end']:%Y-%m-%d}")

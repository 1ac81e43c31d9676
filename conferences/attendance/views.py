"""Attendance pages: the roster, report imports, check-in, recordings and CME documents."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format

from conferences import selectors
from conferences.forms import AttendanceImportForm, CheckInForm, ResolveRowForm, members_of
from conferences.models import AttendanceImportRow
from conferences.pdf import cme_certificate_pdf, cme_summary_pdf
from conferences.services import (
    AttendanceRefused,
    ImportRefused,
    attendance_import,
    attendance_mark,
    check_in,
    import_row_resolve,
    recording_attest,
    recording_attestation_refusal,
)
from peerlearning.access import ALL_ROLES, roles, signed_in
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Role, User

MANAGERS = (Role.CHAMPION, Role.ADMIN_ASSISTANT)
MAX_MINUTES = 720


def _minutes(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        minutes = int(value)
    except ValueError:
        raise ValueError(f"“{value}” is not a number of minutes.") from None
    if not 0 <= minutes <= MAX_MINUTES:
        raise ValueError(f"Minutes must be between 0 and {MAX_MINUTES}.")
    return minutes


@roles(*MANAGERS)
def roster(request, pk):
    """Tick who was there. With htmx each change saves one row; without, the form saves all."""
    conference = selectors.conference_get_for_manager(user=request.user, pk=pk)
    rows = selectors.roster_for(conference)
    error = None
    if request.method == "POST":
        people = {str(user.pk): user for user, _, _ in rows}
        ticked = set(request.POST.getlist("present"))
        only = request.POST.get("user")
        if only is not None and only not in people:
            raise Http404("Not on this section's roster.")
        for key in [only] if only else list(people):
            try:
                minutes = _minutes(request.POST.get(f"minutes_{key}"))
            except ValueError as problem:
                error = f"{people[key].display_name}: {problem}"
                continue
            attendance_mark(
                conference=conference,
                user=people[key],
                present=key in ticked,
                minutes=minutes,
                actor=request.user,
            )
        if only and request.htmx:
            row = next(r for r in selectors.roster_for(conference) if str(r[0].pk) == only)
            return render(
                request,
                "conferences/roster.html#roster-row-response",
                {
                    "conference": conference,
                    "row": row,
                    "counts": selectors.attendance_counts(conference),
                    "row_error": error,
                },
            )
        if error is None:
            messages.success(request, "Attendance saved.")
            return redirect("conferences:roster", pk=pk)
        rows = selectors.roster_for(conference)
    return render(
        request,
        "conferences/roster.html",
        {
            "conference": conference,
            "rows": rows,
            "counts": selectors.attendance_counts(conference),
            "error": error,
            "guests": selectors.attendance_for_conference(conference).filter(user__isnull=True),
        },
    )


@roles(*MANAGERS)
def attendance_import_view(request, pk):
    conference = selectors.conference_get_for_manager(user=request.user, pk=pk)
    form = AttendanceImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            outcome = attendance_import(
                conference=conference,
                data=upload.read(),
                filename=upload.name,
                actor=request.user,
                request=request,
            )
        except ImportRefused as refusal:
            problems = refusal.problems
        else:
            done = outcome.source_import
            if not outcome.created:
                when = date_format(timezone.localtime(done.imported_at), "DATETIME_FORMAT")
                messages.info(request, f"This file was imported on {when}; nothing changed.")
            else:
                messages.success(
                    request,
                    f"Imported: {done.people_matched} people matched, "
                    f"{done.names_unmatched} names to match by hand.",
                )
            return redirect("conferences:import-detail", pk=done.pk)
    return render(
        request,
        "conferences/attendance_import.html",
        {
            "conference": conference,
            "form": form,
            "problems": problems,
            "imports": selectors.imports_for(conference),
        },
    )


@roles(*MANAGERS)
def import_detail(request, pk):
    """What an import matched, what it did not and why; match the rest by hand."""
    source_import = selectors.attendance_import_get_for_manager(user=request.user, pk=pk)
    conference = source_import.conference
    people = list(members_of([conference.section]))
    rows = list(source_import.rows.select_related("user"))
    forms = {}
    if request.method == "POST":
        row = next((r for r in rows if str(r.pk) == request.POST.get("row")), None)
        if row is None or not row.unresolved:
            messages.info(request, "That name was matched already.")
            return redirect("conferences:import-detail", pk=pk)
        form = ResolveRowForm(request.POST, people=people, prefix=f"row{row.pk}")
        if form.is_valid():
            chosen = form.chosen_user
            import_row_resolve(row=row, actor=request.user, user=chosen, guest=chosen is None)
            who = chosen.display_name if chosen else "a guest"
            messages.success(request, f"“{row.name or row.email}” is recorded as {who}.")
            return redirect("conferences:import-detail", pk=pk)
        forms[row.pk] = form
    for row in rows:
        if row.unresolved and row.pk not in forms:
            forms[row.pk] = ResolveRowForm(
                people=people, prefix=f"row{row.pk}", suggest_guest="guest" in row.note
            )
    minutes = {
        a.user_id: a
        for a in selectors.attendance_for_conference(conference).filter(
            user_id__in=[r.user_id for r in rows if r.user_id]
        )
    }
    matched = [(r, minutes.get(r.user_id)) for r in rows if not r.unresolved]
    unmatched = [(r, forms[r.pk]) for r in rows if r.unresolved]
    return render(
        request,
        "conferences/import_detail.html",
        {
            "source_import": source_import,
            "conference": conference,
            "matched": matched,
            "unmatched": unmatched,
            "Match": AttendanceImportRow.Match,
        },
    )


@signed_in
def check_in_view(request):
    initial = {"code": request.GET.get("code", "")[:12]}
    form = CheckInForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            result = check_in(code=form.cleaned_data["code"], user=request.user)
        except AttendanceRefused as refusal:
            form.add_error("code", str(refusal))
        else:
            conference = result.attendance.conference
            if result.created:
                messages.success(request, f"You are checked in to {conference.title}.")
            else:
                messages.info(request, f"You were already checked in to {conference.title}.")
            # The audience page: the presenter's open question appears there to vote on.
            return redirect("conferences:live", pk=conference.pk)
    return render(request, "conferences/check_in.html", {"form": form})


@roles(Role.RADIOLOGIST, Role.TRAINEE)
def attest_recording(request, pk):
    conference = selectors.conference_get_for_user(user=request.user, pk=pk)
    refusal = recording_attestation_refusal(conference=conference, user=request.user)
    if request.method == "POST" and refusal is None:
        try:
            recording_attest(conference=conference, user=request.user)
        except AttendanceRefused as problem:
            refusal = str(problem)
        else:
            messages.success(
                request, "Thank you. Watching the recording counts toward your attendance."
            )
            return redirect("conferences:detail", pk=pk)
    return render(
        request,
        "conferences/attest_recording.html",
        {"conference": conference, "refusal": refusal},
    )


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@roles(*ALL_ROLES)
def certificate(request, pk):
    attendance = selectors.cme_attendance_get(user=request.user, conference_pk=pk)
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
    rows = list(selectors.cme_attendance_for(request.user))
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
    rows = list(selectors.cme_attendance_for(user, year=year))
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

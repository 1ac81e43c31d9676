"""Attendance pages: the roster, report imports, check-in and recordings."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format

from conferences.attendance.forms import AttendanceImportForm, CheckInForm, ResolveRowForm
from conferences.attendance.imports import ImportRefused, attendance_import, import_row_resolve
from conferences.attendance.models import AttendanceImportRow
from conferences.attendance.selectors import (
    attendance_counts,
    attendance_for_conference,
    attendance_import_get_for_manager,
    imports_for,
    roster_for,
)
from conferences.attendance.services import (
    AttendanceRefused,
    attendance_mark,
    check_in,
    recording_attest,
    recording_attestation_refusal,
)
from conferences.meetings.forms import members_of
from conferences.meetings.selectors import conference_get_for_manager, conference_get_for_user
from conferences.roles import MANAGERS, RECORDING_ATTESTERS
from peerlearning.access import roles, signed_in
from peerlearning.lib.audit import audited_read

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
@audited_read("conferences.conference", what="attendance")
def roster(request, pk):
    """Tick who was there. With htmx each change saves one row; without, the form saves all."""
    conference = conference_get_for_manager(user=request.user, pk=pk)
    rows = roster_for(conference)
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
            row = next(r for r in roster_for(conference) if str(r[0].pk) == only)
            return render(
                request,
                "conferences/roster.html#roster-row-response",
                {
                    "conference": conference,
                    "row": row,
                    "counts": attendance_counts(conference),
                    "row_error": error,
                },
            )
        if error is None:
            messages.success(request, "Attendance saved.")
            return redirect("conferences:roster", pk=pk)
        rows = roster_for(conference)
    return render(
        request,
        "conferences/roster.html",
        {
            "conference": conference,
            "rows": rows,
            "counts": attendance_counts(conference),
            "error": error,
            "guests": attendance_for_conference(conference).filter(user__isnull=True),
        },
    )


@roles(*MANAGERS)
def attendance_import_view(request, pk):
    conference = conference_get_for_manager(user=request.user, pk=pk)
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
            "imports": imports_for(conference),
        },
    )


@roles(*MANAGERS)
def import_detail(request, pk):
    """What an import matched, what it did not and why; match the rest by hand."""
    source_import = attendance_import_get_for_manager(user=request.user, pk=pk)
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
        for a in attendance_for_conference(conference).filter(
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


@roles(*RECORDING_ATTESTERS)
def attest_recording(request, pk):
    conference = conference_get_for_user(user=request.user, pk=pk)
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

"""Submitting a case (the browser form and the PACS launch URL) and my submissions."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from peerlearning.access import public, roles, roles_access
from peerlearning.lib.audit import audit_shown, audited_read
from peerlearning.models import Role
from submissions import selectors, services
from submissions.disclosure import disclosure_for, feedback_visible_to_reader
from submissions.forms import (
    ReaderKind,
    ReplyForm,
    SubmissionForm,
    reader_label,
)
from submissions.models import Submission
from submissions.views._shared import _reply

SUBMITTERS = (Role.RADIOLOGIST, Role.TRAINEE)
SUBMITTER_ACCESS = roles_access(*SUBMITTERS)
PREFILL_SESSION_KEY = "submissions:prefill"
# Where a prefill came from, for the banner above the form.
PREFILL_SOURCES = {"pacs": "your PACS", "suggestion": "a suggested case"}
# PACS launch parameters -> form fields.
LAUNCH_PARAMS = {
    "accession": "accession_number",
    "study_uid": "study_instance_uid",
    "reader": "reader",
    "reader_npi": "reader_npi",
    "reader_id": "reader_ris_id",
}
LIVE_FIELDS = {
    "urgency",
    "accession_number",
    "reason",
    "reason_detail",
    "description",
    "reader_kind",
    "reader",
    "required_actions",
    "action_other",
    "attestation",
}


# Submitting ----------------------------------------------------------------------------


# Declared public on purpose, and checked below: a PACS launch URL carries the accession
# number in its query string, which must leave the address bar (and never travel on into a
# sign-in URL's `next`) before anything else happens. So the launch values move into the
# session first; only then does the usual rule apply (sign in, then radiologists and trainees).
@public
def submit(request):
    if any(param in request.GET for param in LAUNCH_PARAMS):
        request.session[PREFILL_SESSION_KEY] = {
            "source": "pacs",
            **{
                field: request.GET.get(param, "").strip()[:254]
                for param, field in LAUNCH_PARAMS.items()
                if request.GET.get(param, "").strip()
            },
        }
        return redirect("submissions:submit")
    if not request.user.is_authenticated:
        return redirect_to_login(request.path)
    if not SUBMITTER_ACCESS.allows(request.user):
        raise PermissionDenied

    if request.method == "POST":
        form = SubmissionForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                submission = services.submission_create(
                    submitter=request.user, request=request, **form.service_kwargs()
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                request.session.pop(PREFILL_SESSION_KEY, None)
                messages.success(request, _submitted_message(submission))
                return redirect("submissions:mine-detail", submission.pk)
        prefilled_from = request.POST.get("prefilled_from", "")
    else:
        # A prefill fills one form: the next visit to the page starts empty.
        prefill = _prefill(request, request.session.pop(PREFILL_SESSION_KEY, None) or {})
        prefilled_from = prefill.pop("source", "") if prefill else ""
        form = SubmissionForm(user=request.user, initial=prefill)
    return render(
        request,
        "submissions/submit.html",
        {
            "form": form,
            "prefilled_from": prefilled_from if prefilled_from in PREFILL_SOURCES else "",
            "prefilled_label": PREFILL_SOURCES.get(prefilled_from, ""),
        },
    )


def _prefill(request, prefill: dict) -> dict:
    prefill = dict(prefill)
    if prefill.get("accession_number"):
        prefill["accession_number"] = prefill["accession_number"].upper()
    by_id = {
        "npi": prefill.pop("reader_npi", ""),
        "ris_id": prefill.pop("reader_ris_id", ""),
    }
    if prefill.get("reader") or any(by_id.values()):
        known = selectors.reader_on_my_rosters(
            user=request.user, email=prefill.get("reader", ""), **by_id
        )
        if known is not None:
            prefill["reader"] = reader_label(known)
        if prefill.get("reader"):
            prefill["reader_kind"] = ReaderKind.ROSTER
    return prefill


def _submitted_message(submission: Submission) -> str:
    if submission.status == Submission.Status.FEEDBACK_SENT:
        name = "with your name" if submission.submitter_signed else "without your name"
        return (
            "Thank you. Your feedback goes to the original reader, "
            f"{name}, with the section's next batch."
        )
    if submission.status == Submission.Status.AWAITING_REVIEW:
        return "Thank you. A champion will review the feedback before it goes to the reader."
    return "Thank you. Your submission is with the section's champion."


@roles(*SUBMITTERS)
@require_POST
def submit_validate(request):
    """Inline validation: the form as typed so far, answered with one field's messages only
    (never its controls, which the person may be using while the answer travels)."""
    name = request.GET.get("field", "")
    if name not in LIVE_FIELDS:
        raise Http404
    form = SubmissionForm(request.POST, user=request.user)
    form.is_valid()
    note = form.accession_note if name == "accession_number" else ""
    return render(request, "includes/live_messages.html", {"field": form[name], "note": note})


@roles(*SUBMITTERS, Role.CHAMPION)
def reader_search(request):
    """Type-ahead for the original reader: <option>s from the chosen section's roster."""
    sections = selectors.sections_for_submitter(user=request.user) | (
        selectors.sections_for_champion(user=request.user)
    )
    section = sections.filter(pk=request.GET.get("section") or 0).first() or sections.first()
    people = (
        selectors.section_roster(section=section, query=request.GET.get("reader", "")[:100])
        if section
        else []
    )
    return render(
        request,
        "submissions/submit.html#reader-options",
        {"options": [reader_label(person) for person in people if person != request.user]},
    )


# My submissions ----------------------------------------------------------------------------


@roles(*SUBMITTERS)
@audited_read("submissions.submission", id_kwarg=None)
def mine(request):
    page = Paginator(selectors.submissions_of_submitter(user=request.user), 25).get_page(
        request.GET.get("page")
    )
    audit_shown(request, objects=page.object_list)
    return render(request, "submissions/mine.html", {"page_obj": page})


@roles(*SUBMITTERS)
@audited_read("submissions.submission")
def mine_detail(request, pk):
    submission = selectors.submission_get_for_submitter(user=request.user, pk=pk)
    actions = list(submission.actions.all())
    return render(
        request,
        "submissions/mine_detail.html",
        {
            "submission": submission,
            "disclosure": disclosure_for(
                viewer=request.user, submission=submission, championed=set()
            ),
            "feedback_queued": _feedback_queued(submission),
            "actions": actions,
            "escalated": any(a.escalated_at and not a.is_done for a in actions),
            "thread": selectors.thread_for(submission=submission),
            "reply_form": ReplyForm(),
        },
    )


def _feedback_queued(submission: Submission) -> bool:
    return submission.feedback_is_sent and not feedback_visible_to_reader(submission)


@roles(*SUBMITTERS)
@require_POST
def mine_reply(request, pk):
    submission = selectors.submission_get_for_submitter(user=request.user, pk=pk)
    return _reply(request, submission, "submissions:mine-detail")

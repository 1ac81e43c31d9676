"""The champion's queue, the review page and its triage steps, the section's settings."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import TIME_STRINGS, timesince
from django.views.decorators.http import require_POST

from peerlearning.access import roles
from peerlearning.lib.audit import audit_shown, audited_read
from peerlearning.lib.emails import email_delivery
from peerlearning.models import Role
from submissions import selectors, services
from submissions.disclosure import disclosure_for, feedback_visible_to_reader
from submissions.forms import (
    ActionDoneForm,
    ActionsChangeForm,
    AssignReaderForm,
    FeedbackEditForm,
    NoteForm,
    SettingsForm,
    TriageForm,
)
from submissions.models import Reason, Submission
from submissions.views._shared import _action_done, _error_messages

# The champion's queue ------------------------------------------------------------------------

# Rows a page: a screen or two of the open cases, newest first, to triage from the top; the
# template's per-row work on 50 was most of the page's time (docs/submissions.md).
QUEUE_PAGE_SIZE = 25


def _queue_filters(request, sections) -> selectors.QueueFilters:
    get = request.GET
    section = get.get("section", "")
    return selectors.QueueFilters(
        status=get.get("status", "open") if "status" in get else "open",
        reason=get.get("reason", ""),
        age=get.get("age", ""),
        action=get.get("action", ""),
        section=int(section) if section.isdigit() and int(section) in sections else None,
        sort=get.get("sort", "newest"),
    )


_STATUS_LABELS = dict(Submission.Status.choices)
_SIGNIFICANCE_LABELS = dict(Submission._meta.get_field("significance").flatchoices)
_READER_RESPONSE_LABELS = dict(Submission._meta.get_field("reader_response").flatchoices)
_STATUS_BADGES = {
    Submission.Status.CLOSED: "badge-muted",
    Submission.Status.ACKNOWLEDGED: "badge-ok",
    Submission.Status.FEEDBACK_SENT: "badge-info",
}


class _TranslatedOnce:
    """One of `timesince`'s unit strings ("%(num)d day"/"days"), translated once per count:
    fifty rows ask for the same few counts, and the lazy plural is most of the filter's cost."""

    def __init__(self, lazy):
        self.lazy = lazy
        self.done: dict[int, str] = {}

    def __mod__(self, values: dict) -> str:
        num = values["num"]
        if num not in self.done:
            self.done[num] = self.lazy % values
        return self.done[num]


def _with_row_labels(rows: list[Submission]) -> list[Submission]:
    """What each row shows, worked out here rather than by template filters and tags per row
    (the template's work on 50 rows was most of the page): the review link, the day (as
    `date:"j M Y"`, formatted once per distinct day), the age (as `timesince`, its unit
    strings translated once per request), the row and status badge classes and the labels."""
    now = timezone.now()
    queue_url = reverse("submissions:queue")
    time_strings = {unit: _TranslatedOnce(text) for unit, text in TIME_STRINGS.items()}
    days: dict[datetime.date, str] = {}
    for row in rows:
        day = timezone.localdate(row.created_at)
        if day not in days:
            days[day] = date_format(day, "j M Y")
        row.created_day = days[day]
        row.age = timesince(row.created_at, now, time_strings=time_strings)
        row.review_url = f"{queue_url}{row.pk}/"
        row.row_class = (
            "row-danger" if row.action_overdue else "row-warn" if row.action_pending else ""
        )
        row.status_badge = _STATUS_BADGES.get(row.status, "badge-warn")
        row.status_label = str(_STATUS_LABELS.get(row.status, row.status))
        row.reader_response_label = (
            str(_READER_RESPONSE_LABELS.get(row.reader_response, row.reader_response)).lower()
            if row.reader_response
            else ""
        )
        row.significance_label = (
            str(_SIGNIFICANCE_LABELS.get(row.significance, row.significance))
            if row.significance
            else ""
        )
    return rows


@roles(Role.CHAMPION)
@audited_read("submissions.submission", id_kwarg=None)
def queue(request):
    sections = {s.pk: s for s in selectors.sections_for_champion(user=request.user)}
    filters = _queue_filters(request, sections)
    rows = selectors.queue_for_champion(user=request.user, filters=filters)
    full_page = not (request.htmx and request.htmx.target == "queue-results")
    counts = selectors.queue_counts(user=request.user) if full_page else None
    paginator = Paginator(rows, QUEUE_PAGE_SIZE)
    if counts is not None and selectors.queue_is_default(filters):
        paginator.count = counts["open"]  # the same set, already counted: no COUNT query
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = _with_row_labels(list(page.object_list))
    audit_shown(request, objects=page.object_list)
    context = {
        "page_obj": page,
        "filters": filters,
        "sections": list(sections.values()),
        "statuses": Submission.Status.choices,
        "reasons": Reason.choices,
        "sorts": [
            ("newest", "Newest first"),
            ("oldest", "Oldest first"),
            ("urgency", "Urgent first"),
            ("due", "Action due soonest"),
            ("status", "Status"),
        ],
    }
    if not full_page:
        return render(request, "submissions/queue.html#results", context)
    context["counts"] = counts
    return render(request, "submissions/queue.html", context)


def _review_context(request, submission, **forms) -> dict:
    context = {
        "submission": submission,
        "disclosure": disclosure_for(viewer=request.user, submission=submission),
        "feedback_queued": submission.feedback_is_sent
        and not feedback_visible_to_reader(submission),
        "actions": list(submission.actions.all()),
        "events": list(submission.events.all()),
        "thread": selectors.thread_for(submission=submission),
        "triage_form": TriageForm(
            initial={
                "reason": submission.reason,
                "reason_detail": submission.reason_detail,
                "significance": submission.significance,
                "conference_candidate": submission.conference_candidate,
                "counted": submission.counted,
                "not_counted_reason": submission.not_counted_reason,
            }
        ),
        "feedback_form": FeedbackEditForm(
            initial={
                "description": submission.feedback_description,
                "learning_point": submission.feedback_learning_point,
            }
        ),
        "note_form": NoteForm(),
        "action_form": ActionDoneForm(),
        "actions_change_form": ActionsChangeForm(actions=submission.actions.all()),
        "reader_form": AssignReaderForm(section=submission.section, submitter=submission.submitter),
        "settings": selectors.settings_for(section=submission.section),
        "feedback_delivery": (
            email_delivery(key=submission.reader_email_key) if submission.feedback_is_sent else None
        ),
    }
    context.update(forms)
    return context


@roles(Role.CHAMPION)
@audited_read("submissions.submission")
def review(request, pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    return render(request, "submissions/review.html", _review_context(request, submission))


def _review_invalid(request, submission, **forms):
    messages.error(request, "Please check the form below.")
    return render(
        request,
        "submissions/review.html",
        _review_context(request, submission, **forms),
        status=400,
    )


@roles(Role.CHAMPION)
@require_POST
def review_triage(request, pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    form = TriageForm(request.POST)
    if not form.is_valid():
        return _review_invalid(request, submission, triage_form=form)
    try:
        services.submission_triage(submission=submission, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _review_invalid(request, submission, triage_form=form)
    messages.success(request, "Triage saved.")
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
@require_POST
def review_feedback(request, pk):
    """Reword held feedback, and send it when asked."""
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    form = FeedbackEditForm(request.POST)
    if not form.is_valid():
        return _review_invalid(request, submission, feedback_form=form)
    try:
        if "send" in request.POST:
            services.feedback_release(
                submission=submission, actor=request.user, **form.cleaned_data
            )
            messages.success(request, "The feedback was sent to the original reader.")
        else:
            services.feedback_edit(submission=submission, actor=request.user, **form.cleaned_data)
            messages.success(request, "The feedback wording was saved; it has not been sent.")
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
@require_POST
def review_reader(request, pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    form = AssignReaderForm(
        request.POST, section=submission.section, submitter=submission.submitter
    )
    if not form.is_valid():
        return _review_invalid(request, submission, reader_form=form)
    try:
        services.reader_assign(
            submission=submission,
            actor=request.user,
            reader=form.cleaned_data["reader_user"],
            reader_email=form.cleaned_data["reader_email"],
        )
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, "The original reader was recorded.")
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
@require_POST
def review_note(request, pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _review_invalid(request, submission, note_form=form)
    services.note_add(submission=submission, actor=request.user, text=form.cleaned_data["text"])
    messages.success(request, "Note added.")
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
@require_POST
def review_action_done(request, pk, action_pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    return _action_done(request, submission, action_pk, "submissions:review")


@roles(Role.CHAMPION)
@require_POST
def review_actions(request, pk):
    """Correct the clinical actions (add, remove pending ones) with a reason."""
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    form = ActionsChangeForm(request.POST, actions=list(submission.actions.all()))
    if not form.is_valid():
        return _review_invalid(request, submission, actions_change_form=form)
    values = form.cleaned_data
    try:
        services.actions_change(
            submission=submission,
            actor=request.user,
            add=values["add"],
            add_other=values["add_other"],
            remove=values["remove"],
            reason=values["reason"],
        )
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, "The clinical actions were changed; the history says why.")
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
@require_POST
def review_route(request, pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    services.submission_route_to_quality(
        submission=submission, actor=request.user, note=request.POST.get("note", "")
    )
    messages.success(request, "Routed to the quality team.")
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
@require_POST
def review_close(request, pk):
    submission = selectors.submission_get_for_champion(user=request.user, pk=pk)
    try:
        if "reopen" in request.POST:
            services.submission_reopen(submission=submission, actor=request.user)
            messages.success(request, "Submission reopened.")
        else:
            services.submission_close(submission=submission, actor=request.user)
            messages.success(request, "Submission closed.")
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    return redirect("submissions:review", pk)


@roles(Role.CHAMPION)
def section_settings(request):
    sections = list(selectors.sections_for_champion(user=request.user))
    chosen = request.GET.get("section", "")
    section = next((s for s in sections if str(s.pk) == chosen), sections[0] if sections else None)
    if section is None:
        raise Http404
    config = selectors.settings_for(section=section)
    form = SettingsForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        services.section_settings_update(
            section=section,
            actor=request.user,
            request=request,
            **{name: form.cleaned_data[name] for name in SettingsForm.Meta.fields},
        )
        messages.success(request, f"Settings for {section.name} saved.")
        return redirect(f"{request.path}?section={section.pk}")
    return render(
        request,
        "submissions/settings.html",
        {"form": form, "section": section, "sections": sections},
    )

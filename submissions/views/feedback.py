"""Feedback addressed to me, as the original reader. Any signed-in person may open these
pages (a reader outside the roster has no role); the selectors answer 404 for the rest."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from peerlearning.access import signed_in
from peerlearning.lib.audit import audit_shown, audited_read
from peerlearning.models import AuditEvent
from submissions import selectors, services
from submissions.disclosure import disclosure_for
from submissions.forms import (
    ActionDoneForm,
    ReplyForm,
    ResponseForm,
)
from submissions.pdf import feedback_pdf
from submissions.views._shared import _action_done, _reply

# Feedback for me (any signed-in person: readers outside the roster have no role) --------------


@signed_in
@audited_read("submissions.submission", id_kwarg=None)
def feedback_inbox(request):
    page = Paginator(selectors.feedback_for_reader(user=request.user), 25).get_page(
        request.GET.get("page")
    )
    audit_shown(request, objects=page.object_list)
    return render(request, "submissions/feedback_inbox.html", {"page_obj": page})


@signed_in
@audited_read("submissions.submission")
def feedback_detail(request, pk):
    submission = selectors.feedback_get_for_reader(user=request.user, pk=pk)
    return render(request, "submissions/feedback_detail.html", _feedback_context(submission))


def _feedback_context(submission, **extra) -> dict:
    return {
        "submission": submission,
        "disclosure": disclosure_for(
            viewer=submission.original_reader, submission=submission, championed=set()
        ),
        "actions": list(submission.actions.all()),
        "thread": selectors.thread_for(submission=submission),
        "response_form": ResponseForm(initial={"response": submission.reader_response}),
        "reply_form": ReplyForm(),
        "action_form": ActionDoneForm(),
        **extra,
    }


@signed_in
@require_POST
def feedback_respond(request, pk):
    submission = selectors.feedback_get_for_reader(user=request.user, pk=pk)
    form = ResponseForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            services.feedback_respond(
                submission=submission,
                response=form.cleaned_data["response"],
                actor=request.user,
                request=request,
            )
            saved = True
        except ValidationError as error:
            form.add_error(None, error)
    if request.htmx:
        return render(
            request,
            "submissions/feedback_detail.html#response",
            _feedback_context(
                submission, saved=saved, **({} if saved else {"response_form": form})
            ),
        )
    if saved:
        messages.success(request, "Thank you: your response was recorded.")
    else:
        messages.error(request, "Choose a response.")
    return redirect("submissions:feedback-detail", pk)


@signed_in
@require_POST
def feedback_reply(request, pk):
    submission = selectors.feedback_get_for_reader(user=request.user, pk=pk)
    return _reply(request, submission, "submissions:feedback-detail")


@signed_in
@require_POST
def feedback_action_done(request, pk, action_pk):
    submission = selectors.feedback_get_for_reader(user=request.user, pk=pk)
    return _action_done(request, submission, action_pk, "submissions:feedback-detail")


@signed_in
@audited_read("submissions.submission", action=AuditEvent.Action.DOWNLOAD, what="feedback pdf")
def feedback_download(request, pk):
    """The feedback as a PDF, for the reader or the section's champions; never the submitter."""
    submission = selectors.feedback_get_for_pdf(user=request.user, pk=pk)
    content = feedback_pdf(submission=submission)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="learning-opportunity-{submission.pk}.pdf"'
    )
    return response

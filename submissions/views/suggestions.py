"""Cases the results feed suggests to the radiologist who signed them, and nobody else."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from peerlearning.access import roles
from peerlearning.lib.audit import audit_shown, audited_read
from submissions.feeds import selectors
from submissions.feeds.services import suggestion_dismiss, suggestion_prefill
from submissions.views.submitting import PREFILL_SESSION_KEY, SUBMITTERS


@roles(*SUBMITTERS)
@audited_read("submissions.suggestion", id_kwarg=None)
def suggestions(request):
    shown = list(selectors.suggestions_open_for(user=request.user))
    audit_shown(request, objects=shown)
    return render(request, "submissions/suggestions.html", {"suggestions": shown})


@roles(*SUBMITTERS)
@require_POST
def suggestion_submit(request, pk):
    """Open the submit form pre-filled from the suggestion; nothing is sent until it is."""
    suggestion = selectors.suggestion_get_for(user=request.user, pk=pk)
    request.session[PREFILL_SESSION_KEY] = suggestion_prefill(suggestion)
    return redirect("submissions:submit")


@roles(*SUBMITTERS)
@require_POST
def suggestion_dismiss_view(request, pk):
    suggestion = selectors.suggestion_get_for(user=request.user, pk=pk)
    suggestion_dismiss(suggestion=suggestion, user=request.user)
    messages.info(request, "Suggestion dismissed. It will not come back.")
    return redirect("submissions:suggestions")

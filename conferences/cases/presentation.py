"""The agenda builder, presentation mode with its votes, the PDF deck, and the audience page."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from conferences.cases import selectors as cases
from conferences.cases.agenda import (
    AgendaRefused,
    VoteRefused,
    agenda_add,
    agenda_move,
    agenda_remove,
    agenda_reorder,
    agenda_set_minutes,
    vote_cast,
    vote_close,
    vote_open,
)
from conferences.cases.deck import PAPERS, deck_pdf, slides_for
from conferences.cases.models import AgendaItem
from conferences.gated import conference_text
from conferences.meetings.qr import qr_svg
from peerlearning.access import ALL_ROLES, roles, signed_in
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Role


def _agenda_context(conference, *, error: str = "", search: str = "") -> dict:
    items = cases.agenda_items(conference)
    total = sum(item.minutes for item in items)
    return {
        "conference": conference,
        "items": items,
        "total_minutes": total,
        "over": total > conference.duration_minutes,
        "over_by": total - conference.duration_minutes,
        "available": list(cases.cases_to_add(conference, text=search)[:30]),
        "search": search,
        "error": error,
    }


@roles(Role.CHAMPION)
def agenda(request, pk):
    conference = cases.conference_get_for_agenda(user=request.user, pk=pk)
    search = request.GET.get("q", "")[:100]
    if request.htmx and request.GET.get("q") is not None:
        return render(
            request,
            "conferences/agenda.html#agenda-builder",
            _agenda_context(conference, search=search),
        )
    return render(request, "conferences/agenda.html", _agenda_context(conference, search=search))


def _item(conference, value: str) -> AgendaItem:
    if not value.isdigit():
        raise Http404("No such agenda item.")
    return cases.agenda_item_get(conference=conference, pk=int(value))


@require_POST
@roles(Role.CHAMPION)
def agenda_save(request, pk):
    """Every agenda change: add, remove, move, drag-and-drop order, minutes.

    htmx posts here and gets the builder back; without JavaScript the same form posts and
    the page reloads.
    """
    conference = cases.conference_get_for_agenda(user=request.user, pk=pk)
    post = request.POST
    error = ""
    try:
        for key, value in post.items():
            if key.startswith("minutes-") and value.strip():
                item = _item(conference, key.removeprefix("minutes-"))
                try:
                    minutes = int(value)
                except ValueError:
                    raise AgendaRefused(f"“{value}” is not a number of minutes.") from None
                agenda_set_minutes(item=item, minutes=minutes, actor=request.user)
        if post.get("add"):
            case = (
                cases.cases_to_add(conference).filter(uuid=post["add"]).first()
                if len(post["add"]) == 36
                else None
            )
            if case is None:
                raise AgendaRefused("That case cannot be added (is it on the agenda already?).")
            agenda_add(conference=conference, case=case, actor=request.user)
        elif post.get("remove"):
            agenda_remove(item=_item(conference, post["remove"]), actor=request.user)
        elif post.get("move"):
            item_id, _, direction = post["move"].partition(":")
            agenda_move(item=_item(conference, item_id), direction=direction, actor=request.user)
        elif post.getlist("order"):
            order = [int(v) for v in post.getlist("order") if v.isdigit()]
            agenda_reorder(conference=conference, order=order, actor=request.user)
    except AgendaRefused as refusal:
        error = str(refusal)
    if request.htmx:
        return render(
            request,
            "conferences/agenda.html#agenda-builder",
            _agenda_context(conference, error=error, search=post.get("q", "")),
        )
    if error:
        messages.error(request, error)
    return redirect("conferences:agenda", pk=pk)


@roles(*ALL_ROLES)
def present(request, pk):
    """Full-screen slides: the title with the check-in code, then question and answer."""
    conference = cases.conference_get_for_presenter(user=request.user, pk=pk)
    check_in_url = request.build_absolute_uri(
        reverse("conferences:check-in") + f"?code={conference.check_in_code}"
    )
    slides = slides_for(conference, votes=True)
    return render(
        request,
        "conferences/present.html",
        {
            "conference": conference,
            "conference_title": conference_text(conference, "title"),
            "slides": slides,
            "check_in_url": check_in_url,
            "qr": qr_svg(check_in_url),
            "held_back": [s for s in slides if s.held_back],
        },
    )


def _vote_panel(request, conference, item, *, error: str = ""):
    return render(
        request,
        "conferences/present.html#vote-panel",
        {
            "conference": conference,
            "item": item,
            "votes": cases.votes_in(item),
            "tally": cases.tally(item) if item.vote_state == AgendaItem.VoteState.CLOSED else [],
            "error": error,
        },
    )


@roles(*ALL_ROLES)
def vote_panel(request, pk, item):
    """The presenter's vote controls: open, close; the count while open, the tally after."""
    conference = cases.conference_get_for_presenter(user=request.user, pk=pk)
    item = cases.agenda_item_get(conference=conference, pk=item)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "open":
                vote_open(item=item, actor=request.user)
            elif request.POST.get("action") == "close":
                vote_close(item=item, actor=request.user)
        except VoteRefused as refusal:
            error = str(refusal)
        if not request.htmx:
            if error:
                messages.error(request, error)
            return redirect(reverse("conferences:present", args=[pk]) + f"#case-{item.position}")
        item.refresh_from_db()
    return _vote_panel(request, conference, item, error=error)


@roles(*ALL_ROLES)
def deck(request, pk):
    """The deck as PDF: landscape, one slide a page (A4, or ?paper=letter)."""
    conference = cases.conference_get_for_presenter(user=request.user, pk=pk)
    paper = request.GET.get("paper", "a4")
    if paper not in PAPERS:
        paper = "a4"
    rendered = deck_pdf(conference, paper=paper)
    audit_record(
        action=AuditEvent.Action.EXPORT,
        obj=conference,
        request=request,
        detail={"what": "slide deck", "paper": paper},
    )
    response = HttpResponse(rendered.data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="conference-{pk}-slides.pdf"'
    return response


# The audience ---------------------------------------------------------------------------------


@signed_in
def live(request, pk):
    """After checking in: the conference's open question, refreshed every two seconds."""
    conference = cases.conference_get_for_attendee(user=request.user, pk=pk)
    return render(
        request,
        "conferences/live.html",
        {
            "conference": conference,
            "member": cases.is_member(request.user, conference),
            **_question_context(request, conference),
        },
    )


def _question_context(request, conference, *, error: str = "", thanks: bool = False) -> dict:
    item = cases.open_question(conference)
    return {
        "conference": conference,
        "item": item,
        "case": item.teaching_case if item else None,
        "options": (
            [(n, chr(65 + n), text) for n, text in enumerate(item.teaching_case.vote_options)]
            if item
            else []
        ),
        "voted": bool(item and cases.has_voted(item=item, user=request.user)),
        "error": error,
        "thanks": thanks,
    }


@signed_in
def live_question(request, pk):
    conference = cases.conference_get_for_attendee(user=request.user, pk=pk)
    return render(request, "conferences/live.html#question", _question_context(request, conference))


@require_POST
@signed_in
def live_vote(request, pk):
    conference = cases.conference_get_for_attendee(user=request.user, pk=pk)
    error, thanks = "", False
    item_id, choice = request.POST.get("item", ""), request.POST.get("choice", "")
    if not (item_id.isdigit() and choice.isdigit()):
        error = "Pick one of the answers."
    else:
        item = cases.agenda_item_get(conference=conference, pk=int(item_id))
        try:
            vote_cast(item=item, user=request.user, choice=int(choice))
            thanks = True
        except VoteRefused as refusal:
            error = str(refusal)
    if request.htmx:
        return render(
            request,
            "conferences/live.html#question",
            _question_context(request, conference, error=error, thanks=thanks),
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Your answer is in. Nobody can see what you chose.")
    return redirect("conferences:live", pk=pk)

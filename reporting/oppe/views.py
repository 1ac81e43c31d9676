"""Pages for the OPPE data sources: credentials, FPPE events, policy, peer evaluations.

Who may open a page is declared here; whose data a page shows is decided in
reporting/oppe/sources.py and reporting/oppe/evaluations.py.
"""

import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from peerlearning.access import roles
from peerlearning.lib.months import default_report_year
from peerlearning.models import Membership, Role, Section, User
from reporting.oppe import evaluations as ev
from reporting.oppe.forms import (
    CredentialForm,
    CycleForm,
    EvaluatorsForm,
    FppeEventForm,
    OppePolicyForm,
    PeerEvaluationForm,
    PeriodForm,
    RandomAssignForm,
)
from reporting.oppe.models import Credential, FppeEvent, OppePolicy, OppeReferral
from reporting.oppe.sources import (
    credential_delete,
    credential_save,
    credential_state,
    credentials_status,
    fppe_event_delete,
    fppe_event_save,
    fppe_summaries,
    oppe_policy_update,
    oppe_radiologist_get_for_user,
    oppe_radiologist_viewed,
    oppe_radiologists_managed_by,
)
from reporting.oppe.tat_summary import tat_summary

leaders = roles(Role.LEADER, site_admins=True)
radiologists_only = roles(Role.RADIOLOGIST)
PAGE_SIZE = 50


def _sections_prefetch():
    return Prefetch(
        "memberships",
        queryset=Membership.objects.current()
        .filter(role=Role.RADIOLOGIST)
        .select_related("section"),
        to_attr="radiologist_memberships",
    )


# Leaders: the overview and one radiologist ---------------------------------------------------


@leaders
def oppe_home(request):
    policy = OppePolicy.load()
    period_form, start, end = PeriodForm.period(request.GET, policy)
    people = oppe_radiologists_managed_by(user=request.user)
    sections = Section.objects.filter(
        pk__in=Membership.objects.filter(user__in=people, role=Role.RADIOLOGIST).values("section")
    ).order_by("name")
    section = request.GET.get("section", "")
    if section.isdigit():
        people = people.filter(
            pk__in=Membership.objects.filter(role=Role.RADIOLOGIST, section_id=section).values(
                "user_id"
            )
        )
    page = Paginator(
        people.order_by("last_name", "first_name").prefetch_related(_sections_prefetch()),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    ids = [person.pk for person in page]
    today = timezone.localdate()
    credentials = credentials_status(
        radiologists=ids, on=today, warning_days=policy.credential_warning_days
    )
    tat = tat_summary(
        radiologists=ids, start=start, end=end, threshold_hours=policy.tat_threshold_hours
    )
    fppe = fppe_summaries(radiologists=ids, start=start, end=end)
    rows = [
        {
            "person": person,
            "credentials": credentials[person.pk],
            "tat": tat[person.pk].overall,
            "fppe": fppe[person.pk],
        }
        for person in page
    ]
    return render(
        request,
        "reporting/oppe_home.html",
        {
            "page_obj": page,
            "rows": rows,
            "policy": policy,
            "period_form": period_form,
            "start": start,
            "end": end,
            "sections": sections,
            "section": section,
        },
    )


def _radiologist_page(request, person: User, *, own: bool):
    policy = OppePolicy.load()
    period_form, start, end = PeriodForm.period(request.GET, policy)
    today = timezone.localdate()
    if own:
        evaluations = ev.evaluation_summaries_for_subject(subject=person)
    else:
        cycles = ev.cycles_visible_to(user=request.user).filter(forms__subject=person).distinct()
        evaluations = [
            ev.OwnSummary(cycle, ev.evaluation_summary(cycle=cycle, subject=person))
            for cycle in cycles
        ]
    return render(
        request,
        "reporting/oppe_radiologist.html",
        {
            "person": person,
            "own": own,
            "policy": policy,
            "period_form": period_form,
            "start": start,
            "end": end,
            "credentials": credentials_status(
                radiologists=[person], on=today, warning_days=policy.credential_warning_days
            )[person.pk],
            "tat": tat_summary(
                radiologist=person,
                start=start,
                end=end,
                threshold_hours=policy.tat_threshold_hours,
            )[person.pk],
            "fppe": fppe_summaries(radiologists=[person], start=start, end=end)[person.pk],
            "evaluations": evaluations,
            "min_evaluators": ev.SUBJECT_MIN_EVALUATORS,
            "threshold_share": policy.tat_within_threshold_percent / 100,
            # Reports (docs/reports.md): the PDF of this period, the MOC letter, a referral.
            "referral": OppeReferral.objects.filter(
                radiologist=person, period_start=start, period_end=end
            ).first(),
            "moc_year": default_report_year(today),
        },
    )


@leaders
def oppe_radiologist(request, pk: int):
    person = oppe_radiologist_get_for_user(user=request.user, pk=pk)
    if person.pk == request.user.pk:
        return redirect("reporting:oppe-mine")
    oppe_radiologist_viewed(radiologist=person, user=request.user, request=request)
    return _radiologist_page(request, person, own=False)


@radiologists_only
def oppe_mine(request):
    return _radiologist_page(request, request.user, own=True)


# Leaders: credentials -------------------------------------------------------------------------


@leaders
def oppe_credentials(request):
    policy = OppePolicy.load()
    today = timezone.localdate()
    people = oppe_radiologists_managed_by(user=request.user)
    credentials = Credential.objects.filter(radiologist__in=people).select_related("radiologist")
    flagged_only = request.GET.get("flag") == "1"
    if flagged_only:
        credentials = credentials.filter(
            expires_on__lte=today + datetime.timedelta(days=policy.credential_warning_days)
        ).order_by("expires_on")
    query = request.GET.get("q", "").strip()
    for word in query.split()[:3]:
        credentials = credentials.filter(
            Q(radiologist__first_name__icontains=word)
            | Q(radiologist__last_name__icontains=word)
            | Q(radiologist__email__icontains=word)
            | Q(issuer__icontains=word)
        )
    page = Paginator(credentials, PAGE_SIZE).get_page(request.GET.get("page"))
    flags = [
        credential_state(c, on=today, warning_days=policy.credential_warning_days) for c in page
    ]
    return render(
        request,
        "reporting/oppe_credentials.html",
        {
            "page_obj": page,
            "flags": flags,
            "flagged_only": flagged_only,
            "query": query,
            "policy": policy,
        },
    )


def _credential_form_page(request, credential: Credential | None):
    people = oppe_radiologists_managed_by(user=request.user)
    initial = {}
    if credential is None and request.GET.get("radiologist", "").isdigit():
        initial["radiologist"] = request.GET["radiologist"]
    form = CredentialForm(
        request.POST or None, instance=credential, radiologists=people, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        saved = credential_save(
            credential=form.save(commit=False),
            actor=request.user,
            request=request,
            changed=form.changed_data,
        )
        messages.success(request, f"{saved.get_kind_display()} of {saved.radiologist} saved.")
        return redirect("reporting:oppe-credentials")
    return render(
        request, "reporting/oppe_credential_form.html", {"form": form, "credential": credential}
    )


def _credential_for(request, pk: int) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related("radiologist"),
        pk=pk,
        radiologist__in=oppe_radiologists_managed_by(user=request.user),
    )


@leaders
def oppe_credential_create(request):
    return _credential_form_page(request, None)


@leaders
def oppe_credential_edit(request, pk: int):
    return _credential_form_page(request, _credential_for(request, pk))


@leaders
@require_POST
def oppe_credential_delete(request, pk: int):
    credential = _credential_for(request, pk)
    credential_delete(credential=credential, actor=request.user, request=request)
    messages.success(request, "The credential was removed.")
    return redirect("reporting:oppe-credentials")


# Leaders: FPPE events -------------------------------------------------------------------------


@leaders
def oppe_fppe(request):
    policy = OppePolicy.load()
    period_form, start, end = PeriodForm.period(request.GET, policy)
    people = oppe_radiologists_managed_by(user=request.user)
    events = (
        FppeEvent.objects.filter(radiologist__in=people, referred_on__range=(start, end))
        .select_related("radiologist")
        .order_by("-referred_on", "-pk")
    )
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reporting/oppe_fppe.html",
        {"page_obj": page, "period_form": period_form, "start": start, "end": end},
    )


def _fppe_for(request, pk: int) -> FppeEvent:
    return get_object_or_404(
        FppeEvent.objects.select_related("radiologist"),
        pk=pk,
        radiologist__in=oppe_radiologists_managed_by(user=request.user),
    )


def _fppe_form_page(request, event: FppeEvent | None):
    people = oppe_radiologists_managed_by(user=request.user)
    initial = {"referred_on": timezone.localdate()} if event is None else {}
    if event is None and request.GET.get("radiologist", "").isdigit():
        initial["radiologist"] = request.GET["radiologist"]
    form = FppeEventForm(request.POST or None, instance=event, radiologists=people, initial=initial)
    if request.method == "POST" and form.is_valid():
        fppe_event_save(
            event=form.save(commit=False),
            actor=request.user,
            request=request,
            changed=form.changed_data,
        )
        messages.success(request, "The FPPE event was saved.")
        return redirect("reporting:oppe-fppe")
    return render(request, "reporting/oppe_fppe_form.html", {"form": form, "event": event})


@leaders
def oppe_fppe_create(request):
    return _fppe_form_page(request, None)


@leaders
def oppe_fppe_edit(request, pk: int):
    return _fppe_form_page(request, _fppe_for(request, pk))


@leaders
@require_POST
def oppe_fppe_delete(request, pk: int):
    fppe_event_delete(event=_fppe_for(request, pk), actor=request.user, request=request)
    messages.success(request, "The FPPE event was removed.")
    return redirect("reporting:oppe-fppe")


# Leaders: policy ------------------------------------------------------------------------------


@leaders
def oppe_policy(request):
    form = OppePolicyForm(request.POST or None, instance=OppePolicy.load())
    if request.method == "POST" and form.is_valid():
        oppe_policy_update(
            policy=form.save(commit=False),
            actor=request.user,
            request=request,
            changed=form.changed_data,
        )
        messages.success(request, "The OPPE policy was saved.")
        return redirect("reporting:oppe-policy")
    return render(request, "reporting/oppe_policy.html", {"form": form})


# Peer evaluations: leaders ----------------------------------------------------------------------


@leaders
def evaluation_cycles(request):
    cycles = ev.cycles_with_progress(user=request.user)
    page = Paginator(cycles, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reporting/evaluation_cycles.html", {"page_obj": page})


@leaders
def evaluation_cycle_create(request):
    sections = ev.sections_led_by(user=request.user)
    form = CycleForm(request.POST or None, sections=sections)
    if request.method == "POST" and form.is_valid():
        cycle = ev.evaluation_cycle_create(actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, f"“{cycle.name}” is open. Now choose the evaluators.")
        return redirect("reporting:evaluation-cycle", pk=cycle.pk)
    return render(request, "reporting/evaluation_cycle_form.html", {"form": form})


@leaders
def evaluation_cycle(request, pk: int):
    cycle = ev.cycle_get_for_user(user=request.user, pk=pk)
    rows = ev.cycle_overview(cycle=cycle)
    summaries = ev.evaluation_summaries(cycle=cycle)
    for row in rows:
        row.summary = summaries.get(row.subject.pk)
    return render(
        request,
        "reporting/evaluation_cycle.html",
        {
            "cycle": cycle,
            "rows": rows,
            "sections": cycle.sections.all(),
            "random_form": RandomAssignForm(),
            "asked": sum(len(row.forms) for row in rows),
            "answered": sum(row.answered for row in rows),
        },
    )


@leaders
@require_POST
def evaluation_cycle_random(request, pk: int):
    cycle = ev.cycle_get_for_user(user=request.user, pk=pk)
    form = RandomAssignForm(request.POST)
    if not form.is_valid() or not cycle.is_open:
        messages.error(request, "Choose between 1 and 10 evaluators, in an open cycle.")
        return redirect("reporting:evaluation-cycle", pk=cycle.pk)
    result = ev.evaluation_assign_random(
        cycle=cycle,
        per_radiologist=form.cleaned_data["per_radiologist"],
        actor=request.user,
        request=request,
    )
    messages.success(
        request, f"{result.added} evaluation form(s) assigned; evaluators are e-mailed."
    )
    if result.short:
        names = ", ".join(person.display_name for person in result.short[:10])
        messages.warning(
            request,
            f"Not enough peers in their sections for {len(result.short)} radiologist(s): {names}. "
            "Choose evaluators from other sections by hand.",
        )
    return redirect("reporting:evaluation-cycle", pk=cycle.pk)


@leaders
@require_POST
def evaluation_cycle_close(request, pk: int):
    cycle = ev.cycle_get_for_user(user=request.user, pk=pk)
    ev.evaluation_cycle_close(cycle=cycle, actor=request.user, request=request)
    messages.success(
        request, f"“{cycle.name}” is closed. Radiologists can now read their summaries."
    )
    return redirect("reporting:evaluation-cycle", pk=cycle.pk)


def _cycle_subject(request, pk: int, user_pk: int):
    cycle = ev.cycle_get_for_user(user=request.user, pk=pk)
    subject = ev.cycle_radiologists(cycle=cycle).filter(pk=user_pk).first()
    if subject is None:
        raise Http404("This radiologist is not evaluated in this cycle.")
    return cycle, subject


@leaders
def evaluation_assign(request, pk: int, user_pk: int):
    cycle, subject = _cycle_subject(request, pk, user_pk)
    forms = list(cycle.forms.filter(subject=subject))
    answered = {form.evaluator_id for form in forms if form.is_submitted}
    form = EvaluatorsForm(
        request.POST or None,
        peers=ev.cycle_peers(cycle=cycle, subject=subject, keep=answered),
        answered=answered,
        limit=ev.MAX_EVALUATORS_PER_RADIOLOGIST,
        initial={"evaluators": [form.evaluator_id for form in forms]},
    )
    if request.method == "POST" and cycle.is_open and form.is_valid():
        added, removed = ev.evaluation_evaluators_set(
            cycle=cycle,
            subject=subject,
            evaluators=form.cleaned_data["evaluators"],
            actor=request.user,
            request=request,
        )
        messages.success(
            request, f"Evaluators of {subject.display_name}: {added} added, {removed} removed."
        )
        return redirect("reporting:evaluation-cycle", pk=cycle.pk)
    return render(
        request,
        "reporting/evaluation_assign.html",
        {"cycle": cycle, "subject": subject, "form": form, "answered": answered},
    )


@leaders
def evaluation_summary(request, pk: int, user_pk: int):
    cycle, subject = _cycle_subject(request, pk, user_pk)
    oppe_radiologist_viewed(radiologist=subject, user=request.user, request=request)
    return render(
        request,
        "reporting/evaluation_summary.html",
        {
            "cycle": cycle,
            "subject": subject,
            "summary": ev.evaluation_summary(cycle=cycle, subject=subject),
        },
    )


# Peer evaluations: evaluators and the evaluated ---------------------------------------------------


@radiologists_only
def evaluations_todo(request):
    forms = list(ev.evaluations_todo(user=request.user))
    return render(
        request,
        "reporting/evaluation_todo.html",
        {
            "pending": [form for form in forms if not form.is_submitted],
            "done": [form for form in forms if form.is_submitted],
            "today": timezone.localdate(),
        },
    )


@radiologists_only
def evaluation_form(request, pk: int):
    evaluation = ev.evaluation_get_for_evaluator(user=request.user, pk=pk)
    editable = evaluation.cycle.is_open
    form = PeerEvaluationForm(request.POST or None, instance=evaluation)
    if request.method == "POST" and editable and form.is_valid():
        ev.evaluation_submit(form=evaluation, evaluator=request.user, **form.answers())
        messages.success(
            request, f"Your evaluation of {evaluation.subject.display_name} was saved. Thank you."
        )
        return redirect("reporting:evaluations-todo")
    return render(
        request,
        "reporting/evaluation_form.html",
        {"evaluation": evaluation, "form": form, "editable": editable},
    )


@radiologists_only
def evaluation_mine(request):
    return render(
        request,
        "reporting/evaluation_mine.html",
        {
            "evaluations": ev.evaluation_summaries_for_subject(subject=request.user),
            "min_evaluators": ev.SUBJECT_MIN_EVALUATORS,
        },
    )

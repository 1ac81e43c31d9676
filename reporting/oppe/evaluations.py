"""Peer evaluations, the qualitative OPPE of figure 2: cycles, evaluators, forms, summaries.

A leader opens a cycle for sections they lead, picks evaluators (peers) for each radiologist
(by hand or "N random peers from the section"), and closes it when it is done. Evaluators
are e-mailed when first asked and reminded on fixed days until they answer.

Who sees what (anonymity towards the evaluated radiologist):

| who                         | sees                                                         |
| --------------------------- | ------------------------------------------------------------ |
| evaluator                   | only the forms they were asked to fill in                    |
| evaluated radiologist       | their own summary once the cycle is closed and at least       |
|                             | SUBJECT_MIN_EVALUATORS colleagues answered: means, count,      |
|                             | comments; never who was asked or who wrote what              |
| leader of a cycle's section | the cycle, who was asked and who answered, summaries         |
|                             | (without saying who wrote which rating or comment)           |
| site administrator          | as a leader, for every cycle                                 |
| anyone else                 | nothing: 404                                                 |
"""

import datetime
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, F, Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone

from peerlearning.access import user_sections_with_role
from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue
from peerlearning.models import AuditEvent, Membership, Role, Section, User
from reporting.oppe.models import Competency, EvaluationCycle, PeerEvaluation

# Fewer answers than this and the evaluated radiologist could guess who wrote them.
SUBJECT_MIN_EVALUATORS = 2
REMINDER_DAYS_BEFORE_DUE = (7, 1, 0)
OVERDUE_REMINDER_EVERY_DAYS = 7
MAX_EVALUATORS_PER_RADIOLOGIST = 10


# Reading: cycles ----------------------------------------------------------------------------


def sections_led_by(*, user: User) -> QuerySet[Section]:
    """Sections where this person may open a cycle (all active ones for site admins)."""
    sections = Section.objects.filter(is_active=True)
    if not user.is_staff:
        sections = sections.filter(pk__in=user_sections_with_role(user, Role.LEADER))
    return sections.order_by("name")


def cycles_visible_to(*, user: User) -> QuerySet[EvaluationCycle]:
    cycles = EvaluationCycle.objects.all()
    if not user.is_staff:
        cycles = cycles.filter(sections__in=user_sections_with_role(user, Role.LEADER)).distinct()
    return cycles


def cycle_get_for_user(*, user: User, pk: int) -> EvaluationCycle:
    cycle = cycles_visible_to(user=user).filter(pk=pk).first()
    if cycle is None:
        raise Http404("No such evaluation cycle.")
    return cycle


def cycles_with_progress(*, user: User) -> QuerySet[EvaluationCycle]:
    return (
        cycles_visible_to(user=user)
        .annotate(
            form_count=Count("forms", distinct=True),
            answered_count=Count(
                "forms", filter=Q(forms__submitted_at__isnull=False), distinct=True
            ),
            subject_count=Count("forms__subject", distinct=True),
        )
        .prefetch_related("sections")
        .order_by("-due_on", "-id")
    )


def cycle_radiologists(*, cycle: EvaluationCycle) -> QuerySet[User]:
    """Who the cycle evaluates: participating radiologists of its sections today, and anyone
    who already has evaluators in it; once closed, only the latter."""
    evaluated = Q(pk__in=cycle.forms.values("subject_id"))
    if cycle.is_open:
        in_sections = Membership.objects.participating_radiologists().filter(
            section__in=cycle.sections.all()
        )
        evaluated |= Q(pk__in=in_sections.values("user_id"))
    return User.objects.filter(evaluated).order_by("last_name", "first_name")


def cycle_peers(*, cycle: EvaluationCycle, subject: User | None = None, keep=()) -> QuerySet[User]:
    """Who may be asked to evaluate: radiologists of the cycle's sections today (and `keep`,
    people who answered already), but not the radiologist evaluated."""
    peers = User.objects.filter(
        Q(
            is_active=True,
            pk__in=Membership.objects.current()
            .filter(role=Role.RADIOLOGIST, section__in=cycle.sections.all())
            .values("user_id"),
        )
        | Q(pk__in=list(keep))
    )
    if subject is not None:
        peers = peers.exclude(pk=subject.pk)
    return peers.order_by("last_name", "first_name")


@dataclass
class SubjectRow:
    subject: User
    forms: list[PeerEvaluation] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(form.is_submitted for form in self.forms)


def cycle_overview(*, cycle: EvaluationCycle) -> list[SubjectRow]:
    """For the leader's page: each radiologist evaluated and the forms about them (two queries)."""
    rows = {user.pk: SubjectRow(user) for user in cycle_radiologists(cycle=cycle)}
    for form in cycle.forms.select_related("evaluator").order_by(
        "evaluator__last_name", "evaluator__first_name"
    ):
        rows[form.subject_id].forms.append(form)
    return list(rows.values())


# Reading: forms ---------------------------------------------------------------------------


def evaluations_todo(*, user: User) -> QuerySet[PeerEvaluation]:
    """The forms this person was asked to fill in, in open cycles, unanswered first."""
    return (
        PeerEvaluation.objects.filter(evaluator=user, cycle__closed_at__isnull=True)
        .select_related("cycle", "subject")
        .order_by(
            F("submitted_at").asc(nulls_first=True),
            "cycle__due_on",
            "subject__last_name",
            "subject__first_name",
        )
    )


def evaluation_get_for_evaluator(*, user: User, pk: int) -> PeerEvaluation:
    """A form is only ever shown to the person asked to fill it in."""
    form = (
        PeerEvaluation.objects.select_related("cycle", "subject").filter(pk=pk, evaluator=user)
    ).first()
    if form is None:
        raise Http404("No such evaluation.")
    return form


# Reading: summaries -----------------------------------------------------------------------


@dataclass
class EvaluationSummary:
    """What colleagues said about one radiologist in one cycle, without saying who."""

    cycle: EvaluationCycle
    subject_id: int
    evaluators: int
    means: dict[str, float | None]
    comments: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)
    improvement_areas: list[str] = field(default_factory=list)
    conclusions: dict[str, int] = field(default_factory=dict)

    def competencies(self) -> list[tuple[str, float | None]]:
        return [(c.label, self.means.get(c.value)) for c in Competency]

    def conclusion_counts(self) -> list[tuple[str, int]]:
        return [
            (label, self.conclusions.get(value, 0))
            for value, label in PeerEvaluation.Conclusion.choices
        ]


def _averages() -> dict:
    return {c.value: Avg(c.value) for c in Competency}


def evaluation_summaries(*, cycle: EvaluationCycle, subjects=None) -> dict[int, EvaluationSummary]:
    """Summaries of answered forms per radiologist evaluated in a cycle (three queries).

    Texts are sorted alphabetically, so their order says nothing about who wrote them or when.
    """
    answered = PeerEvaluation.objects.filter(cycle=cycle, submitted_at__isnull=False)
    if subjects is not None:
        answered = answered.filter(subject__in=subjects)
    summaries = {}
    for row in answered.values("subject_id").annotate(n=Count("id"), **_averages()).order_by():
        summaries[row["subject_id"]] = EvaluationSummary(
            cycle=cycle,
            subject_id=row["subject_id"],
            evaluators=row["n"],
            means={c.value: row[c.value] for c in Competency},
        )
    for subject_id, comments, plan, area in answered.values_list(
        "subject_id", "comments", "plan_of_action", "improvement_area"
    ):
        summary = summaries[subject_id]
        for text, bucket in ((comments, summary.comments), (plan, summary.plans)):
            if text.strip():
                bucket.append(text.strip())
        if area.strip():
            summary.improvement_areas.append(area.strip())
    for row in answered.values("subject_id", "conclusion").annotate(n=Count("id")).order_by():
        if row["conclusion"]:
            summaries[row["subject_id"]].conclusions[row["conclusion"]] = row["n"]
    for summary in summaries.values():
        summary.comments.sort(key=str.casefold)
        summary.plans.sort(key=str.casefold)
        summary.improvement_areas.sort(key=str.casefold)
    return summaries


def evaluation_summary(*, cycle: EvaluationCycle, subject: User) -> EvaluationSummary | None:
    return evaluation_summaries(cycle=cycle, subjects=[subject]).get(subject.pk)


@dataclass
class OwnSummary:
    cycle: EvaluationCycle
    summary: EvaluationSummary | None
    # Why there is no summary to show: "open" or "too_few".
    withheld: str = ""


def evaluation_summaries_for_subject(*, subject: User) -> list[OwnSummary]:
    """What a radiologist may see of their own evaluations: closed cycles with enough answers."""
    cycles = EvaluationCycle.objects.filter(forms__subject=subject).distinct().order_by("-due_on")
    result = []
    for cycle in cycles:
        if cycle.is_open:
            result.append(OwnSummary(cycle, None, "open"))
            continue
        summary = evaluation_summary(cycle=cycle, subject=subject)
        if summary is None or summary.evaluators < SUBJECT_MIN_EVALUATORS:
            result.append(OwnSummary(cycle, None, "too_few"))
        else:
            result.append(OwnSummary(cycle, summary))
    return result


# Writing ------------------------------------------------------------------------------------


def _day(day: datetime.date) -> str:
    return f"{day:%B} {day.day}"


def _link(name: str, *args) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


def _invite(cycle: EvaluationCycle, evaluator_ids) -> int:
    """Tell each newly asked evaluator once per cycle; later additions wait for reminders."""
    sent = 0
    counts = dict(
        cycle.forms.filter(evaluator_id__in=evaluator_ids, submitted_at__isnull=True)
        .values_list("evaluator_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for evaluator in User.objects.filter(pk__in=evaluator_ids, is_active=True):
        _, created = email_enqueue(
            key=f"evaluation-invite:{cycle.pk}:{evaluator.pk}",
            to=evaluator.email,
            subject=f"Peer evaluations to complete by {_day(cycle.due_on)}",
            template="evaluation_invitation",
            context={
                "evaluator": evaluator,
                "cycle": cycle,
                "count": counts.get(evaluator.pk, 0),
                "link": _link("reporting:evaluations-todo"),
            },
        )
        sent += created
    return sent


@transaction.atomic
def evaluation_cycle_create(
    *,
    actor: User,
    name: str,
    sections,
    period_start: datetime.date,
    period_end: datetime.date,
    due_on: datetime.date,
    request: HttpRequest | None = None,
) -> EvaluationCycle:
    """Open a cycle of peer evaluations for some sections."""
    cycle = EvaluationCycle(
        name=name,
        period_start=period_start,
        period_end=period_end,
        due_on=due_on,
        created_by=actor,
    )
    cycle.full_clean()
    cycle.save()
    cycle.sections.set(sections)
    audit_record(action=AuditEvent.Action.CREATE, actor=actor, obj=cycle, request=request)
    return cycle


def _check_open(cycle: EvaluationCycle) -> None:
    if not cycle.is_open:
        raise ValueError("This cycle is closed.")


@transaction.atomic
def evaluation_evaluators_set(
    *,
    cycle: EvaluationCycle,
    subject: User,
    evaluators,
    actor: User,
    request: HttpRequest | None = None,
) -> tuple[int, int]:
    """Ask exactly these peers to evaluate a radiologist; answered forms are never dropped.

    Returns (added, removed).
    """
    _check_open(cycle)
    wanted = {e.pk for e in evaluators} - {subject.pk}
    existing = {f.evaluator_id: f for f in cycle.forms.filter(subject=subject)}
    allowed = set(
        cycle_peers(cycle=cycle, subject=subject, keep=existing).values_list("pk", flat=True)
    )
    if wanted - allowed:
        raise ValueError("Evaluators must be radiologists of the cycle's sections.")
    removable = [f.pk for pk, f in existing.items() if pk not in wanted and not f.is_submitted]
    added = sorted(wanted - set(existing))
    PeerEvaluation.objects.filter(pk__in=removable).delete()
    PeerEvaluation.objects.bulk_create(
        [PeerEvaluation(cycle=cycle, subject=subject, evaluator_id=pk) for pk in added]
    )
    _invite(cycle, added)
    if added or removable:
        audit_record(
            action=AuditEvent.Action.UPDATE,
            actor=actor,
            obj=cycle,
            request=request,
            detail={"what": "evaluators", "added": len(added), "removed": len(removable)},
        )
    return len(added), len(removable)


@dataclass
class RandomAssignment:
    added: int = 0
    # Radiologists who could not get enough evaluators: too few peers in their sections.
    short: list[User] = field(default_factory=list)


@transaction.atomic
def evaluation_assign_random(
    *,
    cycle: EvaluationCycle,
    per_radiologist: int,
    actor: User,
    rng: random.Random | None = None,
    request: HttpRequest | None = None,
) -> RandomAssignment:
    """Give every radiologist of the cycle up to N evaluators, picked at random among the
    radiologists of the same section(s), those asked least often in this cycle first."""
    _check_open(cycle)
    rng = rng or random.Random()  # noqa: S311 - spreading work, not a secret
    sections = list(cycle.sections.values_list("pk", flat=True))
    peers_by_section: dict[int, set[int]] = {pk: set() for pk in sections}
    for user_id, section_id in (
        Membership.objects.current()
        .filter(role=Role.RADIOLOGIST, section__in=sections, user__is_active=True)
        .values_list("user_id", "section_id")
    ):
        peers_by_section[section_id].add(user_id)
    subjects = list(cycle_radiologists(cycle=cycle))
    subject_sections: dict[int, set[int]] = {}
    for user_id, section_id in Membership.objects.filter(
        user__in=subjects, role=Role.RADIOLOGIST, section__in=sections
    ).values_list("user_id", "section_id"):
        subject_sections.setdefault(user_id, set()).add(section_id)
    assigned: dict[int, set[int]] = {}
    load: dict[int, int] = {}
    for subject_id, evaluator_id in cycle.forms.values_list("subject_id", "evaluator_id"):
        assigned.setdefault(subject_id, set()).add(evaluator_id)
        load[evaluator_id] = load.get(evaluator_id, 0) + 1

    result = RandomAssignment()
    new_forms = []
    for subject in subjects:
        have = assigned.get(subject.pk, set())
        missing = per_radiologist - len(have)
        if missing <= 0:
            continue
        pool = set().union(*(peers_by_section[s] for s in subject_sections.get(subject.pk, ())))
        candidates = sorted(pool - have - {subject.pk})
        rng.shuffle(candidates)
        candidates.sort(key=lambda pk: load.get(pk, 0))  # stable: random among equals
        chosen = candidates[:missing]
        if len(chosen) < missing:
            result.short.append(subject)
        for pk in chosen:
            load[pk] = load.get(pk, 0) + 1
            new_forms.append(PeerEvaluation(cycle=cycle, subject=subject, evaluator_id=pk))
    PeerEvaluation.objects.bulk_create(new_forms)
    result.added = len(new_forms)
    _invite(cycle, {form.evaluator_id for form in new_forms})
    if new_forms:
        audit_record(
            action=AuditEvent.Action.UPDATE,
            actor=actor,
            obj=cycle,
            request=request,
            detail={"what": "random evaluators", "added": result.added},
        )
    return result


@transaction.atomic
def evaluation_submit(*, form: PeerEvaluation, evaluator: User, **answers) -> PeerEvaluation:
    """Save an evaluator's ratings and comments; a rating under 2 needs a plan of action."""
    if form.evaluator_id != evaluator.pk:
        raise PermissionError("Only the person asked may fill in this form.")
    _check_open(form.cycle)
    for name, value in answers.items():
        setattr(form, name, value)
    form.full_clean()
    form.submitted_at = timezone.now()
    form.save()
    return form


@transaction.atomic
def evaluation_cycle_close(
    *, cycle: EvaluationCycle, actor: User, request: HttpRequest | None = None
) -> EvaluationCycle:
    """End a cycle: reminders stop, forms freeze, radiologists see their summaries."""
    if EvaluationCycle.objects.filter(pk=cycle.pk, closed_at__isnull=True).update(
        closed_at=timezone.now()
    ):
        cycle.refresh_from_db(fields=["closed_at"])
        audit_record(
            action=AuditEvent.Action.UPDATE,
            actor=actor,
            obj=cycle,
            request=request,
            detail={"what": "closed"},
        )
    return cycle


def is_reminder_day(*, due_on: datetime.date, today: datetime.date) -> bool:
    days_left = (due_on - today).days
    if days_left >= 0:
        return days_left in REMINDER_DAYS_BEFORE_DUE
    return -days_left % OVERDUE_REMINDER_EVERY_DAYS == 0


@transaction.atomic
def evaluation_reminders_send(*, today: datetime.date | None = None) -> int:
    """Remind evaluators of unanswered forms on reminder days; at most one e-mail per
    evaluator, cycle and day however often it runs. Returns how many were queued."""
    today = today or timezone.localdate()
    queued = 0
    cycles = [
        c
        for c in EvaluationCycle.objects.filter(closed_at__isnull=True)
        if is_reminder_day(due_on=c.due_on, today=today)
    ]
    for cycle in cycles:
        pending = dict(
            cycle.forms.filter(submitted_at__isnull=True, evaluator__is_active=True)
            .values_list("evaluator_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for evaluator in User.objects.filter(pk__in=pending):
            _, created = email_enqueue(
                key=f"evaluation-reminder:{cycle.pk}:{evaluator.pk}:{today:%Y%m%d}",
                to=evaluator.email,
                subject=(
                    f"Reminder: peer evaluations due {_day(cycle.due_on)}"
                    if cycle.due_on >= today
                    else "Reminder: peer evaluations overdue"
                ),
                template="evaluation_reminder",
                context={
                    "evaluator": evaluator,
                    "cycle": cycle,
                    "count": pending[evaluator.pk],
                    "days_left": (cycle.due_on - today).days,
                    "link": _link("reporting:evaluations-todo"),
                },
            )
            queued += created
    return queued

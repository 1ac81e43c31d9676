"""Demo history for the OPPE data sources: report turnaround times, credentials, peer
evaluations and a few FPPE events.

Registered with `peerlearning.demo.history_builder`. Everything is invented: accessions start
with "DT", licence numbers are random. TAT rows go straight into the table through the
import's fast path (COPY on PostgreSQL, batched executemany on SQLite): ~20,000 rows for the
default department, over a million across five years for `--size large`.
"""

import datetime
import math
import random

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from peerlearning.demo import DemoContext, DemoSize, history_builder
from peerlearning.models import Role, User
from reporting.oppe.models import (
    Competency,
    Credential,
    EvaluationCycle,
    FppeEvent,
    PeerEvaluation,
    TurnaroundTime,
)
from reporting.oppe.tat import tat_rows_write

TAT_ROWS = {"default": 20_000, "large": 1_050_000}
FPPE_EVENTS = {"default": 6, "large": 40}
# Modality, share of the work, median turnaround in minutes (log-normal spread).
MODALITIES = [
    ("CT", 0.34, 95),
    ("MR", 0.18, 240),
    ("CR", 0.24, 60),
    ("US", 0.14, 75),
    ("NM", 0.04, 300),
    ("MG", 0.06, 600),
]
STATES = [("New York", "NY"), ("New Jersey", "NJ"), ("Connecticut", "CT"), ("Pennsylvania", "PA")]
COMMENTS = [
    "Clear, well-organized reports; referring clinicians often mention it.",
    "Always available for consults, even on busy days.",
    "Generous teacher at the conference and at the workstation.",
    "Could call critical results a little sooner on overnight shifts.",
    "Careful with protocols; catches technical problems early.",
    "Thoughtful contributions to the peer-learning conference.",
    "Reports are thorough; recommendations could be more specific.",
    "A calm, reliable colleague.",
    "",
    "",
]


def _present(ctx: DemoContext) -> bool:
    return TurnaroundTime.objects.filter(radiologist__in=ctx.people).exists() or (
        Credential.objects.filter(radiologist__in=ctx.people).exists()
    )


def _wipe(people: QuerySet[User]) -> None:
    EvaluationCycle.objects.filter(created_by__in=people).delete()
    PeerEvaluation.objects.filter(Q(subject__in=people) | Q(evaluator__in=people)).delete()
    for model in (TurnaroundTime, Credential, FppeEvent):
        model.objects.filter(radiologist__in=people).delete()


@history_builder("oppe", order=300, present=_present, wipe=_wipe)
def build_oppe(ctx: DemoContext, rng: random.Random, size: DemoSize) -> dict[str, int]:
    spans = _radiologist_spans(ctx)
    counts = {TurnaroundTime._meta.label: _turnaround_times(ctx, rng, spans)}
    counts[Credential._meta.label] = _credentials(ctx, rng, spans)
    counts[FppeEvent._meta.label] = _fppe_events(ctx, rng, spans)
    cycles, forms = _evaluations(ctx, rng)
    counts[EvaluationCycle._meta.label] = cycles
    counts[PeerEvaluation._meta.label] = forms
    return counts


def _radiologist_spans(ctx: DemoContext) -> dict[int, tuple[User, datetime.date, datetime.date]]:
    """Each radiologist's first and last working day in the history."""
    spans: dict[int, tuple[User, datetime.date, datetime.date]] = {}
    for m in ctx.memberships:
        if m.role != Role.RADIOLOGIST:
            continue
        until = min(m.ended_on or ctx.today, ctx.today) - datetime.timedelta(days=1)
        since = max(m.started_on, ctx.history_start)
        if until <= since:
            continue
        _, first, last = spans.get(m.user_id, (m.user, since, until))
        spans[m.user_id] = (m.user, min(first, since), max(last, until))
    return spans


def _turnaround_times(ctx: DemoContext, rng: random.Random, spans) -> int:
    total_rows = TAT_ROWS.get(ctx.size.name, TAT_ROWS["default"])
    total_days = sum((last - first).days for _, first, last in spans.values()) or 1
    zone = timezone.get_current_timezone()
    now = timezone.now()
    imported_at = now
    names = [m for m, _, _ in MODALITIES]
    weights = [w for _, w, _ in MODALITIES]
    log_medians = {m: math.log(median) for m, _, median in MODALITIES}

    def rows():
        number = 0
        for user, first, last in sorted(spans.values(), key=lambda s: s[0].email):
            days = (last - first).days
            speed = math.log(rng.uniform(0.6, 2.6))  # some read faster than others
            for _ in range(round(total_rows * days / total_days)):
                day = first + datetime.timedelta(days=rng.randrange(days))
                minute = rng.randrange(7 * 60, 22 * 60)
                completed = datetime.datetime.combine(
                    day, datetime.time(minute // 60, minute % 60), tzinfo=zone
                )
                modality = rng.choices(names, weights)[0]
                seconds = int(60 * rng.lognormvariate(log_medians[modality] + speed, 0.9))
                finalized = completed + datetime.timedelta(seconds=seconds)
                if finalized > now:
                    continue
                number += 1
                yield (
                    f"DT{number:09d}",
                    user.pk,
                    modality,
                    completed,
                    finalized,
                    seconds,
                    imported_at,
                )

    columns = (
        "accession",
        "radiologist_id",
        "modality",
        "exam_completed_at",
        "report_finalized_at",
        "turnaround_seconds",
        "imported_at",
    )
    with connection.cursor() as cursor:
        return tat_rows_write(
            cursor, connection.ops.quote_name(TurnaroundTime._meta.db_table), columns, rows()
        )


def _credentials(ctx: DemoContext, rng: random.Random, spans) -> int:
    today = ctx.today
    made = []
    for user, _, _ in sorted(spans.values(), key=lambda s: s[0].email):
        state, code = rng.choice(STATES)
        issued = today - datetime.timedelta(days=rng.randrange(200, 3000))
        # Most licences are current; a few have lapsed or are about to.
        draw = rng.random()
        if draw < 0.04:
            expires = today - datetime.timedelta(days=rng.randrange(1, 60))
        elif draw < 0.14:
            expires = today + datetime.timedelta(days=rng.randrange(0, 90))
        else:
            expires = today + datetime.timedelta(days=rng.randrange(91, 730))
        made.append(
            Credential(
                radiologist=user,
                kind=Credential.Kind.STATE_LICENSE,
                issuer=state,
                number=f"{code}-{rng.randrange(10**6):06d}",
                issued_on=issued,
                expires_on=expires,
            )
        )
        certified = datetime.date(today.year - rng.randrange(1, 30), 6, 1)
        lifetime = certified.year < 2002  # ABR certificates before 2002 do not expire
        made.append(
            Credential(
                radiologist=user,
                kind=Credential.Kind.BOARD_CERTIFICATION,
                issuer="American Board of Radiology",
                number=f"ABR-{rng.randrange(10**5):05d}",
                issued_on=certified,
                expires_on=None
                if lifetime
                else datetime.date(today.year + rng.randrange(1, 10), 3, 1),
            )
        )
        if rng.random() < 0.7:
            made.append(
                Credential(
                    radiologist=user,
                    kind=Credential.Kind.DEA,
                    issuer="DEA",
                    number=f"B{rng.choice('ABCDEFGH')}{rng.randrange(10**7):07d}",
                    issued_on=today - datetime.timedelta(days=rng.randrange(30, 1000)),
                    expires_on=today + datetime.timedelta(days=rng.randrange(30, 1000)),
                )
            )
    Credential.objects.bulk_create(made, batch_size=500)
    return len(made)


def _fppe_events(ctx: DemoContext, rng: random.Random, spans) -> int:
    people = [user for user, _, _ in sorted(spans.values(), key=lambda s: s[0].email)]
    leader = ctx.logins.get("leader")
    D = FppeEvent.Disposition
    dispositions = [D.PENDING, D.NO_ACTION, D.NO_ACTION, D.LETTER_OF_INFORMATION, D.TREND,
                    D.LETTER_OF_EDUCATION, D.VERBAL_INTERVENTION]  # fmt: skip
    events = []
    for i in range(FPPE_EVENTS.get(ctx.size.name, FPPE_EVENTS["default"])):
        events.append(
            FppeEvent(
                radiologist=rng.choice(people),
                referred_on=ctx.today - datetime.timedelta(days=rng.randrange(10, 700)),
                behaviour_concern=rng.random() < 0.2,
                reviewed_at_committee=rng.random() < 0.15,
                other_measure=rng.random() < 0.05,
                from_oppe=rng.random() < 0.1,
                disposition=rng.choice(dispositions),
                reference=f"MSO-{ctx.today.year - 1}-{i + 1:03d}",
                created_by=leader,
            )
        )
    FppeEvent.objects.bulk_create(events)
    return len(events)


def _evaluations(ctx: DemoContext, rng: random.Random) -> tuple[int, int]:
    """Last year's closed cycle and this year's open one, in the first section."""
    section = ctx.sections[0]
    leader = ctx.logins.get("leader")
    me = ctx.logins.get("radiologist")
    today = ctx.today
    zone = timezone.get_current_timezone()
    cycles = forms = 0
    last_year, this_year = today.year - 1, today.year
    # Name, year evaluated, due date, closed, share of forms answered.
    closed_due = min(datetime.date(this_year, 1, 31), today - datetime.timedelta(days=14))
    open_due = today + datetime.timedelta(days=21)
    specs = [
        (f"{section.name} peer evaluations {last_year}", last_year, closed_due, True, 0.9),
        (f"{section.name} peer evaluations {this_year}", this_year, open_due, False, 0.4),
    ]
    for name, year, due, closed, answered in specs:
        on = min(datetime.date(year, 12, 31), today)
        subjects = ctx.radiologists(section=section, on=on)
        peers = [u for u in ctx.members(Role.RADIOLOGIST, section=section, on=on) if u.is_active]
        if len(peers) < 3:
            continue
        due_moment = datetime.datetime.combine(due, datetime.time(17), tzinfo=zone)
        latest = min(due_moment, timezone.now())
        cycle = EvaluationCycle.objects.create(
            name=name,
            period_start=datetime.date(year, 1, 1),
            period_end=datetime.date(year, 12, 31),
            due_on=due,
            created_by=leader,
            created_at=due_moment - datetime.timedelta(days=45),
            closed_at=due_moment + datetime.timedelta(days=7) if closed else None,
        )
        cycle.sections.add(section)
        cycles += 1
        made = []
        for subject in sorted(subjects, key=lambda u: u.email):
            pool = sorted((p for p in peers if p != subject), key=lambda u: u.email)
            chosen = rng.sample(pool, min(3, len(pool)))
            # The demo radiologist has a few evaluations to do in the open cycle.
            wanted = not closed and me is not None and me != subject and me not in chosen
            if wanted and sum(f.evaluator == me for f in made) < 3:
                chosen[-1] = me
            for evaluator in chosen:
                form = PeerEvaluation(cycle=cycle, subject=subject, evaluator=evaluator)
                if rng.random() < answered and (closed or evaluator != me):
                    _fill(form, rng, latest)
                made.append(form)
        PeerEvaluation.objects.bulk_create(made)
        forms += len(made)
    return cycles, forms


def _fill(form: PeerEvaluation, rng: random.Random, latest: datetime.datetime) -> None:
    for competency in Competency:
        setattr(form, competency.value, rng.choices([2, 3, 4, 5], [2, 30, 45, 23])[0])
    form.conclusion = (
        PeerEvaluation.Conclusion.MEETS
        if rng.random() < 0.9
        else PeerEvaluation.Conclusion.IMPROVEMENT
    )
    if form.conclusion != PeerEvaluation.Conclusion.MEETS:
        form.improvement_area = "Timeliness of critical result communication"
    form.comments = rng.choice(COMMENTS)
    form.submitted_at = latest - datetime.timedelta(days=rng.randrange(1, 30))

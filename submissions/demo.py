"""Demo history: a year of synthetic submissions (five years, over 60,000, for `--size large`).

Registered with `peerlearning.demo.history_builder`. Everything is invented: accession
numbers start with "DEMO", findings come from the short lists below. Rows are written with
one `executemany` per table, so seeding takes the same few queries at any size.
"""

import datetime
import random
from collections.abc import Iterable

from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from peerlearning.demo import DemoContext, DemoSize, demo_people, history_builder
from peerlearning.models import Role, User
from submissions.models import (
    ActionKind,
    DiscrepancyType,
    ReaderResponse,
    Reason,
    RequiredAction,
    Significance,
    Submission,
    Urgency,
)

FINDINGS = [
    "a small subdural hematoma along the left convexity",
    "an acute lacunar infarct in the left internal capsule",
    "a segmental pulmonary embolus in the right lower lobe",
    "an 8 mm solid nodule in the right lower lobe",
    "a nondisplaced fracture of the left sixth rib",
    "early appendicitis with periappendiceal fat stranding",
    "free air under the right hemidiaphragm",
    "an L1 compression fracture",
    "a scaphoid waist fracture",
    "a 2 cm adrenal nodule",
    "thrombosis of the left transverse sinus",
    "a partial tear of the supraspinatus tendon",
    "an intussusception in the right lower quadrant",
    "a contained rupture of an abdominal aortic aneurysm",
    "a retained surgical sponge in the pelvis",
    "a dilated common bile duct with a distal stone",
    "an enlarging thyroid nodule",
    "a small pneumothorax at the right apex",
    "posterior reversible encephalopathy changes",
    "a slipped capital femoral epiphysis",
]
ALTERNATIVES = [
    "artefact",
    "a normal variant",
    "chronic change",
    "post-operative change",
    "volume averaging",
]
LEARNING_POINTS = [
    "Review the vertex and the skull base on every head CT.",
    "Check the lung bases on abdominal CT.",
    "Compare with priors before calling a finding new or stable.",
    "Use the bone window for every trauma study.",
    "Call the referring clinician directly for unexpected urgent findings.",
    "Follow the protocol for incidental adrenal nodules.",
    "Look at the scout image.",
    "A second look at the lateral view pays off.",
    "Report the recommendation, not just the finding.",
    "Coronal reformats catch what axial images hide.",
]
TEACHING = [
    "Classic appearance of {finding}; a good teaching case.",
    "Unusual presentation of {finding}.",
    "Textbook example of {finding} with correlative follow-up.",
]
GREAT_CATCH = [
    "Excellent pick-up of {finding} on a busy overnight shift.",
    "Subtle {finding} recognised and communicated promptly.",
]

REASON_WEIGHTS = [
    (Reason.DISCREPANCY, 55),
    (Reason.GREAT_CATCH, 18),
    (Reason.INTERESTING, 22),
    (Reason.OTHER, 5),
]
DETAIL_WEIGHTS = [
    (DiscrepancyType.PERCEPTUAL, 45),
    (DiscrepancyType.INTERPRETIVE, 30),
    (DiscrepancyType.COMMUNICATION, 12),
    (DiscrepancyType.TECHNICAL, 8),
    (DiscrepancyType.OTHER, 5),
]
ACTION_WEIGHTS = [
    ((), 40),
    ((ActionKind.ADDENDUM,), 30),
    ((ActionKind.ADDENDUM, ActionKind.CONTACT_CLINICIAN), 12),
    ((ActionKind.CONTACT_CLINICIAN,), 8),
    ((ActionKind.FOLLOW_UP_IMAGING,), 7),
    ((ActionKind.OTHER,), 3),
]


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _present(ctx: DemoContext) -> bool:
    return Submission.objects.filter(submitter__in=demo_people()).exists()


def _wipe(people: QuerySet[User]) -> None:
    # Submissions protect their submitter and reader: they go before the people do.
    Submission.objects.filter(Q(submitter__in=people) | Q(original_reader__in=people)).delete()


def _months(ctx: DemoContext) -> list[datetime.date]:
    months = ctx.months()
    # A year for the default department; the whole history (five years) for the large one.
    return months if ctx.size.history_years >= 5 else months[-13:]


@history_builder("submissions", order=100, present=_present, wipe=_wipe)
def build_submissions(ctx: DemoContext, rng: random.Random, size: DemoSize) -> dict[str, int]:
    now = timezone.now()
    tz = timezone.get_current_timezone()
    # How keen each person is: most submit two to five cases a month, a few far more or less.
    keenness: dict[int, float] = {}
    submissions: list[dict] = []
    actions: list[tuple[str, dict]] = []
    serial = rng.randrange(10_000_000, 20_000_000)

    for month in _months(ctx):
        mid = month.replace(day=15)
        days_in_month = ((month + datetime.timedelta(days=32)).replace(day=1) - month).days
        for section in ctx.sections:
            radiologists = ctx.radiologists(section=section, on=mid)
            trainees = ctx.members(Role.TRAINEE, section=section, on=mid)
            for person in radiologists + trainees:
                mean = keenness.setdefault(
                    person.pk, max(0.3, rng.gauss(4.3, 1.6)) if person in radiologists else 0.8
                )
                for _ in range(_poisson(rng, mean)):
                    created = datetime.datetime.combine(
                        month + datetime.timedelta(days=rng.randrange(days_in_month)),
                        datetime.time(rng.randrange(7, 23), rng.randrange(60)),
                        tzinfo=tz,
                    )
                    if created > now or created.date() < ctx.history_start:
                        continue
                    serial += rng.randrange(1, 400)
                    row, kinds = _submission(
                        rng, person, section, radiologists, created, now, f"DEMO{serial}"
                    )
                    made = [_action(rng, row, kind) for kind in kinds]
                    row["next_action_due_at"] = min(
                        (a["due_at"] for a in made if a["done_at"] is None), default=None
                    )
                    submissions.append(row)
                    actions.extend((row["accession_number"], action) for action in made)

    _insert_many(Submission, submissions)
    ids = dict(
        Submission.objects.filter(accession_number__startswith="DEMO").values_list(
            "accession_number", "id"
        )
    )
    _insert_many(RequiredAction, [{**values, "submission_id": ids[acc]} for acc, values in actions])
    return {
        Submission._meta.label: len(submissions),
        RequiredAction._meta.label: len(actions),
    }


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: plenty for means below ten.
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _submission(rng, person, section, colleagues, created, now, accession):
    reason = _pick(rng, REASON_WEIGHTS)
    finding = rng.choice(FINDINGS)
    others = [c for c in colleagues if c.pk != person.pk]
    reader = None
    if others and rng.random() < {"discrepancy": 0.9, "great_catch": 0.85}.get(reason, 0.5):
        reader = rng.choice(others)
    detail, kinds, description = "", (), ""
    if reason == Reason.DISCREPANCY:
        detail = _pick(rng, DETAIL_WEIGHTS)
        kinds = _pick(rng, ACTION_WEIGHTS)
        description = {
            DiscrepancyType.PERCEPTUAL: f"There is {finding}, not mentioned in the report.",
            DiscrepancyType.INTERPRETIVE: (
                f"The report describes {finding} as {rng.choice(ALTERNATIVES)}."
            ),
            DiscrepancyType.COMMUNICATION: (
                f"The report describes {finding}, but the finding was not communicated."
            ),
            DiscrepancyType.TECHNICAL: f"{finding.capitalize()} was partly outside the field.",
        }.get(detail, f"Second look at {finding}.")
    elif reason == Reason.GREAT_CATCH:
        description = rng.choice(GREAT_CATCH).format(finding=finding)
    elif reason == Reason.INTERESTING:
        description = rng.choice(TEACHING).format(finding=finding)
    else:
        description = f"Worth discussing: {finding}."
    urgent = bool(kinds) and rng.random() < 0.15
    age = now - created
    # Most cases close within weeks; nothing older than a quarter is left open.
    closed = age > datetime.timedelta(days=90) or (
        age > datetime.timedelta(days=21) and rng.random() < 0.9
    )
    sent = created + datetime.timedelta(minutes=rng.randrange(1, 30)) if reader else None
    acknowledged = None
    if sent and (closed or rng.random() < 0.6):
        acknowledged = min(now, sent + datetime.timedelta(hours=rng.randrange(1, 96)))
    status = (
        Submission.Status.CLOSED
        if closed
        else Submission.Status.ACKNOWLEDGED
        if acknowledged
        else Submission.Status.FEEDBACK_SENT
        if sent
        else Submission.Status.SUBMITTED
    )
    row = {
        "section_id": section.pk,
        "submitter_id": person.pk,
        "accession_number": accession,
        "reason": reason,
        "reason_detail": detail,
        "description": description,
        "learning_point": rng.choice(LEARNING_POINTS) if rng.random() < 0.8 else "",
        "urgency": Urgency.URGENT if urgent else Urgency.ROUTINE,
        "attested_at": created if reason == Reason.DISCREPANCY else None,
        "submitter_signed": reason in (Reason.GREAT_CATCH, Reason.INTERESTING)
        and rng.random() < 0.5,
        "original_reader_id": reader.pk if reader else None,
        "reader_named_by_submitter": reader is not None,
        "feedback_description": description,
        "feedback_learning_point": "",
        "status": status,
        "created_at": created,
        "updated_at": acknowledged or sent or created,
        "feedback_sent_at": sent,
        "reader_response": _pick(
            rng,
            [
                (ReaderResponse.AGREE, 70),
                (ReaderResponse.ACKNOWLEDGED, 22),
                (ReaderResponse.DISAGREE, 8),
            ],
        )
        if acknowledged
        else "",
        "acknowledged_at": acknowledged,
        "closed_at": (acknowledged or sent or created)
        + datetime.timedelta(days=rng.randrange(1, 14))
        if closed
        else None,
        "significance": _pick(
            rng, [(Significance.NONE, 30), (Significance.MINOR, 55), (Significance.MAJOR, 15)]
        )
        if closed and reason == Reason.DISCREPANCY
        else "",
        "conference_candidate": rng.random() < 0.12,
        "counted": True,
        "not_counted_reason": "",
    }
    if rng.random() < 0.03:
        row.update(counted=False, not_counted_reason="no_learning_value")
    row["feedback_learning_point"] = row["learning_point"]
    return row, kinds


def _action(rng: random.Random, row: dict, kind: str) -> dict:
    window = datetime.timedelta(hours=24 if row["urgency"] == Urgency.URGENT else 72)
    due = row["created_at"] + window
    done = None
    if row["status"] == Submission.Status.CLOSED or rng.random() < 0.8:
        done = row["created_at"] + datetime.timedelta(hours=rng.randrange(1, 60))
        done = min(done, timezone.now())
    return {
        "kind": kind,
        "detail": "Discuss at the tumour board" if kind == ActionKind.OTHER else "",
        "due_at": due,
        "done_at": done,
        "done_on": timezone.localtime(done).date() if done else None,
        "done_by_id": row["original_reader_id"] if done else None,
        "done_note": "",
        "escalated_at": due if done is None or done > due else None,
    }


def _insert_many(model: type[Model], rows: Iterable[dict]) -> None:
    """One INSERT run with executemany: a single query whatever the number of rows."""
    rows = list(rows)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    # Table and column names come from the model; every value travels as a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    prepared = [
        [
            f.get_db_prep_save(row[f.attname] if f.attname in row else f.get_default(), connection)
            for f in fields
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)

"""Demo history: two conferences per section a month, their attendance, improvement actions.

Registered with `peerlearning.demo.history_builder` (see docs/demo-data.md). Conferences
fall on the second and fourth Wednesday at 07:00, an hour long, half online; past ones are
held (a few cancelled), this month's later ones and next month's are scheduled. Each
radiologist has their own habit of coming (55-95%), most stay to the end and some leave
early; trainees come often; attendance is recorded by Zoom or Teams import, roster or
self check-in, as a real program's would be. Neuroradiology allows credit for recordings,
and a few who missed a meeting attest to having watched it. Everything is bulk-inserted.
"""

import datetime
import random
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from conferences.attendance.models import Attendance
from conferences.cases import demo as cases_demo  # noqa: F401 (registers the teaching cases)
from conferences.meetings.models import (
    CHECK_IN_ALPHABET,
    CHECK_IN_LENGTH,
    Conference,
    ConferenceSettings,
    ImprovementAction,
    ImprovementActionChange,
)
from peerlearning.demo import BATCH_SIZE, DemoContext, DemoSize, history_builder
from peerlearning.models import Role

TOPICS = [
    "Search patterns that catch the second finding",
    "Satisfaction of search",
    "Great catches of the month",
    "Communication of critical results",
    "Incidental findings and follow-up",
    "Protocol pitfalls",
    "Mimics and variants",
    "Post-operative imaging",
    "Emergency cases revisited",
    "Interesting cases",
]
LEARNING_POINTS = [
    "Review the skull base and the orbits on every head CT.",
    "Check the lung bases on abdominal CT, and the upper abdomen on chest CT.",
    "Compare with the oldest available prior, not only the most recent one.",
    "Call the referring clinician for unexpected findings, and document the call.",
    "State a follow-up recommendation with an interval when one is needed.",
    "Use the structured template's impression for every critical finding.",
    "Window the bones on every trauma CT.",
    "When the history and the images disagree, say so in the report.",
]
ACTIONS = [
    ("Thin-slice reconstructions for suspected dissection", "protocol"),
    ("Add an incidental adrenal nodule line to the template", "report_template"),
    ("Closed-loop communication for critical results", "communication"),
    ("Hanging protocol shows the prior study by default", "equipment"),
    ("Teaching session on satisfaction of search for fellows", "education"),
    ("Follow-up recommendation wording agreed with primary care", "communication"),
    ("Contrast timing for pancreatic protocol", "protocol"),
    ("Checklist for post-operative spine MRI", "report_template"),
    ("PACS display of outside images", "equipment"),
    ("Quarterly missed-fracture review", "education"),
]
OUTCOMES = [
    "Done; no repeat in the following quarter.",
    "Template updated and circulated to the group.",
    "Agreed with the referring service; audit planned in six months.",
    "Vendor change request completed.",
]
DURATION = 60
SAMPLE_ZOOM = "https://zoom.example-hospital.org/j/{}"


def _wednesdays(month: datetime.date) -> list[datetime.date]:
    first = month + datetime.timedelta(days=(2 - month.weekday()) % 7)
    return [first + datetime.timedelta(days=7), first + datetime.timedelta(days=21)]


def _codes(rng: random.Random, taken: set[str]):
    while True:
        code = "".join(rng.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_LENGTH))
        if code not in taken:
            taken.add(code)
            yield code


def _present(ctx: DemoContext) -> bool:
    return Conference.objects.filter(created_by__in=ctx.people).exists()


def _wipe(people: QuerySet) -> None:
    ImprovementAction.objects.filter(created_by__in=people).delete()
    Conference.objects.filter(created_by__in=people).delete()


@history_builder("conferences", order=200, present=_present, wipe=_wipe)
def build_conferences(ctx: DemoContext, rng: random.Random, size: DemoSize) -> dict[str, int]:
    tz = timezone.get_default_timezone()
    today = ctx.today
    months = ctx.months()
    months.append((months[-1] + datetime.timedelta(days=32)).replace(day=1))
    codes = _codes(rng, set(Conference.objects.values_list("check_in_code", flat=True)))
    settings = {s.pk: ConferenceSettings.objects.get_or_create(section=s)[0] for s in ctx.sections}
    # Neuroradiology (the demo sign-ins' section) gives credit for watching recordings.
    ConferenceSettings.objects.filter(pk=settings[ctx.sections[0].pk].pk).update(
        recording_credit_allowed=True
    )
    settings[ctx.sections[0].pk].recording_credit_allowed = True

    conferences: list[Conference] = []
    champion_of = {}
    for section in ctx.sections:
        champions = ctx.members(Role.CHAMPION, section=section)
        champion_of[section.pk] = champions[0] if champions else None
        for month in months:
            for day in _wednesdays(month):
                if day < ctx.history_start:
                    continue
                starts_at = datetime.datetime.combine(day, datetime.time(7), tzinfo=tz)
                online = rng.random() < 0.5
                status = Conference.Status.HELD if day < today else Conference.Status.SCHEDULED
                if status == Conference.Status.HELD and rng.random() < 0.03:
                    status = Conference.Status.CANCELLED
                conferences.append(
                    Conference(
                        section=section,
                        title=f"{section.name} peer learning: {rng.choice(TOPICS)}",
                        starts_at=starts_at,
                        ends_at=starts_at + datetime.timedelta(minutes=DURATION),
                        location="" if online else f"{section.name} reading room",
                        virtual_url=SAMPLE_ZOOM.format(rng.randrange(10**10, 10**11))
                        if online or rng.random() < 0.5
                        else "",
                        cme_hours=Decimal("1.00"),
                        status=status,
                        learning_points="\n".join(rng.sample(LEARNING_POINTS, 2))
                        if status == Conference.Status.HELD
                        else "",
                        check_in_code=next(codes),
                        created_by=champion_of[section.pk],
                        created_at=starts_at - datetime.timedelta(days=30),
                        updated_at=starts_at - datetime.timedelta(days=30),
                    )
                )
    Conference.objects.bulk_create(conferences, batch_size=BATCH_SIZE)

    Presenter = Conference.presenters.through
    presenters = [
        Presenter(conference_id=c.pk, user_id=champion_of[c.section_id].pk)
        for c in conferences
        if champion_of[c.section_id] is not None
    ]
    Presenter.objects.bulk_create(presenters, batch_size=BATCH_SIZE)

    attendance = list(_attendance(ctx, rng, conferences, settings))
    Attendance.objects.bulk_create(attendance, batch_size=BATCH_SIZE)
    actions, changes = _actions(ctx, rng, conferences, champion_of)
    return {
        Conference._meta.label: len(conferences),
        Presenter._meta.label: len(presenters),
        Attendance._meta.label: len(attendance),
        ImprovementAction._meta.label: actions,
        ImprovementActionChange._meta.label: changes,
    }


def _attendance(ctx: DemoContext, rng: random.Random, conferences, settings):
    habit: dict[int, float] = {}
    via_choices = [
        Attendance.Via.ZOOM,
        Attendance.Via.TEAMS,
        Attendance.Via.ROSTER,
        Attendance.Via.SELF_CHECK_IN,
    ]
    for conference in conferences:
        if conference.status != Conference.Status.HELD:
            continue
        day = timezone.localtime(conference.starts_at).date()
        rule = settings[conference.section_id]
        threshold = rule.credit_threshold(DURATION)
        usual = (
            rng.choices(via_choices[:2], [4, 1])[0]
            if conference.virtual_url
            else rng.choices(via_choices[2:], [3, 2])[0]
        )
        people = [
            (user, Attendance.Kind.ATTENDING, None)
            for user in ctx.radiologists(section=conference.section, on=day)
        ]
        people += [
            (user, Attendance.Kind.TRAINEE, 0.8)
            for user in ctx.members(Role.TRAINEE, section=conference.section, on=day)
        ]
        for user, kind, chance in people:
            if chance is None:
                chance = habit.setdefault(user.pk, rng.uniform(0.55, 0.95))
            if rng.random() >= chance:
                if (
                    kind == Attendance.Kind.ATTENDING
                    and rule.recording_credit_allowed
                    and rng.random() < 0.15
                ):
                    yield Attendance(
                        conference=conference,
                        user=user,
                        kind=kind,
                        minutes_present=0,
                        credited=True,
                        recorded_via=Attendance.Via.RECORDING,
                        recorded_by=user,
                        recorded_at=conference.ends_at
                        + datetime.timedelta(days=rng.randint(1, 20)),
                    )
                continue
            # Most stay to the end; some leave early or join late.
            early = rng.random() < 0.12
            minutes = rng.randint(5, 40) if early else DURATION - rng.randint(0, 8)
            via = Attendance.Via.SELF_CHECK_IN if rng.random() < 0.1 else usual
            yield Attendance(
                conference=conference,
                user=user,
                kind=kind,
                minutes_present=minutes,
                credited=minutes >= threshold,
                recorded_via=via,
                recorded_at=conference.ends_at,
            )
        for guest in range(rng.choice([0, 0, 0, 1, 2])):
            yield Attendance(
                conference=conference,
                guest_name=f"Visitor {guest + 1} (external)",
                kind=Attendance.Kind.GUEST,
                minutes_present=rng.randint(20, DURATION),
                credited=False,
                recorded_via=usual,
                recorded_at=conference.ends_at,
            )


def _action_status(rng: random.Random, age_days: int) -> str:
    """Young actions are proposed or under way; most older ones are done, a few dropped."""
    status = ImprovementAction.Status
    if age_days <= 30:
        return rng.choices([status.PROPOSED, status.IN_PROGRESS], [3, 2])[0]
    weights = [5, 4, 1] if age_days <= 120 else [2, 7, 1] if age_days <= 365 else [0.5, 8.5, 1]
    return rng.choices([status.IN_PROGRESS, status.DONE, status.ABANDONED], weights)[0]


def _actions(ctx: DemoContext, rng: random.Random, conferences, champion_of) -> tuple[int, int]:
    tz = timezone.get_default_timezone()
    actions = []
    for conference in conferences:
        if conference.status != Conference.Status.HELD or rng.random() > 0.35:
            continue
        day = timezone.localtime(conference.starts_at).date()
        age = (ctx.today - day).days
        title, category = rng.choice(ACTIONS)
        status = _action_status(rng, age)
        closed = status in (ImprovementAction.Status.DONE, ImprovementAction.Status.ABANDONED)
        escalated = rng.random() < 0.25
        owners = ctx.radiologists(section=conference.section, on=day) or [
            champion_of[conference.section_id]
        ]
        created = datetime.datetime.combine(day, datetime.time(9), tzinfo=tz)
        actions.append(
            ImprovementAction(
                section_id=conference.section_id,
                title=title,
                description="Discussed at the conference; see its learning points.",
                category=category,
                conference=conference,
                owner=rng.choice(owners),
                due_on=day + datetime.timedelta(days=rng.choice([30, 60, 90])),
                status=status,
                escalated=escalated,
                escalated_at=created if escalated else None,
                outcome=rng.choice(OUTCOMES) if status == ImprovementAction.Status.DONE else "",
                closed_on=min(ctx.today, day + datetime.timedelta(days=rng.randint(20, 120)))
                if closed
                else None,
                created_by=champion_of[conference.section_id],
                created_at=created,
                updated_at=created,
            )
        )
    ImprovementAction.objects.bulk_create(actions, batch_size=BATCH_SIZE)
    changes = [
        ImprovementActionChange(
            action=action,
            changed_by=action.created_by,
            changed_at=action.created_at,
            created=True,
            changes={"title": ["", action.title], "status": ["", "Proposed"]},
        )
        for action in actions
    ]
    changes += [
        ImprovementActionChange(
            action=action,
            changed_by=action.created_by,
            changed_at=datetime.datetime.combine(action.closed_on, datetime.time(10), tzinfo=tz),
            changes={"status": ["Proposed", action.get_status_display()]},
        )
        for action in actions
        if action.closed_on
    ]
    ImprovementActionChange.objects.bulk_create(changes, batch_size=BATCH_SIZE)
    return len(actions), len(changes)

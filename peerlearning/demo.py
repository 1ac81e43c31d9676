"""A synthetic demo department: sections, people and their roles, then their history.

Everything is invented: names are random pairs from the lists below, e-mail addresses are
at example-hospital.org, NPIs are valid in form only. The data is for laptops and demos;
`seed_demo` refuses to run without DEBUG. See docs/demo-data.md.

The department is built here; each app adds its history (submissions, conferences,
attendance, turnaround times) by registering a *history builder* in its own `demo.py`:

    @history_builder("submissions", order=100, present=lambda ctx: ...)
    def build_submissions(ctx: DemoContext, rng: random.Random, size: DemoSize):
        return bulk_insert(Submission, (Submission(...) for ... in ctx.months()))
"""

import datetime
import itertools
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from peerlearning.models import Membership, Role, Section, SitePolicy, User

# One password for every demo person, published in the command's output and the docs.
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105
DEFAULT_SEED = 1109
PEOPLE_DOMAIN = "example-hospital.org"
LOGIN_DOMAIN = "demo.example-hospital.org"
BATCH_SIZE = 500

# The fixed sign-ins, in the order they are printed.
LOGIN_KEYS = ("radiologist", "champion", "assistant", "leader", "quality", "trainee", "admin")
LOGIN_LABELS = {
    "radiologist": "Radiologist",
    "champion": "PL champion + radiologist",
    "assistant": "Admin assistant",
    "leader": "Department leader + radiologist",
    "quality": "Quality team",
    "trainee": "Trainee (fellow)",
    "admin": "Site administrator",
}


def login_email(key: str) -> str:
    return f"{key}@{LOGIN_DOMAIN}"


# (slug, name, relative headcount). The first two match the test personas' sections.
SECTIONS = [
    ("neuroradiology", "Neuroradiology", 3),
    ("body", "Body imaging", 4),
    ("musculoskeletal", "Musculoskeletal", 2),
    ("pediatric", "Pediatric radiology", 2),
    ("breast", "Breast imaging", 2),
    ("cardiothoracic", "Cardiothoracic", 2),
    ("emergency", "Emergency radiology", 3),
    ("nuclear-medicine", "Nuclear medicine", 1),
    ("interventional", "Interventional radiology", 2),
    ("ultrasound", "Ultrasound", 1),
]

FIRST_NAMES = [
    "Aaliyah", "Abebe", "Adaeze", "Aiko", "Akira", "Alejandro", "Ama", "Amara", "Amir", "Ana",
    "Anika", "Anjali", "Arjun", "Astrid", "Ayasha", "Ayesha", "Bao", "Beatriz", "Bilal",
    "Camila", "Carlos", "Chen", "Chidi", "Chloé", "Claire", "Dalia", "Daniel", "Declan",
    "Diego", "Dmitri", "Elena", "Emeka", "Esi", "Ethan", "Fatima", "Felipe", "Freya",
    "Gabriel", "Giulia", "Grace", "Hana", "Hannah", "Hassan", "Hiroshi", "Ibrahim", "Ifeoma",
    "Ingrid", "Isabel", "Jamal", "Javier", "Jia", "Joon", "José", "Julia", "Kai", "Kavya",
    "Keanu", "Kenji", "Kofi", "Kwame", "Laila", "Lars", "Leilani", "Liam", "Lucía", "Malik",
    "Marcus", "Mariam", "Mateo", "Matteo", "Maya", "Mei", "Mihail", "Min-jun", "Nadia",
    "Naveen", "Nia", "Nikhil", "Noah", "Noor", "Olivia", "Olu", "Omar", "Oren", "Owen",
    "Pablo", "Priya", "Rafael", "Rahul", "Rania", "Ravi", "Rosa", "Ruth", "Sakura", "Samir",
    "Sara", "Seo-yeon", "Siobhan", "Sipho", "Sofia", "Tala", "Tariq", "Thandiwe", "Tomás",
    "Uma", "Valentina", "Vikram", "Wei", "Ximena", "Xin", "Yara", "Yasmin", "Yusuf", "Zainab",
    "Zara", "Zhi",
]  # fmt: skip

LAST_NAMES = [
    "Abara", "Adeyemi", "Agarwal", "Ahmed", "Alvarez", "Andersen", "Antonelli", "Asante",
    "Bakshi", "Banerjee", "Becker", "Begay", "Bekele", "Bianchi", "Bondarenko", "Brennan",
    "Castillo", "Chandra", "Chaudhry", "Cho", "Costa", "Dang", "Delgado", "Demir", "Diallo",
    "Dubois", "Eriksen", "Estrada", "Farouk", "Fernandes", "Fischer", "Fitzgerald", "Fujita",
    "Gallagher", "García", "Ghosh", "Haddad", "Haile", "Hashemi", "Herrera", "Hoang",
    "Horvath", "Ibarra", "Iyer", "Jansen", "Jiménez", "Kamau", "Kang", "Kaur", "Kealoha",
    "Khalil", "Kim", "Kowalski", "Kumar", "Lindgren", "Lopez", "Mahlangu", "Makoa", "Martins",
    "Mendoza", "Mensah", "Moreau", "Mukherjee", "Murphy", "Nakamura", "Nair", "Navarro",
    "Ndiaye", "Nguyen", "Novak", "Nuñez", "O'Brien", "Obi", "Odhiambo", "Okafor", "Okonkwo",
    "Olsen", "Ortiz", "Osei", "Park", "Patel", "Pereira", "Petrov", "Quispe", "Rahman",
    "Ramos", "Reddy", "Rossi", "Saito", "Salazar", "Santos", "Schmidt", "Sharma", "Silva",
    "Singh", "Sokolov", "Suzuki", "Tanaka", "Tembo", "Tesfaye", "Thompson", "Tran",
    "Tshabalala", "Valdez", "Varga", "Vasquez", "Walsh", "Wang", "Watanabe", "Weber",
    "Yamamoto", "Yazzie", "Yilmaz", "Yoon", "Zhang", "Zhou", "Zulu",
]  # fmt: skip


@dataclass(frozen=True)
class DemoSize:
    """How big a department to make. `radiologists` counts attendings, leavers included."""

    name: str
    sections: int
    radiologists: int
    trainees: int
    history_years: int

    def __post_init__(self):
        if not 1 <= self.sections <= len(SECTIONS):
            raise ValueError(f"sections must be between 1 and {len(SECTIONS)}")
        # One demo radiologist, a champion per section and the leader are the minimum.
        if self.radiologists < self.sections + 2:
            raise ValueError("radiologists must be at least sections + 2")
        if self.trainees < 1 or self.history_years < 1:
            raise ValueError("trainees and history_years must be at least 1")

    @property
    def assistants(self) -> int:
        return max(1, self.sections // 2)

    @property
    def quality(self) -> int:
        return 1 + self.sections // 8

    @property
    def people(self) -> int:
        return self.radiologists + self.trainees + self.assistants + self.quality + 1


SIZES = {
    "default": DemoSize("default", sections=4, radiologists=40, trainees=6, history_years=3),
    "large": DemoSize("large", sections=8, radiologists=300, trainees=40, history_years=5),
}


@dataclass
class DemoContext:
    """The department as history builders see it: sections, people, memberships, dates."""

    seed: int
    size: DemoSize
    today: datetime.date
    history_start: datetime.date
    sections: list[Section]
    people: list[User]
    memberships: list[Membership]
    logins: dict[str, User]

    def rng(self, name: str) -> random.Random:
        """An independent generator per purpose, so adding a builder never changes others."""
        return random.Random(f"{self.seed}:{name}")  # noqa: S311 - synthetic data, not secrets

    def members(
        self,
        role: str,
        *,
        section: Section | None = None,
        on: datetime.date | None = None,
        participating: bool | None = None,
    ) -> list[User]:
        """People holding a role (in a section, on a day, participating); each once."""
        found: dict[int, User] = {}
        for m in self.memberships:
            if m.role != role or (section is not None and m.section_id != section.pk):
                continue
            if on is not None and not (
                m.started_on <= on and (m.ended_on is None or on < m.ended_on)
            ):
                continue
            if participating is not None and m.participating != participating:
                continue
            found.setdefault(m.user_id, m.user)
        return list(found.values())

    def radiologists(self, *, section: Section | None = None, on: datetime.date | None = None):
        """Participating radiologists: the people the program's targets count."""
        return self.members(Role.RADIOLOGIST, section=section, on=on, participating=True)

    def months(self) -> list[datetime.date]:
        """The first day of every month from the start of the history to this month."""
        months, day = [], self.history_start.replace(day=1)
        while day <= self.today:
            months.append(day)
            day = (day + datetime.timedelta(days=32)).replace(day=1)
        return months


# History builders ---------------------------------------------------------------------

HistoryBuild = Callable[[DemoContext, random.Random, DemoSize], Mapping[str, int]]


@dataclass(frozen=True)
class HistoryBuilder:
    name: str
    build: HistoryBuild
    present: Callable[[DemoContext], bool]
    order: int = 100
    wipe: Callable[[QuerySet], object] | None = None


HISTORY_BUILDERS: dict[str, HistoryBuilder] = {}


def history_builder(
    name: str,
    *,
    present: Callable[[DemoContext], bool],
    order: int = 100,
    wipe: Callable[[QuerySet], object] | None = None,
):
    """Register `build(ctx, rng, size) -> {"app.Model": rows}` to add demo history.

    `present(ctx)` says whether the rows already exist, which keeps `seed_demo` idempotent;
    `wipe(demo_people)` deletes rows that would block deleting the people (PROTECT keys)
    before `--reset`. Builders run by `order`, then name.
    """

    def register(build: HistoryBuild) -> HistoryBuild:
        HISTORY_BUILDERS[name] = HistoryBuilder(name, build, present, order, wipe)
        return build

    return register


def history_builders() -> list[HistoryBuilder]:
    _discover_builders()
    return sorted(HISTORY_BUILDERS.values(), key=lambda b: (b.order, b.name))


def _discover_builders() -> None:
    # Like admin.autodiscover(), but only our own apps: a library may ship a `demo` module.
    base = str(settings.BASE_DIR)
    for config in apps.get_app_configs():
        if config.path.startswith(base) and module_has_submodule(config.module, "demo"):
            __import__(f"{config.name}.demo")


def bulk_insert(model: type[models.Model], rows: Iterable[models.Model]) -> dict[str, int]:
    """Insert rows (a generator is fine) in batches; return {"app.Model": count}."""
    count, rows = 0, iter(rows)
    while batch := list(itertools.islice(rows, BATCH_SIZE)):
        model._default_manager.bulk_create(batch)
        count += len(batch)
    return {model._meta.label: count}


# NPIs ---------------------------------------------------------------------------------


def luhn_check_digit(payload: str) -> str:
    total = 0
    for i, char in enumerate(reversed(payload)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit of 80840 + the first nine (as CMS does)."""
    return len(npi) == 10 and npi.isdigit() and luhn_check_digit("80840" + npi[:9]) == npi[9]


def _npis(rng: random.Random, count: int) -> list[str]:
    bases = rng.sample(range(10**8), count)
    return [f"1{base:08d}" + luhn_check_digit(f"808401{base:08d}") for base in bases]


# Building the department --------------------------------------------------------------


@dataclass
class _Planned:
    first_name: str
    last_name: str
    email: str
    joined: datetime.date
    npi: str = ""
    is_active: bool = True
    is_staff: bool = False
    # (section index, role, started_on, ended_on, participating)
    roles: list[tuple[int, str, datetime.date, datetime.date | None, bool]] = field(
        default_factory=list
    )


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum() or c == "-")


def _history_start(today: datetime.date, years: int) -> datetime.date:
    return today.replace(year=today.year - years, day=1)


def _academic_year_start(today: datetime.date) -> datetime.date:
    return datetime.date(today.year if today.month >= 7 else today.year - 1, 7, 1)


def _plan(rng: random.Random, size: DemoSize, today: datetime.date) -> list[_Planned]:
    """Who works where since when; every random choice happens here, in a fixed order."""
    start = _history_start(today, size.history_years)
    sections = range(size.sections)
    weights = [weight for _, _, weight in SECTIONS[: size.sections]]
    pairs = list(itertools.product(FIRST_NAMES, LAST_NAMES))
    names = iter(pairs[i] for i in rng.sample(range(len(pairs)), size.people))
    npis = iter(_npis(rng, size.radiologists + size.trainees))
    people: list[_Planned] = []

    def person(login: str | None, joined: datetime.date, **extra) -> _Planned:
        first, last = next(names)
        email = login_email(login) if login else f"{_ascii(first)}.{_ascii(last)}@{PEOPLE_DOMAIN}"
        people.append(_Planned(first, last, email, joined, **extra))
        return people[-1]

    def hired() -> datetime.date:
        # Most of the group was there when the program started; the rest joined since.
        if rng.random() < 0.55:
            return start
        return start + datetime.timedelta(days=rng.randrange((today - start).days - 60))

    # Attendings: the demo radiologist, a champion per section (the demo champion runs the
    # first), the leader, then everyone else.
    rad = Role.RADIOLOGIST
    p = person("radiologist", start, npi=next(npis))
    p.roles.append((0, rad, start, None, True))
    for section in sections:
        p = person("champion" if section == 0 else None, start, npi=next(npis))
        p.roles += [(section, rad, start, None, True), (section, Role.CHAMPION, start, None, True)]
    p = person("leader", start, npi=next(npis))
    p.roles.append((1 % size.sections, rad, start, None, True))
    p.roles += [(section, Role.LEADER, start, None, True) for section in sections]

    regular = []
    for _ in range(size.radiologists - size.sections - 2):
        joined = hired()
        p = person(None, joined, npi=next(npis))
        home = rng.choices(sections, weights)[0]
        p.roles.append((home, rad, joined, None, True))
        if size.sections > 1 and rng.random() < 0.15:
            other = rng.choice([s for s in sections if s != home])
            p.roles.append((other, rad, joined, None, True))
        regular.append(p)
    leavers = rng.sample(regular, len(regular) // 15)
    for p in leavers:
        p.joined = min(p.joined, today - datetime.timedelta(days=240))
        left = p.joined + datetime.timedelta(days=rng.randrange(120, (today - p.joined).days - 30))
        p.roles = [(s, role, p.joined, left, True) for s, role, _, _, _ in p.roles]
        p.is_active = False
    stayers = [p for p in regular if p not in leavers]
    # Part-timers and people on leave: members who do not count toward targets.
    for p in rng.sample(stayers, min(len(stayers), max(2, len(regular) // 20))):
        p.roles = [(s, role, since, None, False) for s, role, since, _, _ in p.roles]

    # Trainees: fellows for this academic year in one section; residents in one or two.
    year = _academic_year_start(today)
    p = person("trainee", year, npi=next(npis))
    p.roles.append((0, Role.TRAINEE, year, None, True))
    for i in range(size.trainees - 1):
        if i % 2 == 0:
            p = person(None, year, npi=next(npis))
            home = rng.choices(sections, weights)[0]
            p.roles.append((home, Role.TRAINEE, year, year.replace(year=year.year + 1), True))
        else:
            since = max(start, year.replace(year=year.year - rng.randrange(4)))
            p = person(None, since, npi=next(npis))
            for s in sorted(rng.sample(sections, min(2, size.sections))):
                p.roles.append((s, Role.TRAINEE, since, None, True))

    # Admin assistants share the sections out; the quality team covers all of them.
    for i in range(size.assistants):
        p = person("assistant" if i == 0 else None, start if i == 0 else hired())
        p.roles += [
            (s, Role.ADMIN_ASSISTANT, p.joined, None, False)
            for s in sections
            if s % size.assistants == i
        ]
    for i in range(size.quality):
        p = person("quality" if i == 0 else None, start)
        p.roles += [(s, Role.QUALITY, start, None, False) for s in sections]

    person("admin", start, is_staff=True)
    return people


def _aware(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(8), tzinfo=timezone.get_current_timezone())


def _sections_ensure(count: int) -> tuple[list[Section], int]:
    wanted = SECTIONS[:count]
    slugs = [slug for slug, _, _ in wanted]
    existing = Section.objects.in_bulk(slugs, field_name="slug")
    missing = [Section(slug=slug, name=name) for slug, name, _ in wanted if slug not in existing]
    Section.objects.bulk_create(missing)
    by_slug = Section.objects.in_bulk(slugs, field_name="slug")
    return [by_slug[slug] for slug in slugs], len(missing)


def department_build(
    *, size: DemoSize, seed: int, today: datetime.date
) -> tuple[DemoContext, dict[str, int]]:
    """Create the sections, people and memberships; return them and the rows created."""
    rng = random.Random(f"{seed}:department")  # noqa: S311 - synthetic data, not secrets
    plan = _plan(rng, size, today)
    sections, sections_created = _sections_ensure(size.sections)
    # Hashing is deliberately slow: do it once and share the hash among all demo people.
    password = make_password(DEMO_PASSWORD)
    User.objects.bulk_create(
        [
            User(
                email=p.email,
                first_name=p.first_name,
                last_name=p.last_name,
                npi=p.npi,
                password=password,
                is_active=p.is_active,
                is_staff=p.is_staff,
                is_superuser=p.is_staff,
                date_joined=_aware(p.joined),
            )
            for p in plan
        ],
        batch_size=BATCH_SIZE,
    )
    users = User.objects.in_bulk([p.email for p in plan], field_name="email")
    memberships = [
        Membership(
            user=users[p.email],
            section=sections[s],
            role=role,
            started_on=since,
            ended_on=until,
            participating=participating,
        )
        for p in plan
        for s, role, since, until, participating in p.roles
    ]
    Membership.objects.bulk_create(memberships, batch_size=BATCH_SIZE)
    ctx = DemoContext(
        seed=seed,
        size=size,
        today=today,
        history_start=_history_start(today, size.history_years),
        sections=sections,
        people=sorted(users.values(), key=lambda u: u.email),
        memberships=memberships,
        logins={key: users[login_email(key)] for key in LOGIN_KEYS},
    )
    counts = {
        Section._meta.label: sections_created,
        User._meta.label: len(plan),
        Membership._meta.label: len(memberships),
    }
    return ctx, counts


def demo_people() -> QuerySet[User]:
    """Everyone the demo made: only addresses at the demo domains, never anyone else."""
    return User.objects.filter(
        Q(email__endswith=f"@{PEOPLE_DOMAIN}") | Q(email__endswith=f"@{LOGIN_DOMAIN}")
    )


def department_load(*, seed: int, today: datetime.date) -> DemoContext | None:
    """The demo department already in the database, or None."""
    people = list(demo_people().order_by("email"))
    if not people:
        return None
    by_id = {u.pk: u for u in people}
    memberships = list(
        Membership.objects.filter(user__in=demo_people()).select_related("section").order_by("pk")
    )
    for m in memberships:
        m.user = by_id[m.user_id]
    order = {slug: i for i, (slug, _, _) in enumerate(SECTIONS)}
    sections = sorted(
        {m.section_id: m.section for m in memberships}.values(),
        key=lambda s: (order.get(s.slug, len(order)), s.name),
    )
    history_start = min((m.started_on for m in memberships), default=today)
    rad_ids = {m.user_id for m in memberships if m.role == Role.RADIOLOGIST}
    trainee_ids = {m.user_id for m in memberships if m.role == Role.TRAINEE}
    shape = (len(sections), len(rad_ids), len(trainee_ids))
    name = next(
        (s.name for s in SIZES.values() if (s.sections, s.radiologists, s.trainees) == shape),
        "custom",
    )
    size = DemoSize(
        name,
        sections=len(sections),
        radiologists=max(len(rad_ids), len(sections) + 2),
        trainees=max(len(trainee_ids), 1),
        history_years=max(1, round((today - history_start).days / 365.25)),
    )
    by_email = {u.email: u for u in people}
    return DemoContext(
        seed=seed,
        size=size,
        today=today,
        history_start=history_start,
        sections=sections,
        people=people,
        memberships=memberships,
        logins={
            key: by_email[login_email(key)] for key in LOGIN_KEYS if login_email(key) in by_email
        },
    )


def demo_reset() -> dict[str, int]:
    """Delete the demo people and everything that cascades from them. Sections stay."""
    people = demo_people()
    for builder in reversed(history_builders()):
        if builder.wipe is not None:
            builder.wipe(people)
    _, deleted = people.delete()
    return {label: n for label, n in deleted.items() if n}


@dataclass
class DemoResult:
    context: DemoContext
    created: dict[str, int]
    deleted: dict[str, int]


@transaction.atomic
def demo_seed(
    *,
    size: DemoSize,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    today: datetime.date | None = None,
) -> DemoResult:
    """Make the demo department and its history, or leave an existing one as it is."""
    today = today or timezone.localdate()
    deleted = demo_reset() if reset else {}
    created: Counter[str] = Counter()
    ctx = department_load(seed=seed, today=today)
    if ctx is None:
        ctx, counts = department_build(size=size, seed=seed, today=today)
        created.update(counts)
    for builder in history_builders():
        if not builder.present(ctx):
            created.update(builder.build(ctx, ctx.rng(builder.name), ctx.size))
    demo_mfa_off()
    return DemoResult(context=ctx, created={k: v for k, v in created.items() if v}, deleted=deleted)


def demo_mfa_off() -> None:
    """Demo people sign in with the published password alone; the sign-in page says so
    (a new site requires MFA of administrators, leaders, champions, assistants, quality)."""
    # The same queries whether or not it was on: seeding's query count does not vary.
    SitePolicy.objects.update_or_create(pk=1, defaults=dict.fromkeys(SitePolicy.MFA_FIELDS, False))

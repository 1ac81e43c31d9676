import io
import random
import re
from unittest import mock

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from peerlearning import demo
from peerlearning.demo import (
    DEMO_PASSWORD,
    LOGIN_KEYS,
    DemoSize,
    HistoryBuilder,
    bulk_insert,
    demo_people,
    demo_reset,
    demo_seed,
    login_email,
    npi_is_valid,
)
from peerlearning.models import Membership, OutboundEmail, Role, Section, User
from peerlearning.testing import UserFactory

pytestmark = pytest.mark.django_db

TINY = DemoSize("tiny", sections=2, radiologists=12, trainees=3, history_years=1)


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True


@pytest.fixture(autouse=True)
def _department_only(monkeypatch):
    # These tests are about the department; each app tests its own history builder.
    monkeypatch.setattr(demo, "_discover_builders", lambda: None)
    monkeypatch.setattr(demo, "HISTORY_BUILDERS", {})


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    people = [(u.email, u.first_name, u.last_name, u.npi, u.is_active) for u in demo_people()]
    roles = Membership.objects.filter(user__in=demo_people()).values_list(
        "user__email", "section__slug", "role", "started_on", "ended_on", "participating"
    )
    return sorted(people) + sorted(roles)


def roles_of(email: str) -> set[tuple[str, str]]:
    return set(Membership.objects.filter(user__email=email).values_list("section__slug", "role"))


def test_it_prints_the_documented_logins_with_one_password_and_the_url():
    out = seed()

    for key in LOGIN_KEYS:
        assert login_email(key) in out
        assert User.objects.filter(email=login_email(key)).exists()
    assert "radiologist@demo.example-hospital.org" in out
    assert DEMO_PASSWORD in out
    assert "http://127.0.0.1:8000/" in out


def test_every_demo_login_signs_in_with_the_printed_password():
    seed()

    for key in LOGIN_KEYS:
        assert Client().login(email=login_email(key), password=DEMO_PASSWORD), key
    assert not Client().login(email=login_email("radiologist"), password="wrong password")


def test_the_demo_champion_signs_in_through_the_sign_in_page(client):
    seed()

    response = client.post(
        reverse("account_login"),
        {"login": login_email("champion"), "password": DEMO_PASSWORD},
        secure=True,
    )

    assert response.status_code == 302
    assert client.get(reverse("home"), secure=True).status_code == 200


def test_the_password_is_hashed_once_with_the_configured_hasher():
    with mock.patch.object(demo, "make_password", wraps=make_password) as hashing:
        seed()

    assert hashing.call_count == 1
    hashes = set(demo_people().values_list("password", flat=True))
    assert len(hashes) == 1
    assert hashes.pop().startswith("md5$")


def test_each_login_holds_its_role():
    seed()
    sections = set(Section.objects.values_list("slug", flat=True))

    assert roles_of(login_email("radiologist")) == {("neuroradiology", Role.RADIOLOGIST)}
    assert roles_of(login_email("champion")) == {
        ("neuroradiology", Role.RADIOLOGIST),
        ("neuroradiology", Role.CHAMPION),
    }
    leader = roles_of(login_email("leader"))
    assert {slug for slug, role in leader if role == Role.LEADER} == sections
    assert any(role == Role.RADIOLOGIST for _, role in leader)
    assert {role for _, role in roles_of(login_email("assistant"))} == {Role.ADMIN_ASSISTANT}
    assert {slug for slug, _ in roles_of(login_email("quality"))} == sections
    assert roles_of(login_email("trainee")) == {("neuroradiology", Role.TRAINEE)}
    admin = User.objects.get(email=login_email("admin"))
    assert admin.is_staff and admin.is_superuser
    assert roles_of(admin.email) == set()
    assert demo_people().filter(is_superuser=True).count() == 1


def test_the_default_department_has_four_sections_and_about_forty_radiologists():
    seed()
    memberships = Membership.objects.filter(user__in=demo_people())

    def people_with(role, **filters):
        return memberships.filter(role=role, **filters).values("user").distinct().count()

    assert Section.objects.count() == 4
    assert people_with(Role.RADIOLOGIST) == 40
    assert people_with(Role.CHAMPION) >= 4
    assert 1 <= people_with(Role.ADMIN_ASSISTANT) <= 2
    assert people_with(Role.LEADER) == 1
    assert people_with(Role.QUALITY) == 1
    assert people_with(Role.TRAINEE) == 6
    assert people_with(Role.RADIOLOGIST, participating=False) >= 2
    assert memberships.filter(ended_on__isnull=False).exists()
    assert len(set(memberships.values_list("started_on", flat=True))) > 10


def test_running_it_twice_changes_nothing():
    seed()
    before = snapshot(), set(demo_people().values_list("password", flat=True))
    counts = User.objects.count(), Membership.objects.count(), Section.objects.count()

    out = seed()

    assert "nothing changed" in out
    assert login_email("champion") in out
    assert (User.objects.count(), Membership.objects.count(), Section.objects.count()) == counts
    assert (snapshot(), set(demo_people().values_list("password", flat=True))) == before


def test_it_is_deterministic_across_a_reset():
    seed()
    first = snapshot()

    out = seed("--reset")

    assert "Deleted the previous demo data" in out
    assert snapshot() == first


def test_another_seed_makes_other_people():
    seed()
    first = sorted(demo_people().values_list("email", flat=True))

    seed("--reset", "--seed", "7")

    assert sorted(demo_people().values_list("email", flat=True)) != first


def test_reset_deletes_only_people_at_the_demo_domains(department):
    seed()
    outsider = UserFactory(first_name="Real", last_name="Colleague")

    seed("--reset")

    assert User.objects.filter(pk=outsider.pk).exists()
    assert User.objects.filter(pk=department.champion.pk).exists()
    assert Membership.objects.filter(user=department.champion).count() == 2


def test_it_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not demo_people().exists()

    seed("--force")
    assert demo_people().exists()


def test_a_custom_size_scales_sections_people_and_history():
    result = demo_seed(size=TINY)
    ctx = result.context
    memberships = Membership.objects.filter(user__in=demo_people())

    assert [s.slug for s in ctx.sections] == ["neuroradiology", "body"]
    assert demo_people().count() == TINY.people == 12 + 3 + 1 + 1 + 1
    assert memberships.filter(role=Role.RADIOLOGIST).values("user").distinct().count() == 12
    assert memberships.filter(role=Role.TRAINEE).values("user").distinct().count() == 3
    assert result.created["peerlearning.User"] == TINY.people
    starts = set(memberships.values_list("started_on", flat=True))
    assert min(starts) == ctx.history_start
    assert (ctx.today - ctx.history_start).days in range(365, 366 + 31)
    assert max(starts) <= ctx.today
    assert len(ctx.months()) in (13, 14)
    assert len(ctx.radiologists(section=ctx.sections[0])) >= 2


def test_seeding_takes_the_same_number_of_queries_whatever_the_size(monkeypatch):
    # The department itself; each app's history builder has its own budget test.
    monkeypatch.setattr("peerlearning.demo.history_builders", list)
    bigger = DemoSize("bigger", sections=2, radiologists=60, trainees=12, history_years=3)
    demo_seed(size=TINY)  # creates the sections, so both runs below find them
    demo_reset()
    with CaptureQueriesContext(connection) as small_run:
        demo_seed(size=TINY)
    demo_reset()
    with CaptureQueriesContext(connection) as big_run:
        demo_seed(size=bigger)

    assert demo_people().count() == bigger.people
    assert len(big_run) == len(small_run) < 20


def test_names_are_invented_and_addresses_are_at_the_demo_domains():
    seed()
    emails = list(User.objects.values_list("email", flat=True))

    assert len(emails) == len(set(emails))
    assert all(e.endswith(("@example-hospital.org", "@demo.example-hospital.org")) for e in emails)
    for names in (demo.FIRST_NAMES, demo.LAST_NAMES):
        # Names that fold to the same address part would collide at some seed.
        assert len({demo._ascii(name) for name in names}) == len(names)


def test_npis_are_ten_digits_passing_the_luhn_check_with_prefix_80840():
    seed()
    npis = [n for n in demo_people().values_list("npi", flat=True) if n]

    assert npi_is_valid("1234567893")  # the example CMS publishes
    assert not npi_is_valid("1234567890")
    assert len(npis) == 40 + 6
    assert len(set(npis)) == len(npis)
    assert all(npi_is_valid(n) for n in npis)


def test_a_history_builder_runs_once_with_its_own_generator(monkeypatch):
    calls, wiped = [], []

    def build(ctx, rng, size):
        calls.append(rng.random())
        assert size is ctx.size
        assert ctx.logins["champion"].email == login_email("champion")
        return bulk_insert(
            OutboundEmail,
            (
                OutboundEmail(key=f"demo:{month}", to=ctx.logins["champion"].email, subject="-")
                for month in ctx.months()
            ),
        )

    builder = HistoryBuilder(
        name="outbox",
        build=build,
        present=lambda ctx: OutboundEmail.objects.filter(key__startswith="demo:").exists(),
        wipe=lambda people: wiped.append(people.count()),
    )
    monkeypatch.setitem(demo.HISTORY_BUILDERS, "outbox", builder)

    out = seed()
    rows = OutboundEmail.objects.count()
    again = seed()
    seed("--reset")

    assert calls[0] == random.Random(f"{demo.DEFAULT_SEED}:outbox").random()
    assert re.search(rf"peerlearning\.OutboundEmail\s+{rows}\n", out)
    assert rows >= 36
    assert "nothing changed" in again
    assert wiped == [demo_people().count()]
    assert len(calls) == 1  # the outbox rows survived the reset, so it did not run again

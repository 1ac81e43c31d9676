"""A new site requires a second factor of everyone who sees names or accession numbers.

Site administrators, leaders, champions, admin assistants and quality leads: without a
choice by anyone, their password alone opens nothing. The policy offers every role, and
`make run`'s demo turns it off, saying so on its sign-in page.
"""

import pytest
from django.urls import reverse

from peerlearning import demo
from peerlearning.models import Role, SitePolicy

pytestmark = pytest.mark.django_db

REQUIRED_BY_DEFAULT = ["site_admin", "leader", "champion", "admin_assistant", "quality"]


@pytest.mark.parametrize("persona", REQUIRED_BY_DEFAULT)
def test_a_new_site_asks_these_people_for_a_second_factor(client, department, persona):
    client.force_login(department.personas()[persona], mfa=False)

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


@pytest.mark.parametrize("persona", ["radiologist", "trainee"])
def test_a_new_site_lets_radiologists_and_trainees_in_with_the_password(
    client, department, persona
):
    client.force_login(department.personas()[persona], mfa=False)

    assert client.get(reverse("home")).status_code == 200


def test_the_policy_offers_every_role_and_the_administrators(client, department):
    client.force_login(department.site_admin)

    page = client.get(reverse("admin:peerlearning_sitepolicy_change", args=[1])).content.decode()

    for name in SitePolicy.MFA_FIELDS:
        assert f'name="{name}"' in page
    assert set(SitePolicy.MFA_FIELD_FOR_ROLE) == set(Role.values)


def test_radiologists_can_be_required_mfa_too(client, department):
    policy = SitePolicy.load()
    policy.mfa_required_for_radiologists = True
    policy.save()
    client.force_login(department.radiologist, mfa=False)

    assert client.get(reverse("home"))["Location"].startswith(reverse("mfa_activate_totp"))


def test_the_demo_turns_mfa_off_and_its_sign_in_page_says_so(client, db, settings, monkeypatch):
    settings.DEBUG = True  # `make run`
    monkeypatch.setattr(demo, "_discover_builders", lambda: None)  # the people, no history
    monkeypatch.setattr(demo, "HISTORY_BUILDERS", {})
    demo.demo_seed(
        size=demo.DemoSize("tiny", sections=1, radiologists=3, trainees=1, history_years=1)
    )

    page = client.get(reverse("account_login")).content.decode()

    assert SitePolicy.load().roles_requiring_mfa() == set()
    assert "Demo: two-factor sign-in is off here" in page
    assert "site administrators, leaders, champions, admin assistants, the quality team" in page


def test_a_production_sign_in_page_never_says_whom_mfa_spares(client, db, settings):
    settings.DEBUG = False
    demo.demo_mfa_off()

    page = client.get(reverse("account_login")).content.decode()

    assert "two-factor sign-in is off" not in page

"""Credentials, FPPE events and the OPPE policy: what the medical staff office enters, who
sees it, and the OPPE pages built on them."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import AuditEvent, OutboundEmail, Role
from peerlearning.testing import make_member
from reporting.models import Credential, FppeEvent, OppePolicy
from reporting.oppe.sources import (
    credential_expiry_notices_send,
    credentials_status,
    fppe_summary,
    oppe_radiologist_get_for_user,
    oppe_radiologists_managed_by,
)

TODAY = datetime.date(2026, 11, 27)


def credential(person, kind=Credential.Kind.STATE_LICENSE, expires=None, **extra):
    return Credential.objects.create(
        radiologist=person,
        kind=kind,
        issuer=extra.pop("issuer", "New York"),
        expires_on=expires,
        **extra,
    )


def fppe(person, day, **fields):
    return FppeEvent.objects.create(radiologist=person, referred_on=day, **fields)


# Credentials status ---------------------------------------------------------------------------


def test_credentials_are_flagged_when_expired_or_expiring_within_90_days(department):
    person = department.radiologist
    expired = credential(person, expires=TODAY - datetime.timedelta(days=1))
    last_day = credential(person, expires=TODAY)
    at_limit = credential(person, expires=TODAY + datetime.timedelta(days=90))
    beyond = credential(person, expires=TODAY + datetime.timedelta(days=91))
    lifetime = credential(person, Credential.Kind.BOARD_CERTIFICATION, issuer="ABR")
    status = credentials_status(radiologists=[person], on=TODAY)[person.pk]
    states = {flag.credential.pk: (flag.state, flag.days_left) for flag in status.credentials}
    assert states == {
        expired.pk: ("expired", -1),
        last_day.pk: ("expiring", 0),
        at_limit.pk: ("expiring", 90),
        beyond.pk: ("current", 91),
        lifetime.pk: ("no_expiry", None),
    }
    assert (status.expired, status.expiring) == (1, 2)


def test_licensure_is_maintained_with_a_current_licence_and_board_certification(department):
    person = department.radiologist
    credential(person, expires=TODAY - datetime.timedelta(days=3))
    status = credentials_status(radiologists=[person], on=TODAY)
    assert not status[person.pk].licensure_maintained
    credential(
        person, Credential.Kind.BOARD_CERTIFICATION, issuer="ABR", expires=TODAY.replace(2030)
    )
    assert not credentials_status(radiologists=[person], on=TODAY)[person.pk].licensure_maintained
    credential(person, expires=TODAY.replace(2028))
    assert credentials_status(radiologists=[person], on=TODAY)[person.pk].licensure_maintained


def test_credential_status_of_many_radiologists_is_one_query(department, django_assert_num_queries):
    people = [department.radiologist, department.reader, department.champion]
    for person in people:
        credential(person, expires=TODAY)
    with django_assert_num_queries(1):
        status = credentials_status(radiologists=people, on=TODAY)
    assert all(status[p.pk].expiring == 1 for p in people)


def test_a_credential_cannot_expire_before_it_was_issued(department, client):
    client.force_login(department.leader)
    response = client.post(
        reverse("reporting:oppe-credential-create"),
        {
            "radiologist": department.radiologist.pk,
            "kind": Credential.Kind.DEA,
            "issuer": "DEA",
            "issued_on": "2026-05-01",
            "expires_on": "2026-04-01",
        },
    )
    assert response.status_code == 200
    assert "The expiry date must come after the issue date." in response.content.decode()
    assert not Credential.objects.exists()


# Who sees whose OPPE data ---------------------------------------------------------------------


def test_a_leader_manages_the_radiologists_of_the_sections_they_lead(department):
    managed = set(oppe_radiologists_managed_by(user=department.leader))
    assert managed == {department.radiologist, department.reader, department.champion}
    assert department.body_champion not in managed


def test_a_site_administrator_manages_every_radiologist(department):
    managed = set(oppe_radiologists_managed_by(user=department.site_admin))
    assert department.body_champion in managed and department.radiologist in managed


@pytest.mark.parametrize("persona", ["radiologist", "champion", "trainee", "quality", "outsider"])
def test_nobody_else_manages_anyone(department, persona):
    assert not oppe_radiologists_managed_by(user=getattr(department, persona)).exists()


def test_a_radiologist_sees_their_own_oppe_data_and_nobody_elses(department):
    me = department.radiologist
    assert oppe_radiologist_get_for_user(user=me, pk=me.pk) == me
    from django.http import Http404

    with pytest.raises(Http404):
        oppe_radiologist_get_for_user(user=me, pk=department.reader.pk)
    with pytest.raises(Http404):
        oppe_radiologist_get_for_user(user=department.leader, pk=department.body_champion.pk)
    with pytest.raises(Http404):
        oppe_radiologist_get_for_user(user=department.trainee, pk=department.trainee.pk)


def test_my_oppe_page_shows_my_credentials_and_fppe_counts_only(client, department):
    credential(department.radiologist, number="NY-111111", expires=TODAY.replace(2028))
    credential(department.reader, number="NY-222222", expires=TODAY.replace(2028))
    fppe(department.radiologist, TODAY, behaviour_concern=True)
    client.force_login(department.radiologist)
    page = client.get(reverse("reporting:oppe-mine")).content.decode()
    assert "NY-111111" in page and "NY-222222" not in page
    assert "My OPPE data" in page
    # Not the way to another radiologist's page:
    assert (
        client.get(reverse("reporting:oppe-radiologist", args=[department.reader.pk])).status_code
        == 403
    )


def test_a_leader_opens_a_radiologists_oppe_page_and_it_is_recorded(client, department):
    credential(department.reader, number="NY-222222", expires=TODAY.replace(2028))
    client.force_login(department.leader)
    response = client.get(reverse("reporting:oppe-radiologist", args=[department.reader.pk]))
    assert response.status_code == 200
    assert "NY-222222" in response.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.VIEW,
        actor_id=department.leader.pk,
        object_id=str(department.reader.pk),
    ).exists()
    other = client.get(reverse("reporting:oppe-radiologist", args=[department.body_champion.pk]))
    assert other.status_code == 404


def test_the_leaders_overview_lists_their_radiologists_in_few_queries(
    client, department, django_assert_max_num_queries
):
    for i in range(12):
        person = make_member(department.neuro, Role.RADIOLOGIST, first_name=f"Extra{i}")
        credential(person, expires=TODAY)
        fppe(person, TODAY)
    client.force_login(department.leader)
    client.get(reverse("reporting:oppe-home"))  # the policies' rows exist from now on
    with django_assert_max_num_queries(20):
        response = client.get(reverse("reporting:oppe-home"))
    page = response.content.decode()
    assert "Extra11" in page and "Rowan" in page
    assert "Blair" not in page  # the body section's radiologist


def test_the_oppe_pages_never_show_discrepancy_counts(client, department):
    client.force_login(department.leader)
    for url in (
        reverse("reporting:oppe-home"),
        reverse("reporting:oppe-radiologist", args=[department.reader.pk]),
    ):
        assert "discrepanc" not in client.get(url).content.decode().lower()


# Leaders enter credentials ----------------------------------------------------------------------


def test_a_leader_adds_edits_and_removes_a_credential_and_each_step_is_audited(client, department):
    client.force_login(department.leader)
    response = client.post(
        reverse("reporting:oppe-credential-create"),
        {
            "radiologist": department.reader.pk,
            "kind": Credential.Kind.STATE_LICENSE,
            "issuer": "New York",
            "number": "NY-123",
            "issued_on": "2024-01-01",
            "expires_on": "2026-12-31",
        },
    )
    assert response.status_code == 302
    made = Credential.objects.get()
    assert (made.radiologist, made.number) == (department.reader, "NY-123")
    client.post(
        reverse("reporting:oppe-credential-edit", args=[made.pk]),
        {
            "radiologist": department.reader.pk,
            "kind": Credential.Kind.STATE_LICENSE,
            "issuer": "New York",
            "number": "NY-123",
            "issued_on": "2024-01-01",
            "expires_on": "2028-12-31",
        },
    )
    made.refresh_from_db()
    assert made.expires_on == datetime.date(2028, 12, 31)
    client.post(reverse("reporting:oppe-credential-delete", args=[made.pk]))
    assert not Credential.objects.exists()
    actions = list(
        AuditEvent.objects.filter(object_type="reporting.credential")
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def test_a_leader_cannot_enter_or_touch_credentials_outside_their_sections(client, department):
    theirs = credential(department.body_champion, expires=TODAY.replace(2028))
    client.force_login(department.leader)
    response = client.post(
        reverse("reporting:oppe-credential-create"),
        {
            "radiologist": department.body_champion.pk,
            "kind": Credential.Kind.DEA,
            "issuer": "DEA",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert (
        client.get(reverse("reporting:oppe-credential-edit", args=[theirs.pk])).status_code == 404
    )
    assert (
        client.post(reverse("reporting:oppe-credential-delete", args=[theirs.pk])).status_code
        == 404
    )
    assert Credential.objects.count() == 1


def test_the_credentials_list_flags_and_filters_expiring_ones(client, department):
    credential(
        department.reader, number="SOON", expires=timezone.localdate() + datetime.timedelta(days=10)
    )
    credential(department.reader, number="LATER", expires=timezone.localdate().replace(year=2035))
    credential(department.body_champion, number="BODY", expires=timezone.localdate())
    client.force_login(department.leader)
    page = client.get(reverse("reporting:oppe-credentials")).content.decode()
    assert "SOON" in page and "LATER" in page and "BODY" not in page
    assert "Expires in 10 days" in page
    flagged = client.get(reverse("reporting:oppe-credentials") + "?flag=1").content.decode()
    assert "SOON" in flagged and "LATER" not in flagged


def test_leaders_hear_about_expiring_credentials_once_a_month_without_names(department):
    credential(department.reader, expires=TODAY + datetime.timedelta(days=20))
    credential(department.radiologist, expires=TODAY - datetime.timedelta(days=2))
    credential(department.body_champion, expires=TODAY)  # not in the leader's section
    assert credential_expiry_notices_send(today=TODAY) == 1
    assert credential_expiry_notices_send(today=TODAY + datetime.timedelta(days=3)) == 0
    email = OutboundEmail.objects.get()
    assert email.to == department.leader.email
    assert "1 credential has expired and 1 credential expires within 90 days" in email.body_text
    assert department.reader.last_name not in email.body_text
    assert credential_expiry_notices_send(today=TODAY.replace(month=12, day=1)) == 1


# FPPE -------------------------------------------------------------------------------------------


def test_fppe_counts_follow_figure_3(department):
    me = department.radiologist
    oct5 = datetime.date(2026, 10, 5)
    fppe(me, oct5, behaviour_concern=True, disposition=FppeEvent.Disposition.LETTER_OF_INFORMATION)
    fppe(me, oct5, reviewed_at_committee=True, from_oppe=True)
    fppe(me, oct5, disposition=FppeEvent.Disposition.NO_ACTION, other_measure=True)
    fppe(me, datetime.date(2026, 6, 1), disposition=FppeEvent.Disposition.VERBAL_INTERVENTION)
    fppe(department.reader, oct5, behaviour_concern=True)
    summary = fppe_summary(
        radiologist=me, start=datetime.date(2026, 7, 1), end=datetime.date(2026, 12, 31)
    )
    assert summary.categories() == [
        ("Total referrals", 3),
        ("Total significant dispositions", 1),
        ("Behaviour concerns", 1),
        ("Reviewed at SPPEC/MEC", 1),
        ("Other (PIP, behaviour contract, …)", 1),
        ("From OPPE", 1),
    ]
    breakdown = dict(summary.significant_dispositions())
    assert breakdown["Letter of information"] == 1
    assert breakdown["Verbal intervention"] == 0
    assert summary.pending() == 1


def test_a_leader_records_an_fppe_event_and_the_radiologist_sees_only_counts(client, department):
    client.force_login(department.leader)
    response = client.post(
        reverse("reporting:oppe-fppe-create"),
        {
            "radiologist": department.radiologist.pk,
            "referred_on": timezone.localdate().isoformat(),
            "behaviour_concern": "on",
            "disposition": FppeEvent.Disposition.LETTER_OF_EDUCATION,
            "reference": "MSO-2026-017",
        },
    )
    assert response.status_code == 302
    event = FppeEvent.objects.get()
    assert event.created_by == department.leader and event.is_significant
    assert "MSO-2026-017" in client.get(reverse("reporting:oppe-fppe")).content.decode()
    client.force_login(department.radiologist)
    mine = client.get(reverse("reporting:oppe-mine")).content.decode()
    assert "MSO-2026-017" not in mine
    assert "Letter of education" in mine


def test_fppe_events_of_other_sections_are_out_of_reach(client, department):
    theirs = fppe(department.body_champion, TODAY, reference="BODY-1")
    client.force_login(department.leader)
    assert "BODY-1" not in client.get(reverse("reporting:oppe-fppe")).content.decode()
    assert client.get(reverse("reporting:oppe-fppe-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("reporting:oppe-fppe-delete", args=[theirs.pk])).status_code == 404


# Policy -----------------------------------------------------------------------------------------


def test_the_policy_has_the_articles_defaults():
    policy = OppePolicy()
    assert (policy.period_months, policy.tat_threshold_hours) == (6, 24)
    assert policy.tat_within_threshold_percent == 90


@pytest.mark.parametrize(
    ("months", "day", "period"),
    [
        (6, datetime.date(2026, 11, 27), (datetime.date(2026, 7, 1), datetime.date(2026, 12, 31))),
        (6, datetime.date(2026, 1, 1), (datetime.date(2026, 1, 1), datetime.date(2026, 6, 30))),
        (12, datetime.date(2026, 3, 9), (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))),
        (3, datetime.date(2026, 5, 31), (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30))),
        (24, datetime.date(2026, 5, 31), (datetime.date(2026, 1, 1), datetime.date(2027, 12, 31))),
        (5, datetime.date(2000, 6, 15), (datetime.date(2000, 6, 1), datetime.date(2000, 10, 31))),
    ],
)
def test_periods_follow_each_other_from_january(months, day, period):
    assert OppePolicy(period_months=months).period_containing(day) == period


def test_a_leader_changes_the_thresholds_and_bad_values_are_refused(client, department):
    client.force_login(department.leader)
    url = reverse("reporting:oppe-policy")
    fields = {
        "period_months": 12,
        "tat_threshold_hours": 48,
        "tat_within_threshold_percent": 95,
        "followup_confirmed_percent": 80,
        "credential_warning_days": 120,
    }
    assert client.post(url, fields).status_code == 302
    policy = OppePolicy.load()
    assert (policy.period_months, policy.tat_threshold_hours, policy.credential_warning_days) == (
        12,
        48,
        120,
    )
    assert policy.followup_confirmed_percent == 80
    response = client.post(url, {**fields, "tat_within_threshold_percent": 140})
    assert response.status_code == 200
    assert OppePolicy.load().tat_within_threshold_percent == 95
    assert AuditEvent.objects.filter(object_type="reporting.oppepolicy").count() == 1


def test_the_admin_lists_credentials_with_their_status(client, department):
    credential(department.reader, expires=timezone.localdate() - datetime.timedelta(days=1))
    client.force_login(department.site_admin)
    response = client.get(reverse("admin:reporting_credential_changelist"))
    assert response.status_code == 200
    assert "Expired" in response.content.decode()
    assert client.get(reverse("admin:reporting_oppepolicy_changelist")).status_code == 302
    assert not mail.outbox


def test_the_credentials_and_fppe_lists_take_a_fixed_number_of_queries(
    client, department, django_assert_max_num_queries
):
    for i in range(15):
        person = make_member(department.neuro, Role.RADIOLOGIST, first_name=f"Many{i}")
        credential(person, expires=timezone.localdate())
        fppe(person, timezone.localdate())
    client.force_login(department.leader)
    for url in (reverse("reporting:oppe-credentials"), reverse("reporting:oppe-fppe")):
        client.get(url)
        with django_assert_max_num_queries(12):
            assert "Many14" in client.get(url).content.decode()

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import AuditEvent, Membership, OutboundEmail, SitePolicy, User

SHARED_SAMPLE = Path(settings.BASE_DIR).parent / "shared" / "samples" / "roster.csv"
KEPT_SAMPLE = Path(__file__).parent / "data" / "roster.csv"
IMPORT_URL = "admin:peerlearning_membership_import"
HEADER = "email,first_name,last_name,roles,section,participating\n"


@pytest.fixture
def sample_roster() -> bytes:
    return (SHARED_SAMPLE if SHARED_SAMPLE.exists() else KEPT_SAMPLE).read_bytes()


@pytest.fixture
def admin_client(client, department):
    client.force_login(department.site_admin)
    return client


def upload(client, content: bytes, name="roster.csv", **extra):
    return client.post(
        reverse(IMPORT_URL), {"file": SimpleUploadedFile(name, content, "text/csv"), **extra}
    )


# Roster import ---------------------------------------------------------------------------


def test_the_home_page_link_to_the_roster_import_exists():
    assert reverse(IMPORT_URL) == "/admin/peerlearning/membership/import/"


def test_the_membership_list_links_to_import_and_export(admin_client):
    response = admin_client.get(reverse("admin:peerlearning_membership_changelist"))
    assert response.status_code == 200
    assert reverse(IMPORT_URL).encode() in response.content
    assert reverse("admin:peerlearning_membership_export").encode() in response.content


def test_importing_the_sample_roster_through_the_admin_end_to_end(admin_client, sample_roster):
    page = admin_client.get(reverse(IMPORT_URL))
    assert page.status_code == 200 and b'type="file"' in page.content

    preview = upload(admin_client, sample_roster)
    assert preview.status_code == 200
    assert b"Confirm import" in preview.content
    assert b"dev.shah@example-hospital.org" in preview.content
    assert preview.context["summary"].users_created == 20
    # A preview writes nothing.
    assert not User.objects.filter(email__endswith="@example-hospital.org").exists()
    assert not AuditEvent.objects.filter(action="import").exists()

    done = admin_client.post(
        reverse(IMPORT_URL), {"payload": preview.context["payload"], "confirm": "1"}, follow=True
    )
    assert done.redirect_chain[-1][0] == reverse("admin:peerlearning_membership_changelist")
    assert "roster.csv imported. People: 20 new" in next(str(m) for m in done.context["messages"])
    assert User.objects.filter(email__endswith="@example-hospital.org").count() == 20
    assert Membership.objects.filter(section__slug="neuroradiology").count() == 22 + 8
    event = AuditEvent.objects.get(action="import")
    assert event.detail["source"] == "admin" and event.actor_email == "sam.siteadmin@example.org"
    assert event.path == reverse(IMPORT_URL)


def test_a_second_admin_import_of_the_same_file_changes_nothing(admin_client, sample_roster):
    first = upload(admin_client, sample_roster)
    admin_client.post(reverse(IMPORT_URL), {"payload": first.context["payload"], "confirm": "1"})

    preview = upload(admin_client, sample_roster)
    assert b"importing it changes nothing" in preview.content
    assert b"Confirm import" not in preview.content
    assert AuditEvent.objects.filter(action="import").count() == 1


def test_a_bad_roster_shows_every_problem_with_its_line_and_writes_nothing(admin_client):
    content = (
        HEADER + "a@example.org,Ann,Able,radiologist,neuro,yes\nbad,Bo,Bell,cook,neuro,yes\n"
    ).encode()
    response = upload(admin_client, content)
    assert response.status_code == 200
    assert response.context["errors"] == [
        "Line 3: “bad” is not a valid e-mail address; “cook” is not a role (use one of: "
        "radiologist, trainee, champion, admin_assistant, leader, quality)."
    ]
    assert b"was not imported; nothing was changed" in response.content
    assert "payload" not in response.context
    assert not User.objects.filter(email="a@example.org").exists()


def test_a_missing_column_is_named_on_the_import_page(admin_client):
    response = upload(admin_client, b"email,first_name,last_name,roles,section\n")
    assert "the header has no “participating” column" in response.context["errors"][0]


def test_sync_from_the_admin_ends_memberships_after_confirmation(admin_client, department):
    content = f"{HEADER}{department.leader.email},Lee,Leader,leader,neuroradiology,yes\n".encode()
    preview = upload(admin_client, content, sync="on")
    assert preview.context["summary"].memberships_ended == 7
    assert Membership.objects.current().filter(section=department.neuro).count() == 8

    admin_client.post(reverse(IMPORT_URL), {"payload": preview.context["payload"], "confirm": "1"})
    assert Membership.objects.current().filter(section=department.neuro).count() == 1


def test_a_tampered_or_stale_preview_is_refused(admin_client):
    response = admin_client.post(
        reverse(IMPORT_URL), {"payload": "email,first_name\nevil", "confirm": "1"}, follow=True
    )
    assert "The preview has expired" in next(str(m) for m in response.context["messages"])
    assert not AuditEvent.objects.filter(action="import").exists()


def test_people_who_are_not_site_admins_cannot_reach_the_import(client, department):
    client.force_login(department.champion)
    response = client.get(reverse(IMPORT_URL))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_staff_without_the_permissions_cannot_import(client, department):
    staff = User.objects.create_user(
        "staff@example.org", first_name="S", last_name="T", is_staff=True
    )
    client.force_login(staff)
    assert client.get(reverse(IMPORT_URL)).status_code == 403


def test_memberships_export_as_a_roster_that_imports_again(admin_client, department):
    response = admin_client.post(
        reverse("admin:peerlearning_membership_export")
        + f"?section__id__exact={department.neuro.pk}",
        {
            "format": "0",
            "resource": "0",
            **{
                f"membershipresource_{name}": "on"
                for name in (
                    "email",
                    "first_name",
                    "last_name",
                    "roles",
                    "section",
                    "participating",
                    "started_on",
                    "ended_on",
                )
            },
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 8
    assert rows[0].keys() >= {"email", "roles", "section", "participating"}
    assert {row["section"] for row in rows} == {"neuroradiology"}
    assert AuditEvent.objects.get(action="export").detail == {"what": "roster", "rows": 8}

    preview = upload(admin_client, response.content, name="export.csv")
    assert preview.context["summary"].changed is False


# Every model's pages ---------------------------------------------------------------------


@pytest.mark.parametrize("model", ["user", "section", "membership", "outboundemail", "auditevent"])
def test_a_site_admin_can_open_each_changelist(admin_client, model, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        response = admin_client.get(reverse(f"admin:peerlearning_{model}_changelist"))
    assert response.status_code == 200


def test_the_user_admin_lists_and_searches_by_email_and_shows_memberships(admin_client, department):
    response = admin_client.get(reverse("admin:peerlearning_user_changelist"), {"q": "CHAM"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [
        department.body_champion,
        department.champion,
    ]
    change = admin_client.get(
        reverse("admin:peerlearning_user_change", args=[department.champion.pk])
    )
    assert change.status_code == 200
    assert b"username" not in change.content
    assert b"memberships-TOTAL_FORMS" in change.content


def test_a_site_admin_can_add_a_person_without_a_password(admin_client):
    response = admin_client.post(
        reverse("admin:peerlearning_user_add"),
        {
            "email": " New.Person@Example.org ",
            "first_name": "New",
            "last_name": "Person",
            "usable_password": "false",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    person = User.objects.get(email="new.person@example.org")
    assert not person.has_usable_password()
    assert AuditEvent.objects.filter(action="create", object_id=str(person.pk)).exists()


def test_adding_a_person_twice_with_other_case_is_refused(admin_client, department):
    response = admin_client.post(
        reverse("admin:peerlearning_user_add"),
        {
            "email": department.champion.email.upper(),
            "first_name": "C",
            "last_name": "C",
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)


def test_the_send_invitation_action_queues_invitations(admin_client, department):
    admin_client.post(
        reverse("admin:peerlearning_user_changelist"),
        {
            "action": "send_invitation",
            "_selected_action": [department.trainee.pk, department.leader.pk],
        },
    )
    assert set(OutboundEmail.objects.values_list("to", flat=True)) == {
        department.trainee.email,
        department.leader.email,
    }


def test_the_site_policy_list_opens_its_single_row_and_changes_are_audited(admin_client):
    response = admin_client.get(reverse("admin:peerlearning_sitepolicy_changelist"))
    assert response.status_code == 302
    assert response.url == reverse("admin:peerlearning_sitepolicy_change", args=[1])
    page = admin_client.get(response.url)
    for name in SitePolicy.MFA_FIELDS:
        assert f'name="{name}"'.encode() in page.content
    form = page.context["adminform"].form
    ticked = {name: "on" for name in SitePolicy.MFA_FIELDS if form.initial[name]}
    admin_client.post(response.url, {**ticked, "mfa_required_for_radiologists": "on"})
    assert SitePolicy.load().mfa_required_for_radiologists is True
    event = AuditEvent.objects.get(object_type="peerlearning.sitepolicy")
    assert event.detail["fields"] == ["mfa_required_for_radiologists"]
    assert admin_client.get(reverse("admin:peerlearning_sitepolicy_add")).status_code == 403


def test_failed_emails_can_be_sent_again_from_the_outbox_list(admin_client):
    failed = OutboundEmail.objects.create(
        key="t:1",
        to="a@example.org",
        subject="S",
        body_text="B",
        status=OutboundEmail.Status.FAILED,
        attempts=8,
    )
    sent = OutboundEmail.objects.create(
        key="t:2",
        to="b@example.org",
        subject="S",
        body_text="B",
        status=OutboundEmail.Status.SENT,
        sent_at=timezone.now(),
    )
    response = admin_client.post(
        reverse("admin:peerlearning_outboundemail_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "1 e-mail(s) will be sent again." in messages
    assert "1 had not failed and were left alone." in messages
    failed.refresh_from_db()
    assert failed.status in {OutboundEmail.Status.PENDING, OutboundEmail.Status.SENT}
    assert failed.attempts <= 1


def test_the_outbox_is_read_only_in_the_admin(admin_client):
    email = OutboundEmail.objects.create(key="t:3", to="a@example.org", subject="S", body_text="B")
    page = admin_client.get(reverse("admin:peerlearning_outboundemail_change", args=[email.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:peerlearning_outboundemail_add")).status_code == 403
    assert AuditEvent.objects.filter(
        action="view", object_type="peerlearning.outboundemail"
    ).exists()


def test_the_audit_trail_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, department):
    event = AuditEvent.objects.create(action=AuditEvent.Action.LOGIN, actor_email="x@example.org")
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = department.site_admin
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert "delete_selected" not in model_admin.get_actions(request)

    assert admin_client.get(reverse("admin:peerlearning_auditevent_add")).status_code == 403
    assert (
        admin_client.get(
            reverse("admin:peerlearning_auditevent_delete", args=[event.pk])
        ).status_code
        == 403
    )
    page = admin_client.get(reverse("admin:peerlearning_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    listing = admin_client.get(
        reverse("admin:peerlearning_auditevent_changelist"), {"action": "login", "q": "x@example"}
    )
    assert list(listing.context["cl"].result_list) == [event]

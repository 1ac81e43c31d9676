import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_answers_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_livez_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("livez"))
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_pages_carry_a_strict_content_security_policy(client, department):
    client.force_login(department.radiologist)
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_signed_in_pages_are_not_cached(client, department):
    client.force_login(department.radiologist)
    assert client.get(reverse("home"))["Cache-Control"] == "no-store"


def test_the_home_page_has_no_inline_script_or_style(client, department):
    client.force_login(department.champion)
    content = client.get(reverse("home")).content.decode()
    assert "<script>" not in content
    assert " style=" not in content
    assert "onclick" not in content


def test_error_pages_leak_nothing(client, department):
    client.force_login(department.radiologist)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Traceback" not in response.content
    assert b"urlpatterns" not in response.content


def test_audit_events_cannot_be_changed_or_removed_through_the_application(department):
    event = audit_record(
        action=AuditEvent.Action.VIEW, actor=department.radiologist, object_type="x", object_id=1
    )
    event.action = AuditEvent.Action.DELETE
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


def test_audit_events_cannot_be_changed_in_the_database_on_postgresql(department):
    if connection.vendor != "postgresql":
        pytest.skip("the database-level guard is PostgreSQL's trigger")
    event = audit_record(
        action=AuditEvent.Action.VIEW, actor=department.radiologist, object_type="x", object_id=1
    )
    for statement in (
        "UPDATE peerlearning_auditevent SET action = 'delete' WHERE id = %s",
        "DELETE FROM peerlearning_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == AuditEvent.Action.VIEW


def test_the_audit_trail_records_the_path_without_its_query_string(rf, department):
    request = rf.get("/outbox/3/?accession=A123")
    request.user = department.site_admin
    event = audit_record(
        action=AuditEvent.Action.VIEW, request=request, object_type="x", object_id=3
    )
    assert event.path == "/outbox/3/"


def test_an_administrator_reads_the_audit_trail(client, department):
    audit_record(
        action=AuditEvent.Action.EXPORT,
        actor=department.leader,
        object_type="reporting.report",
        object_id=7,
    )
    client.force_login(department.site_admin)
    content = client.get(reverse("audit-list"), {"action": "export"}).content.decode()
    assert department.leader.email in content
    assert "reporting.report #7" in content


def test_the_outbox_page_shows_pending_sent_and_failed(client, department):
    from peerlearning.models import OutboundEmail

    OutboundEmail.objects.create(key="a", to="a@example.org", subject="Pending one", body_text="x")
    OutboundEmail.objects.create(
        key="b",
        to="b@example.org",
        subject="Failed one",
        body_text="x",
        status="failed",
        last_error="SMTPDataError: 554",
    )
    client.force_login(department.site_admin)
    content = client.get(reverse("outbox-list")).content.decode()
    assert "Pending one" in content and "Failed one" in content and "SMTPDataError" in content


def test_periodic_jobs_are_installed_and_keep_admin_edits(db):
    from django_celery_beat.models import PeriodicTask

    from peerlearning.schedules import install_periodic_tasks

    task = PeriodicTask.objects.get(task="peerlearning.tasks.send_due_emails")
    task.enabled = False
    task.save()
    assert install_periodic_tasks() == 0
    task.refresh_from_db()
    assert task.enabled is False

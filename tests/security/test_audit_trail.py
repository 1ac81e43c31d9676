"""The audit trail's time and actor come from the database, not from whoever inserts a row.

The application's own database role is the attacker here: it can INSERT into the table, so
the guard must be in PostgreSQL itself (docs/security.md, S18).
"""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent

pytestmark = pytest.mark.django_db

INSERT = (
    "INSERT INTO peerlearning_auditevent"
    " (at, actor_id, actor_email, action, object_type, object_id, path, detail)"
    " VALUES (%s, %s, %s, 'view', 'submissions.submission', '1', '', '{}')"
)
INSERT_UNTIMED = (
    "INSERT INTO peerlearning_auditevent"
    " (actor_id, actor_email, action, object_type, object_id, path, detail)"
    " VALUES (%s, %s, 'view', 'submissions.submission', '1', '', '{}')"
)


@pytest.fixture
def postgresql(need_service):
    need_service(connection.vendor == "postgresql", "PostgreSQL (the guard is its trigger)")


def refused(statement: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError:
        return True
    return False


def test_an_audit_event_is_timed_by_the_database(department):
    before = timezone.now()
    event = audit_record(
        action=AuditEvent.Action.VIEW, actor=department.champion, object_type="x", object_id=1
    )
    stored = AuditEvent.objects.get(pk=event.pk).at
    assert event.at == stored
    assert before - datetime.timedelta(seconds=5) <= stored <= timezone.now()


def test_a_backdated_audit_event_is_refused_by_the_database(postgresql, department):
    champion = department.champion
    last_year = timezone.now() - datetime.timedelta(days=365)
    assert refused(INSERT, [last_year, champion.pk, champion.email])
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    assert refused(INSERT, [tomorrow, champion.pk, champion.email])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.create(
            at=last_year, action="view", actor_id=champion.pk, actor_email=champion.email
        )
    assert not AuditEvent.objects.filter(at__lt=timezone.now() - datetime.timedelta(days=1))


def test_an_audit_event_cannot_be_moved_in_time_afterwards(postgresql, department):
    event = audit_record(
        action=AuditEvent.Action.VIEW, actor=department.champion, object_type="x", object_id=1
    )
    assert refused(
        "UPDATE peerlearning_auditevent SET at = at - interval '1 year' WHERE id = %s", [event.pk]
    )
    assert AuditEvent.objects.get(pk=event.pk).at == event.at


def test_an_actor_email_that_is_not_the_accounts_is_refused(postgresql, department):
    champion, leader = department.champion, department.leader
    # Someone else's e-mail under the champion's id, and an e-mail under an id nobody has.
    assert refused(INSERT_UNTIMED, [champion.pk, leader.email])
    assert refused(INSERT_UNTIMED, [champion.pk, ""])
    assert refused(INSERT_UNTIMED, [10**9, champion.email])
    # The account's own e-mail, and an event without an actor (a failed sign-in), pass.
    assert not refused(INSERT_UNTIMED, [champion.pk, champion.email])
    assert not refused(INSERT_UNTIMED, [None, ""])

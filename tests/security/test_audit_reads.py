"""Every URL that shows a submission, teaching case, attendance list, report or export leaves
exactly one audit event per request (docs/security.md, S17).

Views declare what they show (`peerlearning/lib/audit.py`: `@audited_read` on pages,
`AuditedReadAPIMixin` on API views, `AuditedReadAdminMixin` on admin pages). This file walks
the URLs of `tests/test_access_matrix.py`: each is either in READS (requested here, as
someone allowed to, and counted) or in NOT_READS with the reason it shows nothing of the
kind. A new URL that is in neither fails `test_every_url_is_walked_or_said_to_show_nothing`.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from conferences.models import TeachingCase
from peerlearning.lib.audit import AuditedRead
from peerlearning.models import AuditEvent
from submissions.feeds.models import Suggestion
from tests.security.conftest import api_client_for
from tests.test_access_matrix import ACCESS, own_patterns

pytestmark = pytest.mark.django_db

SUBMISSION = "submissions.submission"


@dataclass(frozen=True)
class Read:
    """Who opens the URL, with which URL arguments, and the event it must leave."""

    who: str  # an attribute of the world or its department
    kwargs: Callable = lambda w: {}
    object_type: str = SUBMISSION
    object_id: Callable | None = None  # None: a list, whose event names what it showed
    action: str = "view"
    api: bool = False
    listed: Callable | None = None  # for lists: ids the event must name


READS: dict[str, Read] = {
    "submissions:mine": Read("radiologist", listed=lambda w: [w.neuro_case.pk]),
    "submissions:mine-detail": Read(
        "radiologist", lambda w: {"pk": w.neuro_case.pk}, object_id=lambda w: w.neuro_case.pk
    ),
    "submissions:feedback-inbox": Read("reader", listed=lambda w: [w.neuro_case.pk]),
    "submissions:feedback-detail": Read(
        "reader", lambda w: {"pk": w.neuro_case.pk}, object_id=lambda w: w.neuro_case.pk
    ),
    "submissions:feedback-pdf": Read(
        "reader",
        lambda w: {"pk": w.neuro_case.pk},
        object_id=lambda w: w.neuro_case.pk,
        action="download",
    ),
    "submissions:queue": Read("champion", listed=lambda w: [w.neuro_case.pk]),
    "submissions:review": Read(
        "champion", lambda w: {"pk": w.neuro_case.pk}, object_id=lambda w: w.neuro_case.pk
    ),
    "api:submission-list": Read("champion", api=True, listed=lambda w: [w.neuro_case.pk]),
    "api:submission-detail": Read(
        "champion", lambda w: {"pk": w.neuro_case.pk}, object_id=lambda w: w.neuro_case.pk, api=True
    ),
    "submissions:suggestions": Read(
        "radiologist", object_type="submissions.suggestion", listed=lambda w: [w.suggestion.pk]
    ),
    "api:suggestion-list": Read(
        "radiologist",
        object_type="submissions.suggestion",
        api=True,
        listed=lambda w: [w.suggestion.pk],
    ),
    "conferences:cases": Read(
        "champion", object_type="conferences.teachingcase", listed=lambda w: [w.teaching_case.pk]
    ),
    "conferences:case-detail": Read(
        "champion",
        lambda w: {"case": w.teaching_case.uuid},
        object_type="conferences.teachingcase",
        object_id=lambda w: w.teaching_case.pk,
    ),
    "conferences:roster": Read(
        "champion",
        lambda w: {"pk": w.neuro_conference.pk},
        object_type="conferences.conference",
        object_id=lambda w: w.neuro_conference.pk,
    ),
    "api:conference-attendance": Read(
        "champion",
        lambda w: {"pk": w.neuro_conference.pk},
        object_type="conferences.conference",
        object_id=lambda w: w.neuro_conference.pk,
        api=True,
    ),
    "outbox-detail": Read(
        "site_admin",
        lambda w: {"pk": w.email.pk},
        object_type="peerlearning.outboundemail",
        object_id=lambda w: w.email.pk,
    ),
}

# Admin pages (the admin guards itself, so its URLs are not in the access table).
ADMIN_READS: dict[str, Read] = {
    "admin:submissions_submission_changelist": Read(
        "site_admin", listed=lambda w: [w.neuro_case.pk, w.body_case.pk]
    ),
    "admin:submissions_submission_change": Read(
        "site_admin",
        lambda w: {"object_id": w.neuro_case.pk},
        object_id=lambda w: w.neuro_case.pk,
    ),
    "admin:conferences_teachingcase_changelist": Read(
        "site_admin", object_type="conferences.teachingcase", listed=lambda w: [w.teaching_case.pk]
    ),
    "admin:conferences_teachingcase_change": Read(
        "site_admin",
        lambda w: {"object_id": w.teaching_case.pk},
        object_type="conferences.teachingcase",
        object_id=lambda w: w.teaching_case.pk,
    ),
    "admin:conferences_attendance_changelist": Read(
        "site_admin",
        object_type="conferences.attendance",
        listed=lambda w: sorted(
            a.pk for c in (w.neuro_conference, w.body_conference) for a in c.attendance.all()
        ),
    ),
    "admin:conferences_attendance_change": Read(
        "site_admin",
        lambda w: {"object_id": w.neuro_conference.attendance.first().pk},
        object_type="conferences.attendance",
        object_id=lambda w: w.neuro_conference.attendance.first().pk,
    ),
}

# URLs that show none of it, by reason.
NOT_READS: dict[str, str] = {
    **dict.fromkeys(
        ["home", "profile", "healthz", "livez", "api:me", "api-schema", "api-docs"],
        "no case, attendance or report data",
    ),
    **dict.fromkeys(
        ["outbox-list", "audit-list"],
        "subjects and addresses, or the trail itself: no case data",
    ),
    **dict.fromkeys(
        ["api-token-create", "api-token-revoke", "outbox-retry", "submissions:submit"],
        "a form or an action; what it writes is audited by its service",
    ),
    **dict.fromkeys(
        [
            "submissions:mine-reply",
            "submissions:feedback-respond",
            "submissions:feedback-reply",
            "submissions:feedback-action-done",
            "submissions:review-triage",
            "submissions:review-feedback",
            "submissions:review-reader",
            "submissions:review-note",
            "submissions:review-action-done",
            "submissions:review-route",
            "submissions:review-close",
            "submissions:review-actions",
            "submissions:suggestion-submit",
            "submissions:suggestion-dismiss",
            "api:suggestion-dismiss",
            "api:fhir-diagnosticreport",
            "api:submission-reply",
            "api:feedback-respond",
            "api:feedback-reply",
            "api:feedback-action-done",
            "api:queue-triage",
            "api:queue-reader",
            "api:queue-note",
            "api:queue-actions",
            "api:queue-action-done",
            "api:queue-route",
            "api:queue-close",
            "api:queue-reopen",
        ],
        "POST only: a change, audited by its service",
    ),
    "submissions:submit-validate": "answers whether an accession is new; shows no case",
    "submissions:reader-search": "names from the section's roster, no case",
    "submissions:settings": "the section's settings",
    "submissions:summary": "counts only, never a case",
}

# Shown data not yet declared: the conference and reporting views. Listed so that the walk
# says plainly what it does not cover yet (docs/security.md, S17).
PENDING: set[str] = {
    name
    for name in ACCESS
    if name.split(":")[0] in ("conferences", "reporting", "anonymizer")
    or name.startswith("api:conference")
} - {
    "conferences:cases",
    "conferences:case-detail",
    "conferences:roster",
    "api:conference-attendance",
}


def test_every_url_is_walked_or_said_to_show_nothing():
    classified = set(READS) | set(NOT_READS) | PENDING
    assert set(ACCESS) - classified == set(), "add the URL to READS or NOT_READS"
    assert classified - set(ACCESS) == set(), "remove the URL that no longer exists"
    assert not set(READS) & set(NOT_READS)
    assert not (set(READS) | set(NOT_READS)) & PENDING


@pytest.fixture
def walk_world(world):
    from peerlearning.lib.emails import email_enqueue

    d = world.department
    world.teaching_case = TeachingCase.objects.create(
        section=d.neuro, title="Subdural on the vertex", created_by=d.champion
    )
    world.teaching_case.sources.set([world.neuro_case])
    world.suggestion = Suggestion.objects.create(
        radiologist=d.radiologist,
        kind=Suggestion.Kind.ADDENDUM_TO_OTHER,
        accession_number="SUGG0000001",
        original_reader=d.reader,
    )
    world.email, _ = email_enqueue(
        key="walk:1", to=d.reader.email, subject="Feedback waiting", body_text="Sign in."
    )
    return world


def person(world, who: str):
    return getattr(world, who, None) or getattr(world.department, who)


def signed_in_client(client, world, read: Read):
    """The caller, signed in (a page session, or an API token); signing in is audited too,
    so this happens before the events are counted."""
    user = person(world, read.who)
    if read.api:
        return api_client_for(user)
    client.force_login(user)
    return client


def check_one_event(client, world, name: str, read: Read) -> None:
    caller = signed_in_client(client, world, read)
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    response = caller.get(reverse(name, kwargs=read.kwargs(world) or None))
    assert response.status_code == 200, (name, response.status_code)
    events = list(AuditEvent.objects.exclude(pk__in=before).exclude(action="login"))
    assert len(events) == 1, (name, [(e.action, e.object_type) for e in events])
    event = events[0]
    user = person(world, read.who)
    assert (event.actor_id, event.actor_email) == (user.pk, user.email)
    assert (event.action, event.object_type) == (read.action, read.object_type)
    if read.object_id is not None:
        assert event.object_id == str(read.object_id(world))
    else:
        assert event.object_id == ""
        assert set(event.detail["ids"]) >= set(read.listed(world)), name


@pytest.mark.parametrize("name", sorted(READS))
def test_each_page_that_shows_a_case_leaves_one_audit_event(client, walk_world, name):
    check_one_event(client, walk_world, name, READS[name])


@pytest.mark.parametrize("name", sorted(ADMIN_READS))
def test_each_admin_page_that_shows_a_case_leaves_one_audit_event(client, walk_world, name):
    check_one_event(client, walk_world, name, ADMIN_READS[name])


def test_each_page_of_the_queue_is_recorded_with_the_cases_it_showed(client, world):
    from tests.security.conftest import case_for

    d = world.department
    cases = [case_for(d.radiologist, d.neuro, d.reader, f"QUEUE{n:06d}") for n in range(30)]
    client.force_login(d.champion)
    first = client.get(reverse("submissions:queue"))
    second = client.get(reverse("submissions:queue"), {"page": 2}, headers={"HX-Request": "true"})
    assert first.status_code == second.status_code == 200
    events = list(AuditEvent.objects.filter(path=reverse("submissions:queue")).order_by("id"))
    assert len(events) == 2
    shown = [set(event.detail["ids"]) for event in events]
    assert not shown[0] & shown[1]
    assert shown[0] | shown[1] == {case.pk for case in cases} | {world.neuro_case.pk}


def test_a_refused_or_missing_object_leaves_no_read_event(client, world):
    d = world.department
    client.force_login(d.champion)
    api = api_client_for(d.champion)
    before = AuditEvent.objects.count()
    assert client.get(reverse("submissions:review", args=[world.body_case.pk])).status_code == 404
    assert client.get(reverse("submissions:review", args=[987654])).status_code == 404
    assert api.get(reverse("api:submission-detail", args=[world.body_case.pk])).status_code == 404
    assert AuditEvent.objects.count() == before


def test_each_walked_view_declares_what_it_shows():
    """A view recording by hand would pass the walk too; the walk's URLs use the mechanism."""
    undeclared = []
    for name, pattern in own_patterns():
        if name in READS:
            view = pattern.callback
            rule = getattr(view, "audited_read", None) or getattr(
                getattr(view, "cls", None), "audited_read", None
            )
            if not isinstance(rule, AuditedRead):
                undeclared.append(name)
    assert undeclared == []

"""The text gate: scrubbed, flagged, masked until a champion releases each span; audited."""

import pytest
from django.urls import reverse

from anonymizer.gate import NO_CONTEXT, GateContext, field_key, gated_text, texts_gate
from anonymizer.models import TextRelease
from conferences.cases.services import teaching_case_update
from conferences.gated import conference_text
from conferences.tests.conftest import make_conference
from conferences.tests.teaching import ready_case
from peerlearning.models import AuditEvent

pytestmark = pytest.mark.django_db


def review_url(obj, source):
    pk = obj.uuid if source == "conferences.teachingcase" else obj.pk
    return reverse("anonymizer:text-review", args=[source, pk])


def open_spans(obj, name, context=NO_CONTEXT):
    (gated,) = texts_gate(items=[(field_key(obj, name), "", getattr(obj, name))], context=context)
    return gated


def test_a_learning_point_reaches_no_output_with_the_reader_or_the_mrn(department):
    conference = make_conference(
        department.neuro,
        actor=department.champion,
        learning_points="Dr Olivia Nuñez missed it on the first read (MRN 4471203).",
    )
    shown = conference_text(conference, "learning_points")
    assert shown == "Dr [NAME] missed it on the first read (MRN [ID])."


def test_a_flagged_span_stays_masked_until_a_champion_releases_it(client, department):
    conference = make_conference(
        department.neuro,
        actor=department.champion,
        learning_points="Grace Hall called about the Segond fracture.",
    )
    assert conference_text(conference, "learning_points") == (
        "[NAME] called about the Segond fracture."
    )
    client.force_login(department.champion)
    page = client.get(review_url(conference, "conferences.conference")).content.decode()
    assert '<mark class="flag-open"' in page and "Grace Hall" in page
    assert "This is not PHI" in page and "Passed" not in page

    span = open_spans(conference, "learning_points").unreleased[0]
    response = client.post(
        review_url(conference, "conferences.conference"),
        {
            "field": "learning_points",
            "start": span.start,
            "end": span.end,
            "digest": span.digest,
            "decision": "release",
        },
    )
    assert response.status_code == 302
    assert conference_text(conference, "learning_points") == (
        "Grace Hall called about the Segond fracture."
    )
    event = AuditEvent.objects.get(action="text.span-released")
    assert event.actor_id == department.champion.pk
    assert event.detail == {
        "field": field_key(conference, "learning_points"),
        "kind": "NAME",
        "start": 0,
        "end": 10,
    }
    assert "Grace" not in str(event.detail)
    page = client.get(review_url(conference, "conferences.conference")).content.decode()
    assert "Checked by rules: 1 span released by Cass Champion" in page


def test_replace_writes_the_marker_into_the_stored_text(client, department):
    conference = make_conference(
        department.neuro, actor=department.champion, learning_points="Seen again on 3/14."
    )
    span = open_spans(conference, "learning_points").unreleased[0]
    client.force_login(department.champion)
    client.post(
        review_url(conference, "conferences.conference"),
        {
            "field": "learning_points",
            "start": span.start,
            "end": span.end,
            "digest": span.digest,
            "decision": "replace",
        },
    )
    conference.refresh_from_db()
    assert conference.learning_points == "Seen again on [DATE]."
    assert AuditEvent.objects.filter(action="text.span-replaced").count() == 1


def test_a_span_that_changed_meanwhile_is_not_released(client, department):
    conference = make_conference(
        department.neuro, actor=department.champion, learning_points="Grace Hall called."
    )
    span = open_spans(conference, "learning_points").unreleased[0]
    client.force_login(department.champion)
    response = client.post(
        review_url(conference, "conferences.conference"),
        {
            "field": "learning_points",
            "start": span.start,
            "end": span.end,
            "digest": "0" * 64,
            "decision": "release",
        },
        follow=True,
    )
    assert "has changed since the page was shown" in response.content.decode()
    assert not TextRelease.objects.exists()


def test_a_champion_of_another_section_gets_404(client, department):
    conference = make_conference(department.neuro, actor=department.champion, learning_points="x")
    client.force_login(department.body_champion)
    assert client.get(review_url(conference, "conferences.conference")).status_code == 404


def test_a_release_holds_for_those_words_in_that_field_only(department):
    conference = make_conference(
        department.neuro, actor=department.champion, learning_points="Grace Hall called."
    )
    span = open_spans(conference, "learning_points").unreleased[0]
    TextRelease.objects.create(
        field_key=field_key(conference, "learning_points"),
        span_digest=span.digest,
        kind="NAME",
        released_by=department.champion,
    )
    assert gated_text(
        "Grace Hall called.", key=field_key(conference, "learning_points")
    ).startswith("Grace Hall")
    assert gated_text("Grace Hall called.", key=field_key(conference, "title")) == (
        "[NAME] called."
    )


def test_identifiers_typed_into_a_teaching_case_hold_it_back_until_decided(client, department):
    case = ready_case(department.neuro, department.champion, images=0)
    case, _ = teaching_case_update(
        case=case,
        actor=department.champion,
        findings="MRN 4471203, seen 03/04/2026, call 617-555-0199.",
    )
    assert case.findings == "MRN [ID], seen 03/04/2026, call [PHONE]."
    assert not case.check_passed
    assert [f["kind"] for f in case.check_findings] == ["flagged-text"]
    client.force_login(department.champion)
    detail = client.get(reverse("conferences:case-detail", args=[case.uuid])).content.decode()
    assert "Passed" not in detail and "decide on each span" in detail

    (span,) = open_spans(case, "findings", GateContext(dates=False)).unreleased
    client.post(
        review_url(case, "conferences.teachingcase"),
        {
            "field": "findings",
            "start": span.start,
            "end": span.end,
            "digest": span.digest,
            "decision": "release",
        },
    )
    case.refresh_from_db()
    assert case.check_passed
    detail = client.get(reverse("conferences:case-detail", args=[case.uuid])).content.decode()
    assert "Checked by rules: 1 span released by Cass Champion" in detail
    assert "Passed" not in detail


def test_the_acr_report_prints_learning_points_and_actions_through_the_gate(department):
    import datetime

    from django.utils import timezone

    from conferences.models import Conference, ImprovementAction
    from reporting.reports.acr import acr_report_build

    start = timezone.now() - datetime.timedelta(days=2)
    conference = make_conference(
        department.neuro,
        actor=department.champion,
        start=start,
        learning_points="Dr Olivia Nuñez missed it on the first read (MRN 4471203). "
        "Grace Hall called.",
    )
    Conference.objects.filter(pk=conference.pk).update(status=Conference.Status.HELD)
    ImprovementAction.objects.create(
        section=department.neuro,
        title="Template for Elinor Quist's clinic",
        category=ImprovementAction.Category.values[0],
        outcome="Agreed with Grace Hall on 3/14.",
    )
    span = open_spans(conference, "learning_points", GateContext()).unreleased[-1]
    TextRelease.objects.create(
        field_key=field_key(conference, "learning_points"),
        span_digest=span.digest,
        kind="NAME",
        released_by=department.champion,
    )
    report = acr_report_build(sections=[department.neuro], start=start.date(), end=start.date())
    (row,) = report.conferences
    assert row.learning_points == (
        "Dr [NAME] missed it on the first read (MRN [ID]). Grace Hall called."
    )
    printed = " ".join(f"{a.title} {a.outcome}" for a in report.actions)
    assert "Elinor" not in printed and "Quist" not in printed and "3/14" not in printed

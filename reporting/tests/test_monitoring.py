"""The monitoring pages: who sees which section, what leaders never see, exports, the
reminder's buttons, the targets page, and a query budget that ignores the section's size."""

import datetime
import io

import openpyxl
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from peerlearning.lib.months import month_of
from peerlearning.models import AuditEvent, OutboundEmail, Role
from peerlearning.testing import make_member
from reporting.targets.models import ReminderSettings, TargetExemption, TargetPolicy
from reporting.tests.test_targets import submit

pytestmark = pytest.mark.django_db

THIS_MONTH = month_of(timezone.localdate())
KEY = f"{THIS_MONTH:%Y-%m}"


@pytest.fixture
def neuro(department):
    """This month: the radiologist on target with 2, the reader behind with none."""
    for reason in ("great_catch", "discrepancy"):
        submit(department.neuro, department.radiologist, on=THIS_MONTH, reason=reason)
    return department


def page(client, user, name="reporting:monitoring", **params):
    client.force_login(user)
    return client.get(reverse(name), params)


def row_html(html: str, name: str) -> str:
    start = html.index(name, html.index("<table"))
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


# The month dashboard ----------------------------------------------------------------------


def test_the_assistant_sees_who_is_behind_highlighted_with_a_text_marker(client, neuro):
    response = page(client, neuro.assistant)
    assert response.status_code == 200
    html = response.content.decode()
    behind = row_html(html, "Quinn Reader")
    assert 'class="row-warn"' in behind and "Behind" in behind and "0 / 2" in behind
    on_target = row_html(html, "Rowan Submitter")
    assert "row-warn" not in on_target and "On target" in on_target
    assert "Tate Trainee" not in html  # trainees have no target


def test_a_section_is_open_only_to_its_own_assistants_champions_and_leaders(client, neuro):
    response = page(client, neuro.body_champion, section=neuro.neuro.pk)
    assert response.status_code == 404
    assert page(client, neuro.body_champion).context["section"] == neuro.body
    assert page(client, neuro.radiologist).status_code == 403


def test_filters_come_back_as_a_fragment_for_htmx(client, neuro):
    client.force_login(neuro.assistant)
    response = client.get(
        reverse("reporting:monitoring"), {"status": "behind"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="monitoring-results"')
    assert "Quinn Reader" in html and "Rowan Submitter" not in html


def test_bad_filter_values_fall_back_to_the_defaults(client, neuro):
    response = page(client, neuro.assistant, month="13-2026", sort="drop table", status="x")
    assert response.status_code == 200
    assert response.context["month"] == THIS_MONTH


def test_the_dashboard_shows_who_was_reminded_and_failures(client, neuro):
    OutboundEmail.objects.create(
        key=f"reminder:{neuro.neuro.pk}:{KEY}:{neuro.reader.pk}",
        to=neuro.reader.email,
        subject="x",
        body_text="x",
        status=OutboundEmail.Status.FAILED,
        attempts=8,
        last_error="SMTPDataError: 451 Try again later",
    )
    OutboundEmail.objects.create(
        key=f"reminder:{neuro.neuro.pk}:{KEY}:{neuro.radiologist.pk}",
        to=neuro.radiologist.email,
        subject="x",
        body_text="x",
        status=OutboundEmail.Status.SENT,
        sent_at=timezone.now(),
    )
    html = page(client, neuro.assistant).content.decode()
    assert "Failed" in row_html(html, "Quinn Reader")
    assert "Sent" in row_html(html, "Rowan Submitter")


def test_the_dashboard_takes_the_same_queries_for_3_or_40_radiologists(
    client, neuro, django_assert_max_num_queries
):
    client.force_login(neuro.assistant)
    url = reverse("reporting:monitoring")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: the session, the policy rows
    cache.clear()  # the figures computed, not read from the cache
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for i in range(37):
        person = make_member(neuro.neuro, Role.RADIOLOGIST, first_name=f"Many{i}", last_name="Rad")
        submit(neuro.neuro, person, on=THIS_MONTH)
    with django_assert_max_num_queries(len(small)):
        response = client.get(url)
    assert len(response.context["report"].rows) == 40
    # Session, user and roles, then the figures (attendance grouped in two queries for the
    # year): the budget is fixed, not per radiologist or month.
    assert len(small) <= 17
    # Loaded again with nothing changed, the rows come from the cache: the session, the
    # person, their roles and sections, the deliveries and the reminder run.
    with django_assert_max_num_queries(10):
        again = client.get(url)
    assert again.content.decode().count("<tr") == response.content.decode().count("<tr")


def test_the_dashboard_shows_a_saved_change_on_the_next_load(client, neuro):
    assert "0 / 2" in row_html(page(client, neuro.assistant).content.decode(), "Quinn Reader")
    submit(neuro.neuro, neuro.reader, on=THIS_MONTH)
    html = page(client, neuro.assistant).content.decode()
    assert "1 / 2" in row_html(html, "Quinn Reader")


def test_filters_apply_to_the_cached_rows(client, neuro):
    page(client, neuro.assistant)  # the rows cached, unfiltered
    html = page(client, neuro.assistant, status="met").content.decode()
    assert "Rowan Submitter" in html and "Quinn Reader" not in html
    html = page(client, neuro.assistant, q="quinn").content.decode()
    assert "Quinn Reader" in html and "Rowan Submitter" not in html
    html = page(client, neuro.assistant, sort="submissions").content.decode()
    assert html.index("Rowan Submitter", html.index("<tbody")) < html.index("Quinn Reader")


def test_the_year_grid_marks_months_behind(client, neuro):
    response = page(client, neuro.leader, "reporting:monitoring-year", year=THIS_MONTH.year)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'title="Behind">0/2' in row_html(html, "Quinn Reader")
    assert "2/2" in row_html(html, "Rowan Submitter")


# Drill-down: assistants see the cases, leaders the counts --------------------------------------


def test_the_assistant_sees_current_submissions_and_the_read_is_audited(client, neuro):
    accession = neuro.radiologist.submissions.first().accession_number
    url = reverse("reporting:monitoring-person", args=[neuro.radiologist.pk])
    client.force_login(neuro.assistant)
    html = client.get(url, {"month": KEY}).content.decode()
    assert accession in html and "Great catch" in html
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert event.actor_id == neuro.assistant.pk and accession not in str(event.detail)


def test_a_leader_drilling_down_sees_counts_and_no_case(client, neuro):
    neuro.radiologist.submissions.update(original_reader=neuro.reader)
    client.force_login(neuro.leader)
    url = reverse("reporting:monitoring-person", args=[neuro.radiologist.pk])
    html = client.get(url, {"month": KEY}).content.decode()
    for submission in neuro.radiologist.submissions.all():
        assert submission.accession_number not in html
        assert submission.description not in html
    assert "Quinn" not in html  # never the original reader
    assert "Discrepancy" in html and "counts only" in html


def test_someone_outside_the_program_is_not_found(client, neuro):
    client.force_login(neuro.assistant)
    url = reverse("reporting:monitoring-person", args=[neuro.body_champion.pk])
    assert client.get(url).status_code == 404


# Exports ---------------------------------------------------------------------------------------


def test_the_month_exports_as_csv_with_counts_and_no_cases_and_is_audited(client, neuro):
    client.force_login(neuro.leader)
    response = client.get(reverse("reporting:monitoring-export"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert "Quinn Reader" in text and "Behind" in text
    for submission in neuro.radiologist.submissions.all():
        assert submission.accession_number not in text
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.detail["format"] == "csv" and event.detail["rows"] == 4


def test_the_year_exports_as_a_real_xlsx_workbook(client, neuro):
    client.force_login(neuro.assistant)
    response = client.get(
        reverse("reporting:monitoring-export"),
        {"format": "xlsx", "period": "year", "year": THIS_MONTH.year},
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Name" and rows[-1][0] == "Section total"
    assert any(row[0] == "Rowan Submitter" for row in rows)


def test_an_export_neutralises_names_that_look_like_formulas(client, neuro):
    neuro.reader.first_name = "=HYPERLINK(1)"
    neuro.reader.save()
    client.force_login(neuro.assistant)
    text = client.get(reverse("reporting:monitoring-export")).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


# The reminder's page ---------------------------------------------------------------------------


def test_the_assistant_previews_sends_now_and_a_second_send_owes_nothing(client, neuro):
    client.force_login(neuro.assistant)
    preview = client.get(
        reverse("reporting:reminders-preview"), {"user": neuro.reader.pk}
    ).content.decode()
    assert "0 of 2 case submissions so far" in preview
    assert "You have not submitted a case this month yet." in preview

    data = {"section": neuro.neuro.pk, "month": KEY}
    response = client.post(reverse("reporting:reminders-send"), data, follow=True)
    assert "3 reminders queued" in response.content.decode()
    again = client.post(reverse("reporting:reminders-send"), data, follow=True)
    assert "Nothing new to send" in again.content.decode()
    assert OutboundEmail.objects.filter(key__startswith="reminder:").count() == 3


def test_reminders_go_out_for_the_current_month_only(client, neuro):
    client.force_login(neuro.assistant)
    data = {"section": neuro.neuro.pk, "month": "2020-01"}
    response = client.post(reverse("reporting:reminders-send"), data, follow=True)
    assert "current month only" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_send_me_a_test_goes_to_the_assistant(client, neuro):
    client.force_login(neuro.assistant)
    data = {"section": neuro.neuro.pk, "month": KEY, "user": neuro.reader.pk}
    client.post(reverse("reporting:reminders-test"), data)
    email = OutboundEmail.objects.get()
    assert email.to == neuro.assistant.email and email.subject.startswith("[Test]")


def test_failed_reminders_can_be_sent_again(client, neuro):
    email = OutboundEmail.objects.create(
        key=f"reminder:{neuro.neuro.pk}:{KEY}:{neuro.reader.pk}",
        to=neuro.reader.email,
        subject="x",
        body_text="x",
        status=OutboundEmail.Status.FAILED,
        attempts=8,
    )
    client.force_login(neuro.assistant)
    data = {"section": neuro.neuro.pk, "month": KEY, "retry_failed": "1"}
    client.post(reverse("reporting:reminders-send"), data)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING and email.attempts == 0


def test_a_leader_cannot_send_reminders(client, neuro):
    client.force_login(neuro.leader)
    data = {"section": neuro.neuro.pk, "month": KEY}
    assert client.post(reverse("reporting:reminders-send"), data).status_code == 403


# Targets, exemptions and reminder settings -------------------------------------------------------


def test_a_champion_sets_new_targets_from_next_month(client, neuro):
    client.force_login(neuro.champion)
    start = (THIS_MONTH + datetime.timedelta(days=32)).replace(day=1)
    response = client.post(
        reverse("reporting:targets-policy"),
        {
            "section": neuro.neuro.pk,
            "effective_from": f"{start:%Y-%m}",
            "submissions_per_month": 1,
            "attendance_rule": "per_year",
            "attendance_percent": 50,
            "attendance_per_year": 10,
            "counted_reasons": ["discrepancy", "great_catch"],
            "note": "Committee, 3 March",
        },
    )
    assert response.status_code == 302
    policy = TargetPolicy.objects.get()
    assert (policy.effective_from, policy.submissions_per_month) == (start, 1)
    assert policy.created_by == neuro.champion
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE).exists()


def test_a_bad_policy_is_refused_with_messages_and_the_input_kept(client, neuro):
    client.force_login(neuro.leader)
    response = client.post(
        reverse("reporting:targets-policy"),
        {
            "section": neuro.neuro.pk,
            "effective_from": "March",
            "submissions_per_month": 1,
            "attendance_rule": "per_year",
            "attendance_percent": 50,
            "attendance_per_year": 0,
            "note": "kept text",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a month as YYYY-MM" in html
    assert "Tick at least one reason" in html
    assert "kept text" in html
    assert not TargetPolicy.objects.exists()


def test_the_assistant_records_leave_and_the_target_drops(client, neuro):
    client.force_login(neuro.assistant)
    response = client.post(
        reverse("reporting:targets-exemption-add"),
        {
            "section": neuro.neuro.pk,
            "user": neuro.reader.pk,
            "kind": "leave",
            "starts_on": THIS_MONTH.isoformat(),
            "ends_on": "",
            "reason": "Parental leave",
        },
    )
    assert response.status_code == 302
    exemption = TargetExemption.objects.get()
    assert exemption.created_by == neuro.assistant and exemption.fte is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE)
    assert "Parental" not in str(event.detail)
    html = page(client, neuro.assistant).content.decode()
    assert "No target" in row_html(html, "Quinn Reader")


def test_an_exemption_for_someone_outside_the_section_is_refused(client, neuro):
    client.force_login(neuro.assistant)
    response = client.post(
        reverse("reporting:targets-exemption-add"),
        {
            "section": neuro.neuro.pk,
            "user": neuro.body_champion.pk,
            "kind": "part_time",
            "starts_on": THIS_MONTH.isoformat(),
            "fte": "",
            "reason": "x",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html and "Give the FTE" in html


def test_an_exemption_is_removed_by_a_leader(client, neuro):
    exemption = TargetExemption.objects.create(
        section=neuro.neuro,
        user=neuro.reader,
        kind="leave",
        starts_on=THIS_MONTH,
        reason="x",
    )
    client.force_login(neuro.leader)
    url = reverse("reporting:targets-exemption-delete", args=[exemption.pk])
    assert client.post(url, {"section": neuro.neuro.pk}).status_code == 302
    assert not TargetExemption.objects.exists()


def test_the_assistant_moves_the_reminder_day_and_hour(client, neuro):
    client.force_login(neuro.assistant)
    data = {"section": neuro.neuro.pk, "enabled": "on", "month_summary": "on"}
    data.update(day_of_month=10, hour=7)
    response = client.post(reverse("reporting:targets-reminders"), {**data, "when_met": "skip"})
    assert response.status_code == 302
    config = ReminderSettings.objects.get()
    assert (config.day_of_month, config.hour, config.when_met) == (10, 7, "skip")
    assert AuditEvent.objects.get(action=AuditEvent.Action.UPDATE).detail["changed"] == [
        "day_of_month",
        "hour",
        "when_met",
    ]
    bad = client.post(reverse("reporting:targets-reminders"), {**data, "day_of_month": 31})
    assert bad.status_code == 400 and "less than or equal to 28" in bad.content.decode()


def test_the_targets_page_shows_each_role_only_the_forms_it_may_use(client, neuro):
    html = page(client, neuro.leader, "reporting:targets").content.decode()
    assert "Change the targets" in html and "Add an exemption" in html
    assert "Save the reminder settings" not in html
    html = page(client, neuro.champion, "reporting:targets").content.decode()
    assert "Change the targets" in html and "Add an exemption" not in html

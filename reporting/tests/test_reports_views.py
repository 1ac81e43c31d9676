"""The reports pages as each role uses them: the leader's dashboard (and its query budget),
generating and downloading reports, OPPE PDFs, MOC letters and referrals."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from conferences.models import Conference
from peerlearning.models import AuditEvent, Membership, Role
from peerlearning.testing import SectionFactory, make_member
from reporting.models import FppeEvent, OppePolicy, OppeReferral
from reporting.reports.models import GeneratedReport
from reporting.tests.test_targets import submit
from submissions.tests.pdftext import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def lead(user, section):
    """Make someone a leader of one more section (without touching their password, which
    would end their session)."""
    Membership.objects.create(
        user=user,
        section=section,
        role=Role.LEADER,
        started_on=timezone.localdate() - datetime.timedelta(days=30),
    )


def get(client, user, name, *args, **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), params)


# The dashboard ----------------------------------------------------------------------------


def test_the_leader_sees_this_years_program_at_a_glance(client, department):
    today = timezone.localdate()
    for reason in ("great_catch", "discrepancy", "interesting"):
        submit(department.neuro, department.radiologist, on=today.replace(day=1), reason=reason)

    response = get(client, department.leader, "reporting:leader")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stat-cases">3<' in html
    assert html.count('role="img"') == 3  # per month, attendance, targets
    assert "Cases submitted per month" in html
    assert [s.name for s in response.context["shown"]] == ["Neuroradiology"]  # the one they lead
    assert "3 this month" in html


def test_the_dashboard_never_shows_who_read_a_discrepancy(client, department):
    submit(
        department.neuro,
        department.radiologist,
        on=timezone.localdate().replace(day=1),
        reason="discrepancy",
        reader=department.reader,
    )

    html = get(client, department.leader, "reporting:leader").content.decode()

    assert "Quinn Reader" not in html and "quinn.reader" not in html


def test_the_dashboard_takes_a_fixed_number_of_queries(
    client, department, django_assert_max_num_queries
):
    client.force_login(department.leader)
    url = reverse("reporting:leader")
    client.get(url)  # warm: the session, the policy rows
    cache.clear()  # the figures computed, not read from the cache
    with django_assert_max_num_queries(22) as small:
        client.get(url)
    for n in range(5):
        section = SectionFactory(name=f"Section {n}", slug=f"section-{n}")
        lead(department.leader, section)
        for _ in range(8):
            person = make_member(section, Role.RADIOLOGIST)
            submit(section, person, on=timezone.localdate().replace(day=1))
    cache.clear()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(response.context["shown"]) == 6
    assert 'id="stat-cases">40<' in response.text
    # Loaded again with nothing changed, the figures come from the cache: only the
    # session, the person, their roles and their sections are read.
    with django_assert_max_num_queries(9):
        again = client.get(url)
    assert again.context["figures"] == response.context["figures"]


def test_a_change_shows_on_the_next_load_despite_the_cache(client, department):
    today = timezone.localdate()
    submit(department.neuro, department.radiologist, on=today.replace(day=1))
    assert 'id="stat-cases">1<' in get(client, department.leader, "reporting:leader").text

    submission = submit(department.neuro, department.radiologist, on=today.replace(day=1))
    assert 'id="stat-cases">2<' in get(client, department.leader, "reporting:leader").text

    submission.delete()
    assert 'id="stat-cases">1<' in get(client, department.leader, "reporting:leader").text

    start = timezone.now() - datetime.timedelta(minutes=90)
    Conference.objects.create(
        section=department.neuro,
        title="Neuro PL conference",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Conference.Status.HELD,
        check_in_code="ACDEFG",
    )
    html = get(client, department.leader, "reporting:leader").text
    assert 'id="stat-conferences">1<' in html and "Neuro PL conference" in html


def test_without_the_cache_the_dashboard_still_answers(client, department, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    submit(department.neuro, department.radiologist, on=timezone.localdate().replace(day=1))
    response = get(client, department.leader, "reporting:leader")
    assert response.status_code == 200 and 'id="stat-cases">1<' in response.text


def test_a_section_can_be_picked_and_others_stay_out_of_reach(client, department):
    lead(department.leader, department.body)

    response = get(client, department.leader, "reporting:leader", section=department.body.pk)
    assert [s.name for s in response.context["shown"]] == ["Body imaging"]

    department.leader.memberships.filter(section=department.body).delete()
    response = get(client, department.leader, "reporting:leader", section=department.body.pk)
    assert [s.name for s in response.context["shown"]] == ["Neuroradiology"]


# Generating and downloading ---------------------------------------------------------------


def test_a_leader_generates_the_annual_report_and_downloads_it_again_later(
    client, department, django_capture_on_commit_callbacks
):
    client.force_login(department.leader)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reporting:report-generate-acr"),
            {"scope": str(department.neuro.pk), "year": "2026", "file_format": "pdf"},
        )

    report = GeneratedReport.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#report-{report.pk}")
    assert report.status == GeneratedReport.Status.DONE  # the eager worker ran it
    listing = client.get(reverse("reporting:reports")).content.decode()
    assert f'id="report-{report.pk}"' in listing and "Download" in listing
    assert "hx-trigger" not in listing  # finished rows stop polling

    download = client.get(reverse("reporting:report-download", args=[report.pk]))
    content = b"".join(download.streaming_content)
    assert download["Content-Type"] == "application/pdf"
    assert 'filename="acr-annual-report-neuroradiology-2026.pdf"' in download["Content-Disposition"]
    assert "Neuroradiology" in pdf_text(content)
    event = AuditEvent.objects.get(action=AuditEvent.Action.DOWNLOAD)
    assert (event.actor_id, event.object_id) == (department.leader.pk, str(report.pk))


def test_a_report_being_generated_polls_its_status(client, department):
    client.force_login(department.leader)
    client.post(
        reverse("reporting:report-generate-acr"),
        {"scope": str(department.neuro.pk), "year": "2026", "file_format": "xlsx"},
    )
    report = GeneratedReport.objects.get()  # no worker ran: the commit hook was not executed
    GeneratedReport.objects.filter(pk=report.pk).update(
        status=GeneratedReport.Status.RUNNING, progress=40, progress_text="Laying out the PDF"
    )

    row = client.get(reverse("reporting:report-status", args=[report.pk]), HTTP_HX_REQUEST="true")

    html = row.content.decode()
    assert html.strip().startswith(f'<tr id="report-{report.pk}"')
    assert 'hx-trigger="every 2s"' in html
    assert 'value="40"' in html and "Laying out the PDF" in html
    assert client.get(reverse("reporting:report-download", args=[report.pk])).status_code == 404


def test_bad_choices_are_refused_with_a_message_and_nothing_is_generated(client, department):
    client.force_login(department.leader)

    response = client.post(
        reverse("reporting:report-generate-acr"),
        {
            "scope": str(department.body.pk),  # not theirs
            "year": "2026",
            "start_month": "2026-05",
            "end_month": "2026-02",
            "file_format": "docx",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Please check the form" in html
    assert "The last month comes before the first." in html
    assert not GeneratedReport.objects.exists()


def test_the_oppe_batch_is_generated_for_the_chosen_period(
    client, department, django_capture_on_commit_callbacks
):
    client.force_login(department.leader)
    policy = OppePolicy.load()
    start, end = policy.period_containing(timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("reporting:report-generate-oppe"),
            {"scope": str(department.neuro.pk), "period": f"{start}:{end}"},
        )

    report = GeneratedReport.objects.get()
    assert report.kind == GeneratedReport.Kind.OPPE_BATCH
    assert report.status == GeneratedReport.Status.DONE
    assert report.file_name.endswith(".zip")


def test_other_roles_cannot_reach_a_leaders_report(client, department):
    client.force_login(department.leader)
    client.post(
        reverse("reporting:report-generate-acr"),
        {"scope": str(department.neuro.pk), "year": "2026", "file_format": "pdf"},
    )
    report = GeneratedReport.objects.get()
    body_leader = make_member(department.body, Role.LEADER)

    for person, status in (
        (department.radiologist, 403),
        (department.champion, 403),
        (department.assistant, 403),
        (department.quality, 403),
        (department.outsider, 403),
        (body_leader, 404),
    ):
        client.force_login(person)
        for name in ("reporting:report-download", "reporting:report-status"):
            assert client.get(reverse(name, args=[report.pk])).status_code == status, person


# One radiologist's OPPE report and letter --------------------------------------------------


def test_a_radiologist_downloads_their_own_oppe_report_and_nobody_elses(client, department):
    response = get(client, department.radiologist, "reporting:oppe-mine-pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Rowan Submitter" in pdf_text(response.content)
    assert (
        get(client, department.radiologist, "reporting:oppe-pdf", department.reader.pk).status_code
        == 403
    )
    assert get(client, department.trainee, "reporting:oppe-mine-pdf").status_code == 403


def test_leaders_download_the_oppe_reports_of_their_sections_only(client, department):
    response = get(
        client,
        department.leader,
        "reporting:oppe-pdf",
        department.reader.pk,
        start="2026-01-01",
        end="2026-06-30",
    )

    assert response.status_code == 200
    assert 'filename="oppe-quinn-reader-2026-01-2026-06.pdf"' in response["Content-Disposition"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.DOWNLOAD)
    assert event.object_id == str(department.reader.pk)
    assert event.detail["what"] == "oppe report"
    response = get(client, department.leader, "reporting:oppe-pdf", department.body_champion.pk)
    assert response.status_code == 404


def test_the_moc_letter_for_a_radiologist_and_for_oneself(client, department):
    response = get(
        client, department.leader, "reporting:moc-letter", department.reader.pk, year="2026"
    )
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Quinn Reader" in text and "Lee Leader" in text

    mine = get(client, department.radiologist, "reporting:moc-letter-mine", year="2026")
    assert mine.status_code == 200
    assert "Rowan Submitter" in pdf_text(mine.content)
    assert (
        get(
            client, department.leader, "reporting:moc-letter", department.body_champion.pk
        ).status_code
        == 404
    )


def test_a_leader_records_and_withdraws_a_referral_for_the_period(client, department):
    client.force_login(department.leader)
    url = reverse("reporting:oppe-referral", args=[department.reader.pk])
    period = {"start": "2026-01-01", "end": "2026-06-30"}

    response = client.post(url, {**period, "referred": "on"})

    assert response.status_code == 302
    referral = OppeReferral.objects.get()
    assert referral.fppe_event.from_oppe
    page = client.get(reverse("reporting:oppe-radiologist", args=[department.reader.pk]), period)
    assert "Withdraw the referral" in page.content.decode()

    client.post(url, {**period, "referred": ""})
    assert not OppeReferral.objects.exists() and not FppeEvent.objects.exists()


def test_a_leader_cannot_refer_a_radiologist_outside_their_sections(client, department):
    client.force_login(department.leader)
    url = reverse("reporting:oppe-referral", args=[department.body_champion.pk])

    response = client.post(url, {"start": "2026-01-01", "end": "2026-06-30", "referred": "on"})

    assert response.status_code == 404
    assert not OppeReferral.objects.exists()


def test_the_oppe_pages_offer_the_pdf_and_the_letter(client, department):
    mine = get(client, department.radiologist, "reporting:oppe-mine").content.decode()
    assert reverse("reporting:oppe-mine-pdf") in mine
    assert reverse("reporting:moc-letter-mine") in mine
    theirs = get(
        client, department.leader, "reporting:oppe-radiologist", department.reader.pk
    ).content.decode()
    assert reverse("reporting:oppe-pdf", args=[department.reader.pk]) in theirs
    assert "Refer for focused review (FPPE)" in theirs


def test_every_report_as_each_role(client, department):
    """Who gets what: leaders everything of their sections, radiologists their own PDFs."""
    allowed = {
        "reporting:leader": {"leader", "site_admin"},
        "reporting:reports": {"leader", "site_admin"},
        "reporting:oppe-mine-pdf": {"radiologist", "champion"},
        "reporting:moc-letter-mine": {"radiologist", "champion"},
    }
    for persona, user in department.personas().items():
        if user is None:
            continue
        client.force_login(user)
        for name, who in allowed.items():
            status = client.get(reverse(name)).status_code
            assert (status == 200) == (persona in who), (persona, name, status)


def test_the_reports_list_takes_the_same_queries_for_two_or_twenty_reports(
    client, department, django_assert_max_num_queries
):
    from reporting.reports.jobs import acr_request

    def ask():
        acr_request(
            sections=[department.neuro],
            department=False,
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 12, 31),
            file_format="pdf",
            actor=department.leader,
        )

    for _ in range(2):
        ask()
    client.force_login(department.leader)
    url = reverse("reporting:reports")
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for _ in range(18):
        ask()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('hx-trigger="every 2s"') == 20

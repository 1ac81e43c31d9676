"""The OPPE report per radiologist: each metric rated against the policy's thresholds, the
PL feedback follow-through, anonymity of peer evaluations, the referral for focused review,
the department batch, and the ABR MOC Part 4 letter."""

import csv
import datetime
import io
import zipfile
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conferences.models import Attendance, Conference
from peerlearning.models import Role
from peerlearning.testing import make_member
from reporting.models import (
    Credential,
    EvaluationCycle,
    FppeEvent,
    OppePolicy,
    PeerEvaluation,
    TurnaroundTime,
)
from reporting.reports.moc import moc_letter_build, moc_letter_pdf, oppe_referral_set
from reporting.reports.oppe import (
    ACCEPTABLE,
    NEEDS_IMPROVEMENT,
    NOT_APPLICABLE,
    SELF,
    oppe_batch_zip,
    oppe_report_build,
    oppe_report_html,
    oppe_report_pdf,
    oppe_reports_build,
)
from submissions.models import RequiredAction, Submission
from submissions.tests.pdftext import pdf_text

pytestmark = pytest.mark.django_db

START, END = datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)
TODAY = datetime.date(2026, 7, 15)
_numbers = count(1)


def at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


def tat(person, *, within: int, late: int, modality="CT"):
    rows = []
    for n in range(within + late):
        hours = 2 if n < within else 30
        done = at(datetime.date(2026, 2, 1 + n % 27))
        rows.append(
            TurnaroundTime(
                accession=f"T{next(_numbers):07d}",
                radiologist=person,
                modality=modality,
                exam_completed_at=done,
                report_finalized_at=done + datetime.timedelta(hours=hours),
                turnaround_seconds=hours * 3600,
            )
        )
    TurnaroundTime.objects.bulk_create(rows)


def credential(person, kind, expires_on):
    Credential.objects.create(radiologist=person, kind=kind, issuer="NY", expires_on=expires_on)


def conference(section, day) -> Conference:
    return Conference.objects.create(
        section=section,
        title=f"Conference {day}",
        starts_at=at(day, 12),
        ends_at=at(day, 13),
        status=Conference.Status.HELD,
        check_in_code=f"{next(_numbers):06d}",
    )


def attend(conference_, person):
    Attendance.objects.create(
        conference=conference_,
        user=person,
        kind=Attendance.Kind.ATTENDING,
        credited=True,
        minutes_present=60,
        recorded_via=Attendance.Via.ROSTER,
    )


def submission(section, submitter, *, day, reader=None, sent=True, reason="great_catch"):
    return Submission.objects.create(
        section=section,
        submitter=submitter,
        accession_number=f"O{next(_numbers):07d}",
        reason=reason,
        description="Synthetic case.",
        attested_at=at(day) if reason == "discrepancy" else None,
        original_reader=reader,
        feedback_sent_at=at(day) if sent and reader else None,
        created_at=at(day),
    )


def action(sub, kind, *, done_after_hours=None, done_by=None):
    return RequiredAction.objects.create(
        submission=sub,
        kind=kind,
        due_at=sub.created_at + datetime.timedelta(hours=72),
        done_at=sub.created_at + datetime.timedelta(hours=done_after_hours)
        if done_after_hours is not None
        else None,
        done_by=done_by,
    )


@pytest.fixture
def period(department):
    """Six months in Neuroradiology: the radiologist does well, the reader less so."""
    d = department
    tat(d.radiologist, within=9, late=1)
    tat(d.reader, within=5, late=5)
    credential(d.radiologist, Credential.Kind.STATE_LICENSE, datetime.date(2028, 1, 1))
    credential(d.radiologist, Credential.Kind.BOARD_CERTIFICATION, None)
    credential(d.reader, Credential.Kind.STATE_LICENSE, datetime.date(2026, 5, 1))  # expired
    credential(d.reader, Credential.Kind.BOARD_CERTIFICATION, None)
    credential(d.champion, Credential.Kind.STATE_LICENSE, datetime.date(2026, 8, 1))  # soon
    credential(d.champion, Credential.Kind.BOARD_CERTIFICATION, None)
    conferences = [conference(d.neuro, datetime.date(2026, m, 10)) for m in (1, 2, 4, 6)]
    for c in conferences[:3]:
        attend(c, d.radiologist)
    attend(conferences[0], d.reader)
    for month in range(1, 7):
        for day in (5, 6):
            submission(d.neuro, d.radiologist, day=datetime.date(2026, month, day))
    # Feedback on the reader's studies asked for four actions: three confirmed, one open.
    for n, hours in enumerate((2, 4, 30, None)):
        sub = submission(
            d.neuro,
            d.radiologist,
            day=datetime.date(2026, 3, 1 + n),
            reader=d.reader,
            reason="discrepancy",
        )
        action(
            sub,
            "addendum",
            done_after_hours=hours,
            done_by=d.reader if hours is not None else None,
        )
    return d


def metrics(report) -> dict[str, str]:
    return {m.key: m.rating for m in report.metrics}


def test_each_metric_is_rated_against_the_policys_thresholds(period):
    reports = {
        r.radiologist.pk: r
        for r in oppe_reports_build(
            radiologists=[period.radiologist, period.reader, period.champion],
            start=START,
            end=END,
            today=TODAY,
        )
    }

    good = reports[period.radiologist.pk]
    assert metrics(good) == {
        "tat": ACCEPTABLE,  # 9 of 10 within 24 h: the threshold is 90%
        "licensure": ACCEPTABLE,
        "conferences": ACCEPTABLE,  # 3 of 4
        # No feedback on their studies asked for anything: to leaders that reads exactly like
        # everything done (reporting/tests/test_oppe_for_leaders.py).
        "followup": ACCEPTABLE,
        "targets": ACCEPTABLE,  # 12 counted in six months: 2 a month
        "systems": NOT_APPLICABLE,
    }
    assert good.participation.months_met == good.participation.months_with_target == 6
    assert good.participation.attendance_percent == 75

    weak = reports[period.reader.pk]
    assert metrics(weak) == {
        "tat": NEEDS_IMPROVEMENT,
        "licensure": NEEDS_IMPROVEMENT,  # the licence expired in May
        "conferences": NEEDS_IMPROVEMENT,  # 1 of 4
        "followup": NEEDS_IMPROVEMENT,  # 3 of 4 confirmed, threshold 90%
        "targets": NEEDS_IMPROVEMENT,
        "systems": NOT_APPLICABLE,
    }
    assert [f.state for f in weak.credentials.credentials if f.flagged] == ["expired"]

    champion = reports[period.champion.pk]
    assert metrics(champion)["tat"] == NOT_APPLICABLE  # no reports in the period
    assert metrics(champion)["licensure"] == ACCEPTABLE
    assert [f.state for f in champion.credentials.credentials if f.flagged] == ["expiring"]


def test_thresholds_come_from_the_oppe_policy(period):
    policy = OppePolicy.load()
    policy.tat_within_threshold_percent = 50
    policy.followup_confirmed_percent = 75
    policy.attendance_percent = 25
    policy.save()

    report = oppe_report_build(
        radiologist=period.reader, start=START, end=END, today=TODAY, audience=SELF
    )

    assert metrics(report)["tat"] == ACCEPTABLE
    assert metrics(report)["followup"] == ACCEPTABLE
    assert metrics(report)["conferences"] == ACCEPTABLE
    followup = next(m for m in report.metrics if m.key == "followup")
    assert followup.threshold == "≥ 75% confirmed"


def test_pl_feedback_measures_follow_through_how_fast_and_never_who_submitted(period):
    champion_done = submission(
        period.neuro,
        period.champion,
        day=datetime.date(2026, 4, 2),
        reader=period.reader,
        reason="discrepancy",
    )
    action(champion_done, "contact_clinician", done_after_hours=5, done_by=period.champion)
    not_sent = submission(
        period.neuro,
        period.champion,
        day=datetime.date(2026, 4, 3),
        reader=period.reader,
        sent=False,
        reason="discrepancy",
    )
    action(not_sent, "addendum")
    submission(  # a discrepancy that asked for nothing: not part of this metric at all
        period.neuro,
        period.champion,
        day=datetime.date(2026, 4, 4),
        reader=period.reader,
        reason="discrepancy",
    )

    # The radiologist's own report (leaders get one word: test_oppe_for_leaders.py).
    report = oppe_report_build(
        radiologist=period.reader, start=START, end=END, today=TODAY, audience=SELF
    )

    follow = report.followup
    assert (follow.asked, follow.confirmed, follow.done_by_others, follow.still_open) == (
        5,
        3,
        1,
        1,
    )
    assert follow.confirmed_percent == 60
    assert follow.median_hours == 4
    html = oppe_report_html(report)
    assert "3 of 5 follow-up actions confirmed (60%), median 4 h after the feedback" in html
    assert "1 done by a champion" in html
    for name in ("Rowan", "Submitter", "Cass", "Champion"):
        assert name not in html  # who submitted never appears
    assert "discrepanc" not in html.replace("not a count of discrepancies", "")
    # The submitter's own report knows nothing of the feedback they gave.
    mine = oppe_report_build(radiologist=period.radiologist, start=START, end=END, today=TODAY)
    assert mine.followup.asked == 0


def test_peer_evaluations_appear_only_from_closed_cycles_with_two_answers(period):
    def cycle(name, answers, closed=True):
        made = EvaluationCycle.objects.create(
            name=name,
            period_start=datetime.date(2025, 7, 1),
            period_end=datetime.date(2026, 6, 30),
            due_on=datetime.date(2026, 7, 1),
            closed_at=timezone.now() if closed else None,
        )
        made.sections.add(period.neuro)
        for evaluator in answers:
            PeerEvaluation.objects.create(
                cycle=made,
                subject=period.radiologist,
                evaluator=evaluator,
                patient_care=4,
                medical_knowledge=4,
                practice_based_learning=3,
                interpersonal_communication=5,
                professionalism=4,
                systems_based_practice=3,
                comments=f"Comment from {evaluator.first_name}",
                submitted_at=timezone.now(),
            )

    cycle("Only one answer", [period.reader])
    cycle("Still open", [period.reader, period.champion], closed=False)
    cycle("Two answers", [period.reader, period.champion])

    report = oppe_report_build(radiologist=period.radiologist, start=START, end=END, today=TODAY)

    assert [s.cycle.name for s in report.evaluations] == ["Two answers"]
    html = oppe_report_html(report)
    assert "Comment from Quinn" in html and "Comment from Cass" in html
    assert "Only one answer" not in html and "Still open" not in html
    assert "Quinn Reader" not in html  # who answered is never shown


def test_a_referral_ticks_the_box_and_opens_an_fppe_event_from_oppe(period):
    oppe_referral_set(
        radiologist=period.reader, start=START, end=END, referred=True, actor=period.leader
    )
    oppe_referral_set(  # twice: still one referral, one event
        radiologist=period.reader, start=START, end=END, referred=True, actor=period.leader
    )

    event = FppeEvent.objects.get(radiologist=period.reader)
    assert event.from_oppe and event.disposition == FppeEvent.Disposition.PENDING
    report = oppe_report_build(radiologist=period.reader, start=START, end=END, today=TODAY)
    assert report.referral is not None
    assert '<span class="box">✓</span>' in oppe_report_html(report)
    other = oppe_report_build(
        radiologist=period.reader,
        start=datetime.date(2025, 7, 1),
        end=datetime.date(2025, 12, 31),
        today=TODAY,
    )
    assert other.referral is None  # the referral belongs to its period

    oppe_referral_set(
        radiologist=period.reader, start=START, end=END, referred=False, actor=period.leader
    )
    assert not FppeEvent.objects.exists()


def test_withdrawing_keeps_an_fppe_event_the_office_has_already_acted_on(period):
    oppe_referral_set(
        radiologist=period.reader, start=START, end=END, referred=True, actor=period.leader
    )
    FppeEvent.objects.update(disposition=FppeEvent.Disposition.LETTER_OF_EDUCATION)

    oppe_referral_set(
        radiologist=period.reader, start=START, end=END, referred=False, actor=period.leader
    )

    assert FppeEvent.objects.count() == 1


def test_the_pdf_shows_the_ratings_and_the_referral_line(period):
    period.reader.npi = "1234567893"
    period.reader.save()

    text = pdf_text(
        oppe_report_pdf(
            oppe_report_build(radiologist=period.reader, start=START, end=END, today=TODAY)
        )
    )

    for needle in (
        "Quinn Reader",
        "1234567893",
        "Needs improvement",
        "Not applicable",
        "Refer for focused professional practice evaluation",
        "Reviewed by",
    ):
        assert needle in text, needle


def test_a_batch_takes_the_same_number_of_queries_for_three_or_thirty_radiologists(period):
    def queries(people) -> int:
        with CaptureQueriesContext(connection) as captured:
            oppe_reports_build(radiologists=people, start=START, end=END, today=TODAY)
        return len(captured)

    OppePolicy.load()  # the first load creates the row
    few = queries([period.radiologist, period.reader, period.champion])
    many = [make_member(period.neuro, Role.RADIOLOGIST) for _ in range(27)]
    assert queries([period.radiologist, period.reader, period.champion, *many]) == few


def test_the_department_zip_has_a_pdf_per_radiologist_and_an_index(period):
    seen = []
    people = [period.radiologist, period.reader, period.champion]

    content = oppe_batch_zip(
        radiologists=people, start=START, end=END, progress=lambda p, t: seen.append(p), chunk=2
    )

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert len([n for n in names if n.endswith(".pdf")]) == 3
    assert [row["Radiologist"] for row in index] == [p.display_name for p in people]
    reader_row = index[1]
    assert reader_row["File"] in names
    # The index never lists the PL feedback competency (it rests on discrepancies received).
    assert "Patient care" in reader_row["Needs improvement"]
    assert "Interpersonal and communication skills" not in reader_row["Needs improvement"]
    assert seen == sorted(seen) and seen[-1] == 95


def test_the_moc_letter_counts_the_years_submissions_and_conferences(period):
    period.radiologist.npi = "1234567893"
    period.radiologist.save()

    letter = moc_letter_build(
        viewer=None,
        radiologist=period.radiologist,
        year=2026,
        signatory=period.leader,
        today=datetime.date(2026, 11, 28),
    )

    assert letter.submissions == 12 + 4
    assert letter.conferences == 3
    assert letter.sections == ["Neuroradiology"]
    assert letter.signatory == "Lee Leader"
    assert letter.is_partial
    text = pdf_text(moc_letter_pdf(letter))
    for needle in ("Rowan Submitter", "1234567893", "Lee Leader", "Neuroradiology"):
        assert needle in text, needle


def test_the_moc_letter_is_signed_by_a_section_leader_when_the_radiologist_asks(period):
    letter = moc_letter_build(
        viewer=None, radiologist=period.radiologist, year=2026, signatory=None
    )

    assert letter.signatory == "Lee Leader"

"""Leaders see programmes, not people's errors: the OPPE "PL feedback" competency is one
word (meets / does not meet) over a whole fixed period, "nothing asked" reads like "all
done", and no leader document counts anyone's follow-ups; the radiologist sees their own."""

import csv
import datetime
import io
import re
import zipfile

import pytest
from django.urls import reverse

from reporting.models import OppePolicy
from reporting.reports.oppe import oppe_batch_zip, oppe_reports_build
from reporting.tests.test_oppe_report import action, submission
from submissions.tests.pdftext import pdf_text

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 5)
COUNT = re.compile(r"\b\d+\s*(of|/)\s*\d+\b")


@pytest.fixture
def one_discrepancy(department):
    """On 5 March the reader got one discrepancy asking for an addendum, done in 4 hours."""
    d = department
    sub = submission(d.neuro, d.radiologist, day=DAY, reader=d.reader, reason="discrepancy")
    action(sub, "addendum", done_after_hours=4, done_by=d.reader)
    return d


def _followup(report):
    return next(m for m in report.metrics if m.key == "followup")


def test_a_leaders_oppe_pdf_for_one_day_gives_no_count(client, one_discrepancy):
    d = one_discrepancy
    client.force_login(d.leader)
    response = client.get(
        reverse("reporting:oppe-pdf", args=[d.reader.pk]),
        {"start": DAY.isoformat(), "end": DAY.isoformat()},
    )
    assert response.status_code == 200
    text = pdf_text(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    assert "Meets" in text
    around = text[text.index("PL feedback") : text.index("Professionalism")]
    assert not COUNT.search(around), around
    assert "1 / 1" not in text and "1 of 1 follow-up" not in text
    assert "Jan 2026 – Jun 2026" in text  # the whole period, not the day asked


def test_nothing_asked_reads_exactly_like_all_done(one_discrepancy):
    d = one_discrepancy
    reports = oppe_reports_build(radiologists=[d.reader, d.trainee], start=DAY, end=DAY)
    reader, untouched = (_followup(r) for r in reports)
    assert (reader.value, reader.rating) == (untouched.value, untouched.rating)


def test_the_batch_index_lists_no_one_for_pl_feedback(one_discrepancy):
    d = one_discrepancy
    sub = submission(
        d.neuro, d.radiologist, day=DAY.replace(day=6), reader=d.reader, reason="discrepancy"
    )
    action(sub, "contact_clinician")  # never done, long overdue
    content = oppe_batch_zip(
        radiologists=[d.reader],
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 6, 30),
        progress=lambda *_: None,
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
        pdf = pdf_text(archive.read(rows[1][2]))
    assert "Interpersonal" not in rows[1][3]
    assert "Does not meet" in pdf  # the one word, in the report itself
    assert "1 of 2 follow-up" not in pdf and "1 / 2" not in pdf


def test_the_radiologist_sees_their_own_details(client, one_discrepancy):
    d = one_discrepancy
    client.force_login(d.reader)
    response = client.get(
        reverse("reporting:oppe-mine-pdf"),
        {"start": "2026-01-01", "end": "2026-06-30"},
    )
    text = pdf_text(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    assert "1 of 1 follow-up actions confirmed" in text


def test_a_period_shorter_than_six_months_is_widened_for_leaders(one_discrepancy):
    policy = OppePolicy.load()
    policy.period_months = 1
    policy.save()
    d = one_discrepancy
    report = oppe_reports_build(radiologists=[d.reader], start=DAY, end=DAY, policy=policy)[0]
    first, last = report.followup_period
    assert first <= DAY and (last - first).days >= 180

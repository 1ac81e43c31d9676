"""A submission the viewer read is in no count the viewer sees about its submitter: not the
person page, the month grid, the year view, the reminder preview, the exports, the leader's
dashboard (submissions/disclosure.py, `countable_by`)."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from peerlearning.models import Role
from peerlearning.testing import make_member
from reporting.months import month_of
from reporting.tests.test_targets import submit

pytestmark = pytest.mark.django_db

THIS_MONTH = month_of(timezone.localdate())
KEY = f"{THIS_MONTH:%Y-%m}"


@pytest.fixture
def watched(department):
    """Rowan made three this month; one of them is about a study the watcher read."""
    watcher = make_member(
        department.neuro,
        Role.RADIOLOGIST,
        Role.CHAMPION,
        Role.LEADER,
        Role.ADMIN_ASSISTANT,
        first_name="Wren",
        last_name="Watcher",
    )
    for reason in ("great_catch", "interesting"):
        submit(department.neuro, department.radiologist, on=THIS_MONTH, reason=reason)
    submit(
        department.neuro,
        department.radiologist,
        on=THIS_MONTH,
        reason="discrepancy",
        reader=watcher,
    )
    return department, watcher


def _row(html: str, name: str) -> str:
    start = html.index(name, html.index("<table"))
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_the_person_page_counts_only_what_it_lists(client, watched):
    department, watcher = watched
    client.force_login(watcher)
    url = reverse("reporting:monitoring-person", args=[department.radiologist.pk])
    detail = client.get(url, {"section": department.neuro.pk, "month": KEY}).context["detail"]
    assert sum(submitted for _, submitted, _ in detail.by_reason) == 2
    assert len(detail.lines) == 2
    assert detail.cell.submitted == 2 and detail.cell.counted == 2


def test_the_month_grid_and_the_year_view_leave_it_out(client, watched):
    department, watcher = watched
    client.force_login(watcher)
    month = client.get(
        reverse("reporting:monitoring"), {"section": department.neuro.pk, "month": KEY}
    )
    line = next(r for r in month.context["report"].rows if r.user_id == department.radiologist.pk)
    assert line.counted == 2
    assert "2 / 2" in _row(month.content.decode(), "Rowan Submitter")
    year = client.get(
        reverse("reporting:monitoring-year"),
        {"section": department.neuro.pk, "year": THIS_MONTH.year},
    )
    row = next(r for r in year.context["report"].rows if r.user.pk == department.radiologist.pk)
    assert row.counted == 2


def test_the_reminder_preview_leaves_it_out(client, watched):
    department, watcher = watched
    client.force_login(watcher)
    preview = client.get(
        reverse("reporting:reminders-preview"),
        {"section": department.neuro.pk, "month": KEY, "user": department.radiologist.pk},
    )
    text = preview.content.decode()
    assert "3 of" not in text
    draft = next(d for d in preview.context["batch"].drafts if d.user == department.radiologist)
    assert len(draft.context["lines"]) == 2


def test_the_exports_leave_it_out(client, watched):
    department, watcher = watched
    client.force_login(watcher)
    url = reverse("reporting:monitoring-export")
    params = {"section": department.neuro.pk, "month": KEY, "period": "month"}
    rows = list(
        csv.reader(
            io.StringIO(client.get(url, {**params, "format": "csv"}).content.decode("utf-8-sig"))
        )
    )
    header, rowan = rows[0], next(r for r in rows if "Rowan" in " ".join(r))
    submitted = [
        rowan[i] for i, name in enumerate(header) if "ubmitted" in name or "ounted" in name
    ]
    assert submitted and all(value in ("2", "2.0") for value in submitted), (header, rowan)
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(url, {**params, "period": "year", "format": "xlsx"}).content)
    )
    cells = [
        [c for c in row]
        for row in book.active.iter_rows(values_only=True)
        if any("Rowan" in str(c) for c in row if c)
    ]
    assert cells and 3 not in cells[0], cells


def test_someone_who_read_nothing_still_sees_all_three(client, watched):
    department, _ = watched
    client.force_login(department.assistant)
    month = client.get(
        reverse("reporting:monitoring"), {"section": department.neuro.pk, "month": KEY}
    )
    line = next(r for r in month.context["report"].rows if r.user_id == department.radiologist.pk)
    assert line.counted == 3

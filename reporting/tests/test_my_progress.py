"""A radiologist's own month ("My submissions") counts what the monitoring pages count."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from peerlearning.lib.months import month_of
from reporting.targets.monitoring import month_report
from reporting.targets.selectors import month_progress
from reporting.tests.test_targets import MARCH, policy, row_for, submit
from submissions.models import Submission

pytestmark = pytest.mark.django_db


def counted_on_my_submissions(client) -> int:
    """The "Counted toward your target this month" figure, as the browser ends up showing it
    (the tiles may arrive as an htmx fragment that the page loads)."""
    html = client.get(reverse("submissions:mine")).content.decode()
    fragment = re.search(r'id="month-progress"[^>]*hx-get="([^"]+)"', html)
    if fragment:
        html = client.get(fragment.group(1)).content.decode()
    found = re.search(
        r"Counted toward your target this month</span>\s*<span class=\"stat-value\">(\d+)<", html
    )
    assert found, html
    return int(found.group(1))


def test_my_submissions_and_monitoring_agree_under_a_policy_of_discrepancies_only(
    client, department
):
    this_month = month_of(timezone.localdate())
    policy(department.neuro, this_month, department.leader, counted_reasons=["discrepancy"])
    submit(department.neuro, department.radiologist, on=timezone.localdate(), reason="great_catch")

    client.force_login(department.radiologist)

    assert counted_on_my_submissions(client) == 0
    monitoring = month_report(section=department.neuro, month=this_month)
    assert row_for(monitoring, department.radiologist).cell.counted == 0


def test_the_months_count_follows_the_policys_counted_reasons(department):
    submit(department.neuro, department.radiologist, reason="discrepancy")
    submit(department.neuro, department.radiologist, reason="interesting")
    not_counted = submit(department.neuro, department.radiologist, reason="discrepancy")
    Submission.objects.filter(pk=not_counted.pk).update(
        counted=False, not_counted_reason="duplicate"
    )

    assert month_progress(user=department.radiologist, today=MARCH).counted == 2
    policy(department.neuro, MARCH, department.leader, counted_reasons=["discrepancy"])
    progress = month_progress(user=department.radiologist, today=MARCH)
    assert progress.counted == 1
    assert progress.submitted == 3


def test_the_fragment_is_the_radiologists_own(client, department):
    submit(department.neuro, department.radiologist, on=timezone.localdate())
    client.force_login(department.reader)

    response = client.get(reverse("reporting:my-progress"))

    assert response.status_code == 200
    assert '<span class="stat-value">0</span>' in response.content.decode()


def test_the_fragment_takes_a_fixed_number_of_queries(
    client, department, django_assert_max_num_queries
):
    for _ in range(5):
        submit(department.neuro, department.radiologist, on=timezone.localdate())
    client.force_login(department.radiologist)
    client.get(reverse("reporting:my-progress"))  # the session and roles, once

    with django_assert_max_num_queries(9):
        response = client.get(reverse("reporting:my-progress"))

    assert response.status_code == 200

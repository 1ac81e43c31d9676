"""The radiologist's home page takes the same few queries however much history there is."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

BUDGET = 8  # docs/performance.md, "Query counts and their tests"


def _home_queries(client, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(BUDGET) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


def test_the_home_page_takes_the_same_queries_with_1_or_30_submissions(
    client, department, submit, django_assert_max_num_queries
):
    client.force_login(department.radiologist)
    submit(accession_number="A2000000")
    client.get(reverse("home"))  # first visit: per-session set-up is not the page's cost
    few = _home_queries(client, django_assert_max_num_queries)

    for n in range(1, 30):
        submit(accession_number=f"A2{n:06d}")
        submit(accession_number=f"B2{n:06d}", submitter=department.reader, reader=None)

    assert _home_queries(client, django_assert_max_num_queries) == few

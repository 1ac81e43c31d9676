"""What the submit page tells a submitter about people and cases outside their sections.

The PACS launch URL names the original reader by e-mail, and the page shows the matching
person's full name: only people on the rosters of the submitter's own sections may be named
so. The inline check of an accession number says "a colleague has submitted this case too":
only for cases submitted in the submitter's own sections.
"""

import pytest
from django.urls import reverse

from tests.security.conftest import case_for

pytestmark = pytest.mark.django_db

SUBMIT = reverse("submissions:submit")
VALIDATE = reverse("submissions:submit-validate") + "?field=accession_number"
COLLEAGUE_NOTE = "A colleague has submitted this case too"


def launch_with_reader(client, email: str) -> str:
    client.get(SUBMIT, {"accession": "A7654321", "reader": email})
    return client.get(SUBMIT).content.decode()


def validate_accession(client, department, accession: str) -> str:
    data = {"section": department.neuro.pk, "accession_number": accession}
    return client.post(VALIDATE, data, HTTP_HX_REQUEST="true").content.decode()


def test_the_launch_url_does_not_turn_another_sections_address_into_a_name(client, world):
    client.force_login(world.department.radiologist)  # neuroradiology only

    page = launch_with_reader(client, world.body_reader.email)

    assert "Bodyreader" not in page
    assert world.body_reader.email in page  # kept as typed, so nothing is lost


def test_the_launch_url_does_not_name_someone_on_no_roster(client, department):
    client.force_login(department.radiologist)

    page = launch_with_reader(client, department.site_admin.email)

    assert "Siteadmin" not in page


def test_the_launch_url_still_names_a_reader_of_the_submitters_section(client, department):
    client.force_login(department.radiologist)

    page = launch_with_reader(client, department.reader.email.upper())

    assert f"Quinn Reader &lt;{department.reader.email}&gt;" in page


def test_validation_says_nothing_of_a_case_submitted_in_another_section(client, world):
    client.force_login(world.department.radiologist)

    fragment = validate_accession(client, world.department, "BODY2000002")

    assert COLLEAGUE_NOTE not in fragment


def test_validation_still_notes_a_case_a_colleague_of_the_section_submitted(client, world):
    d = world.department
    case_for(d.champion, d.neuro, d.reader, "NEURO300003")
    client.force_login(d.radiologist)

    fragment = validate_accession(client, d, "NEURO300003")

    assert COLLEAGUE_NOTE in fragment

"""The PACS launch URL (accession, reader by e-mail, NPI or RIS/PACS id, Study Instance UID)
and the "Open images" link back to the site's PACS viewer."""

import pytest
from django.urls import reverse

from submissions.models import Submission

pytestmark = pytest.mark.django_db

SUBMIT = reverse("submissions:submit")
UID = "1.2.826.0.1.3680043.8.498.12345"
VIEWER = (
    "https://pacs.example.org/IHEInvokeImageDisplay?requestType=STUDY"
    "&accessionNumber={accession}&studyUID={study_uid}"
)


def launch(client, user, **params):
    client.force_login(user)
    client.get(SUBMIT, params)
    return client.get(SUBMIT).context["form"]


@pytest.mark.parametrize("by", ["reader_npi", "reader_id"])
def test_the_launch_url_names_the_reader_by_npi_or_ris_id(client, department, by):
    department.reader.npi, department.reader.ris_id = "1245319599", "QREADER"
    department.reader.save()
    value = {"reader_npi": "1245319599", "reader_id": "qreader"}[by]

    form = launch(client, department.radiologist, accession="syn-1", **{by: value})

    assert form.initial["accession_number"] == "SYN-1"
    assert department.reader.last_name in form.initial["reader"]
    assert form.initial["reader_kind"] == "roster"


def test_an_npi_off_my_rosters_names_nobody(client, department):
    department.body_champion.npi = "1234567893"
    department.body_champion.save()
    form = launch(client, department.radiologist, accession="SYN-2", reader_npi="1234567893")
    assert "reader" not in form.initial
    assert department.body_champion.last_name not in str(form.initial)


def test_the_study_uid_from_the_launch_is_kept_with_the_submission(client, department):
    form = launch(client, department.radiologist, accession="SYN-3", study_uid=UID)
    assert form.initial["study_instance_uid"] == UID
    client.post(
        SUBMIT,
        {
            "section": department.neuro.pk,
            "study_instance_uid": UID,
            "accession_number": "SYN-3",
            "reason": "interesting",
            "description": "Rare variant.",
            "reader_kind": "unknown",
            "urgency": "routine",
        },
    )
    assert Submission.objects.get().study_instance_uid == UID


def test_a_study_uid_that_is_not_a_dicom_uid_is_dropped_not_refused(client, department):
    client.force_login(department.radiologist)
    client.post(
        SUBMIT,
        {
            "section": department.neuro.pk,
            "study_instance_uid": "<script>",
            "accession_number": "SYN-4",
            "reason": "interesting",
            "description": "Rare variant.",
            "reader_kind": "unknown",
            "urgency": "routine",
        },
    )
    assert Submission.objects.get().study_instance_uid == ""


def test_open_images_links_the_feedback_and_review_pages_to_the_viewer(
    client, department, submit, settings
):
    settings.OPEN_IMAGES_URL = VIEWER
    submission = submit(accession_number="SYN 5/6")
    Submission.objects.filter(pk=submission.pk).update(study_instance_uid=UID)
    expected = (
        "https://pacs.example.org/IHEInvokeImageDisplay?requestType=STUDY"
        f"&amp;accessionNumber=SYN%205%2F6&amp;studyUID={UID}"
    )
    for person, page in (
        (department.reader, "submissions:feedback-detail"),
        (department.champion, "submissions:review"),
    ):
        client.force_login(person)
        html = client.get(reverse(page, args=[submission.pk])).content.decode()
        assert expected in html, page


def test_no_open_images_link_when_the_site_has_no_viewer(client, department, submit, settings):
    settings.OPEN_IMAGES_URL = ""
    submission = submit()
    client.force_login(department.reader)
    html = client.get(reverse("submissions:feedback-detail", args=[submission.pk])).content
    assert b"Open images" not in html


def test_a_launch_prefill_fills_one_form_with_a_banner_then_is_gone(client, department):
    client.force_login(department.radiologist)
    client.get(SUBMIT, {"accession": "SYN-7", "reader": department.reader.email})

    first = client.get(SUBMIT)
    assert first.context["form"].initial["accession_number"] == "SYN-7"
    assert "Filled in from your PACS" in first.content.decode()

    later = client.get(SUBMIT)
    assert "accession_number" not in later.context["form"].initial
    assert "Filled in from" not in later.content.decode()

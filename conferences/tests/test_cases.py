"""Teaching cases: made from submissions with identifiers marked, checked after every change,
searchable in the library, never naming the reader or the submitter unless they agreed."""

import pytest
from django.urls import reverse

from anonymizer.tests.factories import IDENTITY
from conferences.cases.agenda import AgendaRefused, agenda_add
from conferences.cases.forms import CaseForm
from conferences.cases.selectors import LibraryFilters, library, teaching_case_get_for_viewer
from conferences.cases.services import (
    credit_answer,
    credit_ask_readers,
    slide_credits,
    teaching_case_create,
    teaching_case_recheck,
    teaching_case_update,
)
from conferences.models import AgendaItem, CreditConsent, TeachingCase
from conferences.tests.conftest import make_conference
from conferences.tests.teaching import candidate, dicom_upload, ready_case, upload_and_process
from peerlearning.models import Role
from peerlearning.testing import make_member
from submissions.models import Reason

pytestmark = pytest.mark.django_db


def test_a_case_from_a_submission_brings_its_text_in_with_names_and_numbers_marked(department):
    source = candidate(
        department.neuro,
        department.radiologist,
        reader=department.reader,
        accession="AC55102938",
        description="Missed by Quinn Reader; flagged by Rowan Submitter. Acc AC55102938.",
        learning_point="Call Dr Reader's attention to the vertex.",
    )
    case, replaced = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Vertex", sources=[source]
    )

    assert "Quinn" not in case.findings and "Submitter" not in case.findings
    assert "AC55102938" not in case.findings
    assert case.findings.count("[NAME]") == 2 and "[ID]" in case.findings
    assert "[NAME]" in case.teaching_points and replaced >= 4
    assert case.reason == Reason.DISCREPANCY and list(case.sources.all()) == [source]
    assert case.check_passed  # what is left names no one


def test_dates_brought_in_are_shifted_once_and_not_again_by_later_edits(department):
    source = candidate(department.neuro, department.radiologist, description="Seen 03/04/2025.")
    case, _ = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Dates", sources=[source]
    )
    shifted = case.findings
    assert "03/04/2025" not in shifted

    case, _ = teaching_case_update(
        case=case, actor=department.champion, findings=shifted + " Reviewed again."
    )
    assert case.findings == shifted + " Reviewed again."


def test_names_typed_by_the_champion_are_replaced_when_saving(department):
    case = ready_case(department.neuro, department.champion, images=0)
    case, replaced = teaching_case_update(
        case=case, actor=department.champion, history="Shown to Quinn Reader in the morning."
    )
    assert case.history == "Shown to [NAME] in the morning."
    assert replaced == {"Clinical history": 1}


def test_the_patients_name_from_new_images_is_replaced_in_the_text(department):
    source = candidate(
        department.neuro,
        department.radiologist,
        description=f"Seen in {IDENTITY.given} {IDENTITY.family} on the ward.",
    )
    case, _ = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Ward", sources=[source]
    )
    upload = upload_and_process(case, dicom_upload(1), department.champion)

    case.refresh_from_db()
    assert IDENTITY.family not in case.findings and "[NAME]" in case.findings
    assert "replaced in the case's text" in upload.message
    assert case.check_passed


def test_numbers_from_the_images_are_replaced_in_text_typed_after_the_originals_are_gone(
    department,
):
    # Synthetic numbers; the insurance plan and the trial reading ID identify the patient
    # as much as the patient ID does.
    case, _ = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Numbers"
    )
    files = dicom_upload(
        1, InsurancePlanIdentification="INS-58213-7", ClinicalTrialSubjectReadingID="RDG-40917"
    )
    upload_and_process(case, files, department.champion)
    case.refresh_from_db()

    case, replaced = teaching_case_update(
        case=case,
        actor=department.champion,
        history="Plan INS-58213-7 covered it; trial reading RDG-40917 agreed.",
    )
    assert "INS-58213-7" not in case.history and "RDG-40917" not in case.history
    assert replaced == {"Clinical history": 2}


def test_the_check_says_which_part_and_what_kind_of_identifier_never_the_value(client, department):
    case = ready_case(department.neuro, department.champion, images=0)
    case, _ = teaching_case_update(
        case=case,
        actor=department.champion,
        teaching_points="Discussed with Zebulon Marchetti afterwards.",
    )
    # A name on no roster and in no header: the detector flags it, so the case waits.
    assert not case.check_passed
    assert case.check_findings == [
        {
            "part": "teaching_points",
            "label": "Teaching points",
            "kind": "flagged-text",
            "where": "1 span to decide",
        }
    ]
    # Someone joins the roster later: the check, run again, now knows the name.
    make_member(department.neuro, Role.RADIOLOGIST, first_name="Zebulon", last_name="Marchetti")
    case = teaching_case_recheck(case=case, actor=department.champion)

    assert not case.check_passed
    assert case.check_findings == [
        {
            "part": "teaching_points",
            "label": "Teaching points",
            "kind": "roster-name",
            "where": "character 16",
        },
        {
            "part": "teaching_points",
            "label": "Teaching points",
            "kind": "scrub-pending",
            "where": "",
        },
    ]
    client.force_login(department.champion)
    page = client.get(reverse("conferences:case-detail", args=[case.uuid])).content.decode()
    assert "Teaching points" in page and "the name of someone on the roster" in page
    assert "Marchetti" not in page.split("Anonymizer check")[1].split("</section>")[0]


def test_a_case_whose_check_fails_cannot_go_on_an_agenda(department):
    conference = make_conference(department.neuro, actor=department.champion)
    case, _ = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Draft"
    )
    upload_and_process(case, dicom_upload(1, BurnedInAnnotation="YES"), department.champion)
    case.refresh_from_db()
    assert not case.check_passed
    assert [f["kind"] for f in case.check_findings] == ["needs-pixel-review"]

    with pytest.raises(AgendaRefused, match="check passes"):
        agenda_add(conference=conference, case=case, actor=department.champion)
    assert not AgendaItem.objects.exists()


def test_an_edit_that_fails_the_check_holds_the_case_back_from_the_slides(client, department):
    conference = make_conference(department.neuro, actor=department.champion)
    case = ready_case(department.neuro, department.champion, images=0, title="Held case")
    agenda_add(conference=conference, case=case, actor=department.champion)
    make_member(department.neuro, Role.RADIOLOGIST, first_name="Philippa", last_name="Ostrowski")
    teaching_case_update(
        case=case, actor=department.champion, answer="Confirmed by Philippa Ostrowski."
    )
    # Saving swept the known name; an old copy of the text (say, restored) still fails:
    TeachingCase.objects.filter(pk=case.pk).update(answer="Confirmed by Philippa Ostrowski.")
    case = teaching_case_recheck(case=TeachingCase.objects.get(pk=case.pk), actor=None)
    assert not case.check_passed

    client.force_login(department.champion)
    slides = client.get(reverse("conferences:present", args=[conference.pk])).content.decode()
    assert "This case is held back" in slides
    assert "Ostrowski" not in slides and "Held case" not in slides.split("deck")[-1]


def test_the_form_reads_one_option_a_line_with_a_star_on_the_right_one(department):
    case = ready_case(department.neuro, department.champion, images=0)
    data = {
        "title": "T",
        "question_kind": "choice",
        "options_text": "Subdural\n* Epidural\n\nContusion",
        "tags_text": "Trauma, trauma, Head",
    }
    form = CaseForm(data, instance=case)
    assert form.is_valid(), form.errors
    assert form.changes()["options"] == ["Subdural", "Epidural", "Contusion"]
    assert form.changes()["correct_option"] == 1

    for bad, message in [
        ("* A\n* B", "Mark one correct option only."),
        ("Only one", "Give at least two options"),
    ]:
        form = CaseForm({**data, "options_text": bad}, instance=case)
        assert not form.is_valid()
        assert message in str(form.errors["options_text"])

    case, _ = teaching_case_update(case=case, actor=department.champion, tags=data["tags_text"])
    assert case.tag_list == ["trauma", "head"]


def test_a_would_you_have_called_it_question_votes_yes_or_no(department):
    case = ready_case(department.neuro, department.champion, images=0)
    case, _ = teaching_case_update(
        case=case, actor=department.champion, question_kind="called_it", options=[]
    )
    assert case.correct_option is None
    assert case.vote_options == list(TeachingCase.CALLED_IT_OPTIONS)


# The library ---------------------------------------------------------------------------------


def test_the_library_searches_by_section_modality_body_part_reason_tag_and_text(department):
    champion = department.champion
    chest = ready_case(
        department.neuro, champion, images=0, title="Dyspnoea", modality="CT", body_part="chest"
    )
    teaching_case_update(case=chest, actor=champion, tags="embolism, emergency")
    brain = ready_case(department.neuro, champion, images=0, title="Fall", body_part="brain")
    great = candidate(department.neuro, department.radiologist, reason=Reason.GREAT_CATCH)
    catch = ready_case(department.neuro, champion, images=0, title="Catch", sources=[great])
    mri = ready_case(department.neuro, champion, images=0, title="Spine", modality="MR")

    def found(**filters):
        return {c.title for c in library(user=champion, filters=LibraryFilters(**filters))}

    assert found() == {"Dyspnoea", "Fall", "Catch", "Spine"}
    assert found(body_part="chest") == {"Dyspnoea"}
    assert found(modality="MR") == {"Spine"}
    assert found(reason=Reason.GREAT_CATCH) == {"Catch"}
    assert found(tag="Embolism") == {"Dyspnoea"}
    assert found(tag="embol") == set()  # tags match whole
    assert found(text="dyspn") == {"Dyspnoea"}
    assert found(section=department.body.pk) == set()
    assert brain and mri and catch


def test_the_library_page_runs_a_fixed_number_of_queries(
    client, department, django_assert_max_num_queries
):
    for n in range(6):
        ready_case(department.neuro, department.champion, images=0, title=f"Case {n}")
    client.force_login(department.champion)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("conferences:cases"), {"text": "case"})
    assert response.content.decode().count("/conferences/cases/") >= 6


def test_members_see_only_checked_cases_already_presented_and_other_sections_nothing(
    client, department
):
    import datetime

    from django.utils import timezone

    past = make_conference(
        department.neuro, start=timezone.now() - datetime.timedelta(days=7), title="Last week"
    )
    ahead = make_conference(
        department.neuro, start=timezone.now() + datetime.timedelta(days=7), title="Next week"
    )
    shown = ready_case(department.neuro, department.champion, images=0, title="Presented")
    coming = ready_case(department.neuro, department.champion, images=0, title="Not yet")
    draft, _ = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Draft"
    )
    agenda_add(conference=past, case=shown, actor=department.champion)
    agenda_add(conference=ahead, case=coming, actor=department.champion)

    def titles(user):
        return {c.title for c in library(user=user, filters=LibraryFilters())}

    assert titles(department.radiologist) == {"Presented"}
    assert titles(department.champion) == {"Presented", "Not yet", "Draft"}
    assert titles(department.body_champion) == set()
    assert titles(department.outsider) == set()
    client.force_login(department.body_champion)
    assert client.get(reverse("conferences:case-detail", args=[shown.uuid])).status_code == 404
    client.force_login(department.radiologist)
    assert client.get(reverse("conferences:case-detail", args=[coming.uuid])).status_code == 404
    page = client.get(reverse("conferences:case-detail", args=[shown.uuid])).content.decode()
    assert "Presented" in page and "Made from" not in page and "Edit the text" not in page
    assert teaching_case_get_for_viewer(user=department.champion, case_uuid=draft.uuid)


def test_a_champion_who_read_a_source_submission_does_not_see_it_linked(client, department):
    second = make_member(
        department.neuro, Role.RADIOLOGIST, Role.CHAMPION, first_name="Dana", last_name="Second"
    )
    source = candidate(department.neuro, department.radiologist, reader=department.champion)
    case, _ = teaching_case_create(
        section=department.neuro, actor=second, title="Read by a champion", sources=[source]
    )
    client.force_login(department.champion)
    page = client.get(reverse("conferences:case-detail", args=[case.uuid])).content.decode()
    assert f"Submission #{source.pk}" not in page and "1 more submission" in page
    client.force_login(second)
    page = client.get(reverse("conferences:case-detail", args=[case.uuid])).content.decode()
    assert f"Submission #{source.pk}" in page


# Credit on slides ----------------------------------------------------------------------------


def test_a_great_catch_names_only_the_people_who_said_yes(client, department):
    source = candidate(
        department.neuro, department.radiologist, reader=department.reader, reason="great_catch"
    )
    case = ready_case(department.neuro, department.champion, images=0, sources=[source])
    submitter = CreditConsent.objects.get(case=case)
    assert (submitter.person, submitter.answer) == (department.radiologist, "asked")
    assert slide_credits(case) == {}

    assert credit_ask_readers(case=case, actor=department.champion) == 1
    reader = CreditConsent.objects.get(case=case, credited_as="reader")
    client.force_login(department.reader)
    response = client.post(reverse("conferences:credits"), {"consent": reader.pk, "answer": "yes"})
    assert response.status_code == 302
    credit_answer(consent=submitter, actor=department.radiologist, answer="no")

    assert slide_credits(case) == {"reader": ["Quinn Reader"]}


def test_a_discrepancy_never_names_anyone_and_nobody_answers_for_someone_else(client, department):
    source = candidate(department.neuro, department.radiologist, reader=department.reader)
    case = ready_case(department.neuro, department.champion, images=0, sources=[source])
    assert not CreditConsent.objects.filter(case=case).exists()
    with pytest.raises(Exception, match="Only great catches"):
        credit_ask_readers(case=case, actor=department.champion)
    # Even a stray yes does not put a discrepancy's people on a slide.
    consent = CreditConsent.objects.create(
        case=case, person=department.reader, credited_as="reader", answer="yes"
    )
    assert slide_credits(case) == {}

    client.force_login(department.radiologist)
    response = client.post(reverse("conferences:credits"), {"consent": consent.pk, "answer": "no"})
    assert response.status_code == 404
    consent.refresh_from_db()
    assert consent.answer == "yes"


def test_the_admin_lists_cases_and_uploads_for_repairs_but_not_their_identifiers(
    client, department
):
    case = ready_case(department.neuro, department.champion, images=1)
    client.force_login(department.site_admin)
    for name in ("teachingcase", "caseupload"):
        assert client.get(reverse(f"admin:conferences_{name}_changelist")).status_code == 200
    page = client.get(reverse("admin:conferences_teachingcase_change", args=[case.pk]))
    assert page.status_code == 200 and IDENTITY.patient_id not in page.content.decode()
    from django.contrib import admin

    from conferences.models import TeachingCaseIdentity

    assert TeachingCaseIdentity not in admin.site._registry

"""Uploading DICOM to a case: checked before anything is kept, de-identified in a task that
can run twice, burned-in text blacked out by hand, key images rendered with window presets."""

import io

import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from anonymizer.engine.ocr import ocr_available
from anonymizer.tests.factories import IDENTITY, make_secondary_capture, to_bytes, zip_of
from conferences.anonymize import Rect
from conferences.cases.images import (
    case_upload_process,
    case_upload_start,
    image_blackout,
    key_image_add,
    key_image_update,
    stalled_uploads,
)
from conferences.cases.services import teaching_case_create
from conferences.models import CaseImage, CaseUpload, KeyImage, TeachingCaseIdentity
from conferences.tests.teaching import dicom_upload, upload_and_process
from peerlearning.models import Role
from peerlearning.testing import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(department):
    # The factory's images name two of the hospital's staff: they are on the roster here.
    for name in IDENTITY.roster:
        first, last = name.removeprefix("Dr. ").split()
        make_member(department.neuro, Role.RADIOLOGIST, first_name=first, last_name=last)
    case, _ = teaching_case_create(
        section=department.neuro, actor=department.champion, title="Uploads"
    )
    return case


def stored_bytes(image: CaseImage) -> bytes:
    with default_storage.open(image.dicom.name, "rb") as handle:
        return handle.read()


def test_uploaded_dicom_is_kept_only_de_identified_and_the_originals_are_deleted(case, department):
    upload = upload_and_process(case, dicom_upload(3), department.champion)

    assert (upload.status, upload.files_total, upload.files_done) == ("done", 3, 3)
    assert upload.images_added == 3 and upload.staged == []
    assert not default_storage.exists(f"conferences/staging/{upload.uuid}/0000")
    planted = [value.encode() for value in IDENTITY.planted()]
    for image in case.images.all():
        data = stored_bytes(image)
        assert [p for p in planted if p in data] == []
        ds = pydicom.dcmread(io.BytesIO(data))
        assert ds.PatientIdentityRemoved == "YES"
        assert image.sop_instance_uid == ds.SOPInstanceUID
        assert not image.sop_instance_uid.startswith("1.2.826.0.1.3680043.10.1450")
    # The identifying values are kept (for later checks) apart from everything shown.
    identity = TeachingCaseIdentity.objects.get(case=case)
    assert IDENTITY.patient_id in str(identity.headers)
    case.refresh_from_db()
    assert case.check_passed and case.modality == "CT"


def test_a_zip_of_an_export_is_read_and_its_dicomdir_skipped(case, department):
    files = dicom_upload(2)
    archive = zip_of(
        {
            f"{IDENTITY.family}_{IDENTITY.given}/IMG0001": files[0].read(),
            f"{IDENTITY.family}_{IDENTITY.given}/IMG0002": files[1].read(),
            "DICOMDIR": b"\x00" * 200,
            "__MACOSX/._IMG0001": b"junk",
        }
    )
    upload = upload_and_process(case, [archive], department.champion)
    assert (upload.status, upload.images_added, upload.files_total) == ("done", 2, 2)
    # Folder names of the export (the patient's name here) are not kept anywhere.
    assert IDENTITY.family not in str(CaseUpload.objects.filter(pk=upload.pk).values().get())


def test_non_dicom_files_are_refused_by_name_and_nothing_is_kept(client, case, department):
    client.force_login(department.champion)
    response = client.post(
        reverse("conferences:case-images", args=[case.uuid]),
        {
            "files": [
                *dicom_upload(1),
                SimpleUploadedFile("screenshot.jpg", b"\xff\xd8\xff\xe0" + b"0" * 300),
                SimpleUploadedFile("notes.txt", b"Patient notes"),
            ]
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not DICOM: screenshot.jpg, notes.txt" in page
    assert not CaseUpload.objects.exists() and not CaseImage.objects.exists()


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_kept(
    client, case, department, settings
):
    settings.TEACHING_CASE_UPLOAD_MAX_MB = 1
    client.force_login(department.champion)
    big = SimpleUploadedFile("big", b"\x00" * (3 << 20))
    response = client.post(reverse("conferences:case-images", args=[case.uuid]), {"files": [big]})
    assert response.status_code == 400
    assert "at most 1 MB can be uploaded at once" in response.content.decode()
    assert not CaseUpload.objects.exists()


def test_too_many_files_at_once_are_refused_with_a_hint_to_zip_them(
    client, case, department, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client.force_login(department.champion)
    response = client.post(
        reverse("conferences:case-images", args=[case.uuid]), {"files": dicom_upload(3)}
    )
    assert response.status_code == 400
    assert "More than 2 files at once: put them in a zip" in response.content.decode()
    assert not CaseUpload.objects.exists()


def test_the_task_can_run_twice_and_picks_up_a_stalled_upload(case, department):
    upload = case_upload_start(case=case, files=dicom_upload(2), actor=department.champion)
    case.refresh_from_db()
    assert [f["kind"] for f in case.check_findings] == ["processing"]
    assert stalled_uploads() == []

    assert case_upload_process(upload_id=upload.pk) == "done"
    assert case_upload_process(upload_id=upload.pk) == "not claimed"
    assert CaseImage.objects.filter(case=case).count() == 2

    # A worker died half-way: its lease expires and the next run finishes the job.
    from django.utils import timezone

    again = case_upload_start(case=case, files=dicom_upload(3), actor=department.champion)
    CaseUpload.objects.filter(pk=again.pk).update(status="processing", claimed_until=timezone.now())
    assert stalled_uploads() == [again.pk]
    case_upload_process(upload_id=again.pk)
    again.refresh_from_db()
    # Instances 1 and 2 are the same images as before: kept once.
    assert (again.status, again.images_added, again.files_skipped) == ("done", 1, 2)


def test_a_file_the_verifier_finds_identifiers_in_is_not_kept(case, department, monkeypatch):
    from conferences import anonymize

    real = anonymize.deidentify

    def leaky(ds, keys):
        result = real(ds, keys)
        result.findings = [{"kind": "patient-name", "where": "StudyDescription"}]
        return result

    monkeypatch.setattr(anonymize, "deidentify", leaky)
    upload = upload_and_process(case, dicom_upload(1), department.champion)
    assert (upload.images_added, upload.files_rejected) == (0, 1)
    assert upload.problems == [
        {
            "file": 1,
            "reason": "the verifier found identifiers",
            "kinds": ["patient-name"],
            "where": ["StudyDescription"],
        }
    ]
    assert "not kept because the verifier found identifiers" in upload.message


def test_the_progress_fragment_tells_the_page_to_reload_when_processing_ends(
    client, case, department
):
    upload = case_upload_start(case=case, files=dicom_upload(1), actor=department.champion)
    client.force_login(department.champion)
    url = reverse("conferences:upload-status", args=[case.uuid, upload.uuid]) + "?poll=1"
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert "Waiting for a worker" in running.content.decode() and "HX-Refresh" not in running
    assert 'hx-trigger="every 1s"' in running.content.decode()
    case_upload_process(upload_id=upload.pk)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "1 image added" in done.content.decode()


# Pixels --------------------------------------------------------------------------------------


def test_burned_in_text_is_blacked_out_and_the_flag_clears(client, case, department):
    capture = make_secondary_capture(rgb=False)
    upload_and_process(case, [SimpleUploadedFile("sc", to_bytes(capture))], department.champion)
    image = case.images.get()
    assert image.needs_pixel_review
    assert image.pixel_review_reasons == ["burned-in-annotation", "secondary-capture"]
    key_image_add(image=image, frame=0, preset="auto", actor=department.champion)

    client.force_login(department.champion)
    review = reverse("conferences:image-review", args=[case.uuid, image.pk])
    assert client.get(review).status_code == 200
    response = client.post(review, {"rectangles": "1, 1, 4, 2\n100, 100, 5, 5"})
    assert response.status_code == 302

    image.refresh_from_db()
    assert not image.needs_pixel_review and image.pixel_version == 2
    pixels = pydicom.dcmread(io.BytesIO(stored_bytes(image))).pixel_array
    assert (pixels[1:3, 1:5] == 0).all() and (pixels[0, 0] == 200)
    key = KeyImage.objects.get(image=image)
    with default_storage.open(key.png.name, "rb") as handle:
        png = np.array(Image.open(handle))
    assert png[1, 1] == 0 and png[0, 0] > 0
    case.refresh_from_db()
    assert case.check_passed


def test_nothing_to_hide_marks_the_image_reviewed_and_bad_rectangles_are_explained(
    client, case, department
):
    upload_and_process(
        case, [SimpleUploadedFile("sc", to_bytes(make_secondary_capture()))], department.champion
    )
    image = case.images.get()
    client.force_login(department.champion)
    review = reverse("conferences:image-review", args=[case.uuid, image.pk])
    response = client.post(review, {"rectangles": "10, 20, forty"})
    assert "Line 1: write four numbers" in response.content.decode()
    image_blackout(image=image, rectangles=[], actor=department.champion)
    image.refresh_from_db()
    assert not image.needs_pixel_review and image.pixels_reviewed_by == department.champion


def _capture_with_text() -> bytes:
    """A 512 x 512 screen capture with a name and number drawn into its top left corner."""
    capture = make_secondary_capture(rgb=False)
    canvas = Image.new("L", (512, 512), 40)
    ImageDraw.Draw(canvas).text(
        (12, 10), "DOE^JANE 12345678", fill=255, font=ImageFont.load_default(size=16)
    )
    capture.Rows, capture.Columns = 512, 512
    capture.PixelData = canvas.tobytes()
    return to_bytes(capture)


def test_text_recognition_proposes_rectangles_the_champion_checks_before_blacking_out(
    client, case, department, need_service
):
    need_service(ocr_available(), "tesseract (Debian package tesseract-ocr)")
    upload_and_process(case, [SimpleUploadedFile("sc", _capture_with_text())], department.champion)
    image = case.images.get()
    assert image.needs_pixel_review and len(image.ocr_proposals) == 1
    x, y, width, height = image.ocr_proposals[0]
    assert x <= 12 and y <= 12 and x + width >= 160 and y + height >= 24 and width < 250

    client.force_login(department.champion)
    review = reverse("conferences:image-review", args=[case.uuid, image.pk])
    page = client.get(review)
    assert "Text recognition proposes 1 rectangle over text" in page.content.decode()
    assert page.context["form"]["rectangles"].value() == f"{x}, {y}, {width}, {height}"
    assert f"{x}, {y}, {width}, {height}</textarea>" in page.content.decode()
    # Only a proposal: the pixels are untouched until the champion saves.
    image.refresh_from_db()
    assert image.needs_pixel_review and image.pixel_version == 1
    assert (
        pydicom.dcmread(io.BytesIO(stored_bytes(image))).pixel_array[10:26, 12:160] == 255
    ).any()


def test_images_uploaded_without_text_recognition_get_proposals_when_first_opened(
    client, case, department, need_service, monkeypatch
):
    need_service(ocr_available(), "tesseract (Debian package tesseract-ocr)")
    with monkeypatch.context() as without_ocr:
        without_ocr.setenv("PATH", "")
        upload_and_process(
            case, [SimpleUploadedFile("sc", _capture_with_text())], department.champion
        )
    image = case.images.get()
    assert image.ocr_proposals is None

    client.force_login(department.champion)
    review = reverse("conferences:image-review", args=[case.uuid, image.pk])
    assert "Text recognition proposes 1 rectangle over text" in client.get(review).content.decode()
    image.refresh_from_db()
    assert len(image.ocr_proposals) == 1


def test_without_text_recognition_the_editor_starts_empty(client, case, department, monkeypatch):
    monkeypatch.setenv("PATH", "")
    upload_and_process(case, [SimpleUploadedFile("sc", _capture_with_text())], department.champion)
    image = case.images.get()
    client.force_login(department.champion)

    page = client.get(reverse("conferences:image-review", args=[case.uuid, image.pk]))

    assert "Text recognition" not in page.content.decode()
    assert page.context["form"]["rectangles"].value() == ""
    image.refresh_from_db()
    assert image.ocr_proposals is None


def test_rectangles_outside_the_image_are_clipped_or_dropped(case, department):
    upload_and_process(
        case,
        [SimpleUploadedFile("sc", to_bytes(make_secondary_capture(rgb=False)))],
        department.champion,
    )
    image = case.images.get()
    image_blackout(
        image=image, rectangles=[Rect(8, 4, 50, 50), Rect(40, 40, 2, 2)], actor=department.champion
    )
    image.refresh_from_db()
    pixels = pydicom.dcmread(io.BytesIO(stored_bytes(image))).pixel_array
    assert (pixels[4:, 8:] == 0).all() and (pixels[:4, :] == 200).all()


# Key images ----------------------------------------------------------------------------------


def test_key_images_are_rendered_with_the_chosen_window_and_can_be_reordered(
    client, case, department
):
    upload_and_process(case, dicom_upload(2, size=32), department.champion)
    first, second = case.images.order_by("instance_number")
    brain = key_image_add(image=first, frame=0, preset="ct_brain", actor=department.champion)
    bone = key_image_add(image=second, frame=0, preset="ct_bone", actor=department.champion)
    assert key_image_add(image=first, frame=0, preset="ct_brain", actor=None) == brain
    assert (brain.width, brain.height, brain.position, bone.position) == (32, 32, 1, 2)

    key_image_update(key=bone, actor=department.champion, move="up")
    assert list(case.key_images.values_list("preset", flat=True)) == ["ct_bone", "ct_brain"]

    client.force_login(department.champion)
    png = client.get(reverse("conferences:key-image", args=[case.uuid, brain.pk]))
    assert png["Content-Type"] == "image/png" and png.getvalue()[:4] == b"\x89PNG"
    preview = client.get(
        reverse("conferences:image-preview", args=[case.uuid, first.pk]), {"preset": "ct_lung"}
    )
    assert preview.status_code == 200 and preview.content[:4] == b"\x89PNG"
    bad = client.get(
        reverse("conferences:image-preview", args=[case.uuid, first.pk]), {"preset": "nope"}
    )
    assert bad.status_code == 404
    client.force_login(department.radiologist)  # not presented yet: not theirs to see
    assert (
        client.get(reverse("conferences:key-image", args=[case.uuid, brain.pk])).status_code == 404
    )


def test_a_caption_is_scrubbed_and_checked_like_the_rest(case, department):
    upload_and_process(case, dicom_upload(1), department.champion)
    key = key_image_add(
        image=case.images.get(),
        frame=0,
        preset="ct_brain",
        caption=f"Scan of {IDENTITY.given} {IDENTITY.family}",
        actor=department.champion,
    )
    assert key.caption == "Scan of [NAME]"
    case.refresh_from_db()
    assert case.check_passed

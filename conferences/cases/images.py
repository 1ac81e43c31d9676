"""A case's images: uploads processed in the background, key images, pixel blackouts.

The original files are staged in the default storage only until the task has read them;
each is de-identified with the case's uuid as the anonymizer's case key, verified, and
stored only if the verifier found nothing. Key images are PNGs rendered from the stored,
de-identified files.
"""

from __future__ import annotations

import datetime
import logging
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from anonymizer.uploads import Limits, UploadRefused, inspect, iter_payloads
from conferences import anonymize
from conferences.anonymize import CaseKeys, Rect, scrub_edit
from conferences.cases.models import (
    CaseImage,
    CaseUpload,
    KeyImage,
    TeachingCase,
    TeachingCaseIdentity,
)
from conferences.cases.services import CaseRefused, case_check_run, case_keys, teaching_case_sweep
from peerlearning.lib.audit import audit_record
from peerlearning.lib.queue import task_enqueue
from peerlearning.models import AuditEvent, User

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=10)
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


def _case_dir(case: TeachingCase) -> str:
    return f"conferences/cases/{case.uuid}"


# Uploads ---------------------------------------------------------------------------------


@transaction.atomic
def case_upload_start(
    *, case: TeachingCase, files: list, actor: User, limits: Limits | None = None
) -> CaseUpload:
    """Check the files, stage them, and queue their processing. Raises `UploadRefused`."""
    found = inspect(files, limits)
    upload = CaseUpload.objects.create(
        case=case, files_total=found.dicom_files, files_skipped=found.skipped, created_by=actor
    )
    staged = []
    for number, handle in enumerate(files):
        handle.seek(0)
        # Never the uploaded name: folder and file names of PACS exports can name the patient.
        staged.append(
            default_storage.save(f"conferences/staging/{upload.uuid}/{number:04d}", handle)
        )
    upload.staged = staged
    upload.save(update_fields=["staged"])
    case_check_run(case=case)
    audit_record(
        action=AuditEvent.Action.IMPORT,
        actor=actor,
        obj=case,
        detail={"what": "dicom upload", "upload": str(upload.uuid), "files": found.dicom_files},
    )
    upload_id = upload.pk
    task_enqueue("conferences.tasks.process_case_upload", upload_id)
    return upload


def _open_staged(upload: CaseUpload) -> list:
    return [default_storage.open(name, "rb") for name in upload.staged]


def _payloads(upload: CaseUpload):
    handles = _open_staged(upload)
    try:
        yield from iter_payloads(handles)
    finally:
        for handle in handles:
            handle.close()


def _is_directory(ds) -> bool:
    return str(ds.get("SOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY


def _remember_identifiers(case: TeachingCase, upload: CaseUpload) -> None:
    """First pass: keep the identifying header values of every file (the originals go)."""
    headers = []
    for data in _payloads(upload):
        ds = anonymize.read_dataset(data, headers_only=True)
        if ds is not None and not _is_directory(ds):
            headers.append(anonymize.identity_header(ds))
    identity, _ = TeachingCaseIdentity.objects.get_or_create(case=case)
    known = {repr(sorted(h.items())) for h in identity.headers}
    added = [h for h in headers if repr(sorted(h.items())) not in known]
    if added:
        identity.headers = [*identity.headers, *added]
        identity.updated_at = timezone.now()
        identity.save(update_fields=["headers", "updated_at"])


def case_upload_process(*, upload_id: int) -> str:
    """De-identify, verify and store every file of an upload. Safe to run twice."""
    now = timezone.now()
    claimed = (
        CaseUpload.objects.filter(pk=upload_id)
        .filter(
            Q(status=CaseUpload.Status.QUEUED)
            | Q(status=CaseUpload.Status.PROCESSING, claimed_until__lt=now)
        )
        .update(status=CaseUpload.Status.PROCESSING, claimed_until=now + LEASE)
    )
    if not claimed:
        return "not claimed"
    upload = CaseUpload.objects.select_related("case").get(pk=upload_id)
    case = upload.case
    problems, skipped, rejected = [], upload.files_skipped, 0
    try:
        _remember_identifiers(case, upload)
        keys = case_keys(case)
        index = 0
        for data in _payloads(upload):
            ds = anonymize.read_dataset(data)
            if ds is None or _is_directory(ds):
                skipped += 1
                continue
            index += 1
            outcome = _store_one(case, upload, index, ds, keys)
            if outcome == "skipped":
                skipped += 1
            elif outcome:
                rejected += 1
                problems.append({"file": index, **outcome})
            CaseUpload.objects.filter(pk=upload.pk).update(
                files_done=index, claimed_until=timezone.now() + LEASE
            )
    except UploadRefused as refusal:
        _finish(upload, CaseUpload.Status.FAILED, refusal.problems[0], problems)
    except Exception as exc:
        # The type only: a message may quote a header value.
        log.warning("Upload %s failed: %s", upload.uuid, type(exc).__name__)
        _finish(
            upload,
            CaseUpload.Status.FAILED,
            f"The files could not be processed ({type(exc).__name__}). Nothing from them is kept.",
            problems,
        )
        stored = CaseImage.objects.filter(upload=upload)
        for name in stored.values_list("dicom", flat=True):
            default_storage.delete(name)
        stored.delete()
    else:
        added = upload.images.count()
        message = f"{added} image{'s' if added != 1 else ''} added"
        if rejected:
            message += f"; {rejected} not kept because the verifier found identifiers"
        if skipped:
            message += f"; {skipped} skipped (duplicates or a DICOMDIR)"
        swept = teaching_case_sweep(case=TeachingCase.objects.get(pk=case.pk), keys=keys)
        if swept:
            message += (
                f"; {swept} identifier{'s' if swept != 1 else ''} from the new images "
                f"replaced in the case's text"
            )
        upload.images_added, upload.files_skipped, upload.files_rejected = added, skipped, rejected
        upload.save(update_fields=["images_added", "files_skipped", "files_rejected"])
        _finish(upload, CaseUpload.Status.DONE, message + ".", problems)
        _fill_in_modality(case)
    case_check_run(case=TeachingCase.objects.get(pk=case.pk))
    return upload.status


def _finish(upload: CaseUpload, status: str, message: str, problems: list) -> None:
    for name in upload.staged:
        default_storage.delete(name)
    upload.status = status
    upload.message = message[:300]
    upload.problems = problems
    upload.staged = []
    upload.finished_at = timezone.now()
    upload.claimed_until = None
    upload.save(
        update_fields=["status", "message", "problems", "staged", "finished_at", "claimed_until"]
    )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _store_one(case, upload, index, ds, keys: CaseKeys) -> dict | str | None:
    """Store one file; None when stored, "skipped", or what stopped it (kinds, places)."""
    if CaseImage.objects.filter(upload=upload, source_index=index).exists():
        return None  # a second run of the task: done already
    try:
        result = anonymize.deidentify(ds, keys)
    except Exception as exc:
        return {"reason": f"could not be de-identified ({type(exc).__name__})", "kinds": []}
    if result.findings:
        return {
            "reason": "the verifier found identifiers",
            "kinds": sorted({f["kind"] for f in result.findings}),
            "where": sorted({f["where"] for f in result.findings})[:5],
        }
    out = anonymize.read_dataset(result.data, headers_only=True)
    if CaseImage.objects.filter(case=case, sop_instance_uid=str(out.SOPInstanceUID)).exists():
        return "skipped"
    proposals = _text_proposals(result.data) if result.pixel_review_reasons else None
    name = default_storage.save(
        f"{_case_dir(case)}/dicom/{uuid.uuid4()}.dcm", ContentFile(result.data)
    )
    CaseImage.objects.create(
        case=case,
        upload=upload,
        source_index=index,
        sop_instance_uid=str(out.SOPInstanceUID),
        series_uid=str(out.get("SeriesInstanceUID", "")),
        series_number=_int(out.get("SeriesNumber")),
        instance_number=_int(out.get("InstanceNumber")),
        series_description=str(out.get("SeriesDescription", "") or "")[:200],
        modality=str(out.get("Modality", "") or "")[:16],
        frames=_int(out.get("NumberOfFrames")) or 1,
        rows=_int(out.get("Rows")) or 0,
        columns=_int(out.get("Columns")) or 0,
        dicom=name,
        needs_pixel_review=bool(result.pixel_review_reasons),
        pixel_review_reasons=result.pixel_review_reasons,
        ocr_proposals=proposals,
        findings=[],
        verified_at=timezone.now(),
    )
    return None


def _text_proposals(data: bytes) -> list[list[int]] | None:
    rects = anonymize.text_proposals(anonymize.read_dataset(data))
    return None if rects is None else [[r.x, r.y, r.width, r.height] for r in rects]


MODALITY_MAP = {"CT": "CT", "MR": "MR", "CR": "XR", "DX": "XR", "US": "US", "NM": "NM"}
MODALITY_MAP |= {"PT": "NM", "MG": "MG", "RF": "FL", "XA": "XA"}


def _fill_in_modality(case: TeachingCase) -> None:
    if case.modality:
        return
    first = case.images.exclude(modality="").values_list("modality", flat=True).first()
    if first:
        TeachingCase.objects.filter(pk=case.pk, modality="").update(
            modality=MODALITY_MAP.get(first, TeachingCase.Modality.OTHER)
        )


# Looking at images ---------------------------------------------------------------------------


def _load(image: CaseImage):
    with default_storage.open(image.dicom.name, "rb") as handle:
        return anonymize.read_dataset(handle.read())


def image_preview(*, image: CaseImage, frame: int = 0, preset: str = "auto") -> bytes:
    """A PNG of one frame (cached in storage until the pixels change)."""
    if preset not in anonymize.PRESETS or not 0 <= frame < image.frames:
        raise CaseRefused("No such view of the image.")
    name = (
        f"{_case_dir(image.case)}/previews/{image.pk}-v{image.pixel_version}-{frame}-{preset}.png"
    )
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    data = anonymize.render(_load(image), frame=frame, preset=preset)
    default_storage.save(name, ContentFile(data))
    return data


def _png_size(data: bytes) -> tuple[int, int]:
    # PNG: width and height are the first two fields of the IHDR chunk.
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _render_key(key: KeyImage, ds=None) -> None:
    data = anonymize.render(ds or _load(key.image), frame=key.frame, preset=key.preset)
    old = key.png.name if key.png else ""
    key.png.name = default_storage.save(
        f"{_case_dir(key.case)}/key/{uuid.uuid4()}.png", ContentFile(data)
    )
    key.width, key.height = _png_size(data)
    if old:
        default_storage.delete(old)


@transaction.atomic
def key_image_add(
    *, image: CaseImage, frame: int, preset: str, actor: User, caption: str = ""
) -> KeyImage:
    """Render a frame with a window preset as a key image of the case."""
    case = image.case
    if preset not in anonymize.PRESETS:
        raise CaseRefused("Pick one of the window presets.")
    if not 0 <= frame < image.frames:
        raise CaseRefused(f"This image has frames 1 to {image.frames}.")
    existing = KeyImage.objects.filter(image=image, frame=frame, preset=preset).first()
    if existing:
        return existing
    keys = case_keys(case)
    caption, _ = scrub_edit(caption.strip()[:200], keys)
    position = (case.key_images.aggregate(m=Max("position"))["m"] or 0) + 1
    key = KeyImage(
        case=case, image=image, frame=frame, preset=preset, caption=caption, position=position
    )
    _render_key(key)
    key.save()
    case_check_run(case=case, keys=keys)
    return key


@transaction.atomic
def key_image_update(
    *, key: KeyImage, actor: User, caption: str | None = None, move: str = ""
) -> KeyImage:
    case = key.case
    if caption is not None and caption != key.caption:
        key.caption, _ = scrub_edit(caption.strip()[:200], case_keys(case))
        key.save(update_fields=["caption"])
    if move in ("up", "down"):
        keys = list(case.key_images.order_by("position", "pk"))
        at = next(n for n, k in enumerate(keys) if k.pk == key.pk)
        other = at - 1 if move == "up" else at + 1
        if 0 <= other < len(keys):
            keys[at], keys[other] = keys[other], keys[at]
            for position, item in enumerate(keys, start=1):
                if item.position != position:
                    KeyImage.objects.filter(pk=item.pk).update(position=position)
    case_check_run(case=case)
    return key


@transaction.atomic
def key_image_delete(*, key: KeyImage, actor: User) -> None:
    case = key.case
    name = key.png.name
    key.delete()
    transaction.on_commit(lambda: default_storage.delete(name))
    case_check_run(case=case)


@transaction.atomic
def image_delete(*, image: CaseImage, actor: User) -> None:
    """Remove an image (and its key images) from the case."""
    case = image.case
    names = [image.dicom.name, *(k.png.name for k in image.key_images.all())]
    image.delete()
    transaction.on_commit(lambda: [default_storage.delete(n) for n in names])
    case_check_run(case=case)
    audit_record(action=AuditEvent.Action.DELETE, actor=actor, obj=case, detail={"what": "image"})


def image_text_proposals(*, image: CaseImage) -> list[Rect]:
    """Where OCR sees text in a flagged image, for the champion to check (found once, kept)."""
    if not image.needs_pixel_review:
        return []
    if image.ocr_proposals is None:
        # Uploaded before OCR was installed: look now, once.
        with default_storage.open(image.dicom.name, "rb") as handle:
            found = _text_proposals(handle.read())
        if found is not None:
            image.ocr_proposals = found
            image.save(update_fields=["ocr_proposals"])
    return [Rect(*r) for r in image.ocr_proposals or []]


def rectangles_within(image: CaseImage, rectangles: list[Rect]) -> list[Rect]:
    """Clip rectangles to the image; those wholly outside are dropped."""
    clipped = []
    for rect in rectangles:
        x2 = min(rect.x + rect.width, image.columns)
        y2 = min(rect.y + rect.height, image.rows)
        if rect.x < image.columns and rect.y < image.rows and x2 > rect.x and y2 > rect.y:
            clipped.append(Rect(rect.x, rect.y, x2 - rect.x, y2 - rect.y))
    return clipped


@transaction.atomic
def image_blackout(*, image: CaseImage, rectangles: list[Rect], actor: User) -> CaseImage:
    """Black out rectangles in every frame (none: "I looked, nothing to hide"); verify again."""
    image = CaseImage.objects.select_for_update().select_related("case").get(pk=image.pk)
    case = image.case
    rectangles = rectangles_within(image, rectangles)
    with default_storage.open(image.dicom.name, "rb") as handle:
        data = anonymize.apply_blackout(handle.read(), rectangles)
    keys = case_keys(case)
    ds = anonymize.read_dataset(data)
    old = image.dicom.name
    image.dicom.name = default_storage.save(
        f"{_case_dir(case)}/dicom/{uuid.uuid4()}.dcm", ContentFile(data)
    )
    reasons = anonymize.review_reasons(ds)
    image.findings = anonymize.verify_stored(data, keys)
    image.needs_pixel_review = bool(reasons)
    image.pixel_review_reasons = reasons
    image.pixels_reviewed_by = actor
    image.pixels_reviewed_at = image.verified_at = timezone.now()
    image.pixel_version = F("pixel_version") + 1
    image.save()
    image.refresh_from_db()
    for key in image.key_images.all():
        _render_key(key, ds)
        key.save(update_fields=["png", "width", "height"])
    transaction.on_commit(lambda: default_storage.delete(old))
    case_check_run(case=case, keys=keys)
    audit_record(
        action=AuditEvent.Action.UPDATE,
        actor=actor,
        obj=case,
        detail={"what": "pixel review", "image": image.pk, "rectangles": len(rectangles)},
    )
    return image


def stalled_uploads() -> list[int]:
    """Uploads no worker is on: queued for a while, or processing with an expired lease."""
    now = timezone.now()
    return list(
        CaseUpload.objects.filter(
            Q(status=CaseUpload.Status.QUEUED, created_at__lt=now - datetime.timedelta(minutes=2))
            | Q(status=CaseUpload.Status.PROCESSING, claimed_until__lt=now)
        ).values_list("pk", flat=True)
    )

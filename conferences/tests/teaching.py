"""Helpers for teaching-case tests: candidate submissions, synthetic DICOM uploads, ready cases.

The DICOM comes from the anonymizer's factory (`anonymizer.tests.factories`): small images
whose headers carry a made-up patient's name, IDs, birth date, hospital and staff in every
kind of place, so a test can look for each of them on the slides.
"""

from __future__ import annotations

import datetime

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from anonymizer.tests.factories import IDENTITY, Identity, make_image, to_bytes
from conferences.cases.agenda import agenda_add
from conferences.cases.images import case_upload_process, case_upload_start, key_image_add
from conferences.cases.services import teaching_case_create, teaching_case_update
from conferences.models import Conference, TeachingCase
from peerlearning.models import User
from submissions.models import Reason, Submission


def candidate(
    section,
    submitter: User,
    *,
    reader: User | None = None,
    reason: str = Reason.DISCREPANCY,
    accession: str = IDENTITY.accession,
    description: str = "Subtle left convexity subdural hematoma on the first CT.",
    learning_point: str = "Window the brain with a subdural window on every trauma CT.",
) -> Submission:
    """A submission the champion marked as a conference candidate."""
    return Submission.objects.create(
        section=section,
        submitter=submitter,
        original_reader=reader,
        accession_number=accession,
        reason=reason,
        description=description,
        learning_point=learning_point,
        attested_at=timezone.now() if reason == Reason.DISCREPANCY else None,
        conference_candidate=True,
    )


def phantom(size: int, slice_number: int = 1) -> np.ndarray:
    """A head-like CT slice in stored values (HU + 1024): skull, brain, a left crescent."""
    y, x = np.mgrid[0:size, 0:size]
    cy, cx = size / 2, size / 2
    r = np.hypot((x - cx) / (0.42 * size), (y - cy) / (0.48 * size))
    hu = np.full((size, size), -1000.0)
    hu[r < 1.0] = 1200  # skull
    hu[r < 0.92] = 32  # brain
    ventricles = np.hypot((x - cx) / (0.08 * size), (y - cy) / (0.18 * size)) < 1
    hu[ventricles] = 8
    crescent = (r < 0.92) & (r > 0.80) & (x > cx + 0.1 * size) & (abs(y - cy) < 0.3 * size)
    hu[crescent] = 68 + slice_number  # a subdural collection on one side
    return (hu + 1024).clip(0, 4095).astype(np.uint16)


def dicom_upload(
    count: int = 2, *, who: Identity = IDENTITY, name: str = "IMG", size: int = 32, **changes
) -> list[SimpleUploadedFile]:
    files = []
    for n in range(1, count + 1):
        ds = make_image(who, instance=n, rows=size, columns=size)
        ds.PixelData = phantom(size, n).tobytes()
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        files.append(SimpleUploadedFile(f"{name}{n:04d}", to_bytes(ds), "application/octet-stream"))
    return files


def upload_and_process(case: TeachingCase, files, actor: User):
    """Upload and run the task's work here (tests do not commit, so on_commit never fires)."""
    upload = case_upload_start(case=case, files=files, actor=actor)
    case_upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def ready_case(
    section,
    champion: User,
    *,
    title: str = "Headache after a fall",
    sources=(),
    images: int = 1,
    who: Identity = IDENTITY,
    question: str = "What is the finding?",
    options=("Subdural hematoma", "Epidural hematoma", "No acute finding"),
    correct: int | None = 0,
    **fields,
) -> TeachingCase:
    """A case whose check passed: text, a multiple-choice question, key images."""
    case, _ = teaching_case_create(section=section, actor=champion, title=title, sources=sources)
    if images:
        upload_and_process(case, dicom_upload(images, who=who), champion)
        for image in case.images.all():
            key_image_add(image=image, frame=0, preset="ct_subdural", actor=champion)
    case, _ = teaching_case_update(
        case=case,
        actor=champion,
        question=question,
        options=list(options),
        correct_option=correct,
        answer=fields.pop("answer", "Acute subdural hematoma along the left convexity."),
        history=fields.pop("history", "Elderly patient, fall at home, on anticoagulation."),
        modality=fields.pop("modality", "CT"),
        body_part=fields.pop("body_part", "brain"),
        **fields,
    )
    assert case.check_passed, case.check_findings
    return case


def agenda_of(conference: Conference, cases, champion: User) -> None:
    for case in cases:
        agenda_add(conference=conference, case=case, actor=champion)


def soon(minutes: int = 5) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=minutes)

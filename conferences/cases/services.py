"""Teaching cases: made from submissions, edited by champions, checked after every change.

Text brought in from a submission goes through the anonymizer's scrubber (identifiers
marked `[NAME]`, `[ID]` …, dates shifted with the case's offset); text the champion types
later is swept for the case's known identifiers. Whatever the text, the check runs over
every part of the case after each change, and only a case whose check passed can go on an
agenda (`conferences.cases.agenda`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from anonymizer.gate import GateContext, GatedText, ReleaseSummary, field_key, texts_gate
from conferences.anonymize import CaseKeys, scrub_edit, scrub_import, verify_stored, verify_texts
from conferences.cases.models import CaseUpload, CreditConsent, TeachingCase, TeachingCaseIdentity
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Section, User
from peerlearning.roster import roster_names
from submissions.models import Submission

TEXT_FIELDS = (
    "title",
    "history",
    "findings",
    "question",
    "answer",
    "teaching_points",
    "references",
)
PLAIN_FIELDS = ("question_kind", "correct_option", "modality", "body_part", "reason")


class CaseRefused(Exception):
    """The change cannot be made; the message says why."""


# Identifiers -------------------------------------------------------------------------------


def case_roster_names(case: TeachingCase) -> list[str]:
    """The roster, and the people of the case's submissions (submitters, readers)."""
    if not case.pk:
        return roster_names()
    return roster_names(
        also=Q(submissions__teaching_cases=case) | Q(feedback_received__teaching_cases=case)
    )


def case_keys(case: TeachingCase, *, originals=()) -> CaseKeys:
    """The case's identifiers: kept image headers, accession numbers, the roster."""
    identity = TeachingCaseIdentity.objects.filter(case=case).first()
    return CaseKeys.build(
        case_key=str(case.uuid),
        headers=identity.headers if identity else [],
        accession_numbers=case.sources.values_list("accession_number", flat=True),
        roster=case_roster_names(case),
        originals=originals,
    )


# The check ---------------------------------------------------------------------------------


def case_text_parts(case: TeachingCase) -> list[tuple[str, str, str]]:
    parts = case.text_parts()
    for n, key in enumerate(case.key_images.all(), start=1):
        parts.append((f"key:{key.pk}", f"Caption of key image {n}", key.caption))
    return parts


def case_check_run(*, case: TeachingCase, keys: CaseKeys | None = None) -> TeachingCase:
    """Check every part of the case; store what blocks it (kinds and places, never values)."""
    keys = keys or case_keys(case)
    findings = verify_texts(case_text_parts(case), keys)
    findings += case_gate_findings(case, keys)
    for number, image in enumerate(case.images.order_by("series_number", "instance_number", "pk")):
        label = f"Image {number + 1} ({image.label})"
        for finding in image.findings:
            findings.append(
                {
                    "part": f"image:{image.pk}",
                    "label": label,
                    "kind": finding["kind"],
                    "where": finding.get("where", ""),
                }
            )
        if image.needs_pixel_review:
            findings.append(
                {
                    "part": f"image:{image.pk}",
                    "label": label,
                    "kind": "needs-pixel-review",
                    "where": ", ".join(image.pixel_review_reasons),
                    "image": image.pk,
                }
            )
    if case.uploads.filter(
        status__in=[CaseUpload.Status.QUEUED, CaseUpload.Status.PROCESSING]
    ).exists():
        findings.append({"part": "upload", "label": "Images", "kind": "processing", "where": ""})
    case.check_passed = not findings
    case.check_findings = findings
    case.checked_at = timezone.now()
    TeachingCase.objects.filter(pk=case.pk).update(
        check_passed=case.check_passed,
        check_findings=findings,
        checked_at=case.checked_at,
    )
    return case


def case_gate(case: TeachingCase, keys: CaseKeys | None = None) -> list[GatedText]:
    """The case's texts at the gate: scrubbed, flagged, with the releases made so far."""
    keys = keys or case_keys(case)
    context = GateContext(known=keys.known, roster=keys.roster, dates=False)
    items = [
        (field_key(case, part), label, text)
        for part, label, text in case_text_parts(case)
        if part != "tags"
    ]
    return texts_gate(items=items, context=context)


def case_gate_findings(case: TeachingCase, keys: CaseKeys) -> list[dict]:
    """A finding for each text with a flag no champion has released yet."""
    findings = []
    for gated in case_gate(case, keys):
        part = gated.field_key.split(":", 2)[2]
        if gated.unreleased:
            count = len(gated.unreleased)
            findings.append(
                {
                    "part": part,
                    "label": gated.label,
                    "kind": "flagged-text",
                    "where": f"{count} span{'s' if count != 1 else ''} to decide",
                }
            )
        if gated.stale:
            findings.append(
                {"part": part, "label": gated.label, "kind": "scrub-pending", "where": ""}
            )
    return findings


def case_release_summary(case: TeachingCase) -> ReleaseSummary:
    return ReleaseSummary.of(case_gate(case))


# Create and edit ---------------------------------------------------------------------------


def normalise_tags(tags: Iterable[str] | str) -> str:
    if isinstance(tags, str):
        tags = tags.split(",")
    clean = []
    for tag in tags:
        tag = " ".join(tag.replace("|", " ").split()).lower()[:40]
        if tag and tag not in clean:
            clean.append(tag)
    return f"|{'|'.join(clean)}|" if clean else ""


def _joined(texts: Iterable[str]) -> str:
    return "\n\n".join(t.strip() for t in texts if t and t.strip())


@transaction.atomic
def teaching_case_create(
    *,
    section: Section,
    actor: User,
    title: str,
    sources: Iterable[Submission] = (),
) -> tuple[TeachingCase, int]:
    """A new case from submissions: their text scrubbed; (case, identifiers replaced)."""
    sources = list(sources)
    if any(s.section_id != section.pk for s in sources):
        raise CaseRefused("Every submission must belong to the case's section.")
    case = TeachingCase.objects.create(
        section=section,
        title=title.strip()[:200] or "Untitled case",
        reason=sources[0].reason if sources else "",
        created_by=actor,
    )
    case.sources.set(sources)
    keys = case_keys(case)
    replaced = 0
    case.title, count = scrub_import(case.title, keys)
    replaced += count
    # The submitter's description tells what was found: it belongs to the reveal.
    case.findings, count = scrub_import(_joined(s.description for s in sources), keys)
    replaced += count
    case.teaching_points, count = scrub_import(_joined(s.learning_point for s in sources), keys)
    replaced += count
    case.save(update_fields=["title", "findings", "teaching_points"])
    credits_sync(case=case)
    case_check_run(case=case, keys=keys)
    audit_record(
        action=AuditEvent.Action.CREATE,
        actor=actor,
        obj=case,
        detail={"sources": [s.pk for s in sources], "replaced": replaced},
    )
    return case, replaced


@transaction.atomic
def teaching_case_update(
    *, case: TeachingCase, actor: User, **values
) -> tuple[TeachingCase, dict[str, int]]:
    """Change a case; typed text is swept for known identifiers, then the check runs again.

    Returns the case and, per field label, how many identifiers were replaced.
    """
    unknown = set(values) - {*TEXT_FIELDS, *PLAIN_FIELDS, "options", "tags"}
    if unknown:
        raise CaseRefused(f"Unknown fields: {', '.join(sorted(unknown))}")
    case = TeachingCase.objects.select_for_update().get(pk=case.pk)
    keys = case_keys(case)
    labels = {part: label for part, label, _ in case.text_parts()}
    replaced: dict[str, int] = {}
    changed = []
    for name in TEXT_FIELDS:
        if name in values and values[name] != getattr(case, name):
            text, count = scrub_edit(values[name].strip(), keys)
            if name == "title":
                text = text[:200]
            if count:
                replaced[labels.get(name, name)] = count
            setattr(case, name, text)
            changed.append(name)
    if "options" in values and list(values["options"]) != list(case.options):
        options = []
        for n, option in enumerate(values["options"]):
            text, count = scrub_edit(option.strip(), keys)
            if count:
                replaced[f"Option {n + 1}"] = count
            options.append(text)
        case.options = options
        changed.append("options")
    if "tags" in values:
        tags = normalise_tags(values["tags"])
        if tags != case.tags:
            case.tags = tags
            changed.append("tags")
    for name in PLAIN_FIELDS:
        if name in values and values[name] != getattr(case, name):
            setattr(case, name, values[name])
            changed.append(name)
    if case.question_kind != TeachingCase.QuestionKind.CHOICE:
        case.correct_option = None
    elif case.correct_option is not None and case.correct_option >= len(case.options):
        raise CaseRefused("The correct answer must be one of the options.")
    if not changed:
        return case, replaced
    case.updated_at = timezone.now()
    case.save()
    credits_sync(case=case)
    case_check_run(case=case, keys=keys)
    audit_record(
        action=AuditEvent.Action.UPDATE, actor=actor, obj=case, detail={"fields": sorted(changed)}
    )
    return case, replaced


def teaching_case_sweep(*, case: TeachingCase, keys: CaseKeys) -> int:
    """Replace identifiers that became known later (new images) in all of the case's text.

    Only known identifiers are looked for (dates are not shifted again); returns how many
    were replaced.
    """
    replaced = 0
    changed = []
    for name in TEXT_FIELDS:
        text, count = scrub_edit(getattr(case, name), keys)
        if count:
            setattr(case, name, text)
            changed.append(name)
            replaced += count
    options = []
    for option in case.options or []:
        text, count = scrub_edit(option, keys)
        options.append(text)
        replaced += count
    if options != list(case.options or []):
        case.options = options
        changed.append("options")
    for key in case.key_images.all():
        text, count = scrub_edit(key.caption, keys)
        if count:
            key.caption = text
            key.save(update_fields=["caption"])
            replaced += count
    if changed:
        case.save(update_fields=changed)
    return replaced


def images_verify(*, case: TeachingCase, keys: CaseKeys) -> None:
    """Read every stored image back and verify it again."""
    for image in case.images.all():
        with default_storage.open(image.dicom.name, "rb") as handle:
            image.findings = verify_stored(handle.read(), keys)
        image.verified_at = timezone.now()
        image.save(update_fields=["findings", "verified_at"])


@transaction.atomic
def teaching_case_recheck(*, case: TeachingCase, actor: User) -> TeachingCase:
    """Verify every stored image and all the text again (the roster may have changed)."""
    keys = case_keys(case)
    images_verify(case=case, keys=keys)
    return case_check_run(case=case, keys=keys)


# Credits on the slides ------------------------------------------------------------------------


def credits_sync(*, case: TeachingCase) -> None:
    """Ask each submitter of a great catch or interesting case whether to be named."""
    if not case.creditable:
        return
    for submitter_id in case.sources.values_list("submitter_id", flat=True):
        CreditConsent.objects.get_or_create(
            case=case, person_id=submitter_id, credited_as=CreditConsent.As.SUBMITTER
        )


@transaction.atomic
def credit_ask_readers(*, case: TeachingCase, actor: User) -> int:
    """Ask the original readers of the case's submissions whether to be named; how many asked."""
    if not case.creditable:
        raise CaseRefused("Only great catches and interesting cases name people on the slides.")
    asked = 0
    for reader_id in case.sources.exclude(original_reader=None).values_list(
        "original_reader_id", flat=True
    ):
        _, created = CreditConsent.objects.get_or_create(
            case=case, person_id=reader_id, credited_as=CreditConsent.As.READER
        )
        asked += int(created)
    audit_record(
        action=AuditEvent.Action.UPDATE,
        actor=actor,
        obj=case,
        detail={"what": "readers asked for credit", "asked": asked},
    )
    return asked


@transaction.atomic
def credit_answer(*, consent: CreditConsent, actor: User, answer: str) -> CreditConsent:
    """The person themself says yes or no to being named."""
    if consent.person_id != actor.pk:
        raise PermissionError("Only the person named can answer.")
    if answer not in (CreditConsent.Answer.YES, CreditConsent.Answer.NO):
        raise ValueError("Answer yes or no.")
    consent.answer = answer
    consent.answered_at = timezone.now()
    consent.save(update_fields=["answer", "answered_at"])
    return consent


def slide_credits(case: TeachingCase) -> dict[str, list[str]]:
    """Names that may appear on the slides: opted-in people of a creditable case only."""
    if not case.creditable:
        return {}
    found: dict[str, list[str]] = {}
    consents = (
        case.credits.all()
        if "credits" in getattr(case, "_prefetched_objects_cache", {})
        else case.credits.select_related("person")
    )
    for consent in consents:
        if consent.answer == CreditConsent.Answer.YES:
            found.setdefault(consent.credited_as, []).append(consent.person.display_name)
    return found

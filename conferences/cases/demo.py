"""Demo teaching cases: a few text-only cases per section, made from the section's conference
candidates when there are any, checked by the anonymizer's verifier like any other case, on
the agenda of the section's last held conference (so the library shows them to everyone)
and of its next scheduled one.

Registered with `peerlearning.demo.history_builder` by `conferences/demo.py`, after the
conferences it puts the cases on.
"""

import random

from django.db.models import QuerySet
from django.utils import timezone

from conferences.anonymize import CaseKeys, verify_texts
from conferences.cases.models import AgendaItem, CreditConsent, TeachingCase
from conferences.meetings.models import Conference
from peerlearning.demo import BATCH_SIZE, DemoContext, DemoSize, history_builder
from peerlearning.models import Role
from peerlearning.roster import roster_names
from submissions.models import Submission

TEACHING_CASES = [
    {
        "title": "Headache after a fall",
        "modality": "CT",
        "body_part": "brain",
        "history": "Elderly patient on anticoagulation, fall at home, new headache.",
        "question": "What is the finding?",
        "options": ["Thin left subdural hematoma", "Normal for age", "Hemorrhagic contusion"],
        "answer": "A thin subdural hematoma along the left convexity.",
        "teaching_points": "Use a subdural window on every head CT after trauma.",
        "tags": "|trauma|subdural|",
    },
    {
        "title": "Sudden shortness of breath",
        "modality": "CT",
        "body_part": "chest",
        "history": "Two weeks after knee surgery, sudden dyspnoea and tachycardia.",
        "question": "What is the finding?",
        "options": ["Segmental pulmonary embolus", "Mixing artefact", "Mucus plugging"],
        "answer": "A segmental embolus in the right lower lobe artery.",
        "teaching_points": "Scroll every segmental artery before calling the study negative.",
        "tags": "|embolism|emergency|",
    },
    {
        "title": "Right lower quadrant pain",
        "modality": "CT",
        "body_part": "abdomen",
        "history": "Young adult, one day of periumbilical pain moving to the right.",
        "question": "Would you have called it?",
        "kind": "called_it",
        "answer": "Early appendicitis: a 9 mm appendix with periappendiceal fat stranding.",
        "teaching_points": "Follow the appendix from the base to the tip on coronal images.",
        "tags": "|appendicitis|emergency|",
    },
    {
        "title": "Wrist pain after a fall",
        "modality": "XR",
        "body_part": "msk",
        "history": "Fall on the outstretched hand, snuffbox tenderness.",
        "question": "What is the finding?",
        "options": ["Scaphoid waist fracture", "No fracture", "Distal radius fracture"],
        "answer": "A non-displaced scaphoid waist fracture, seen on the ulnar-deviated view.",
        "teaching_points": "Ask for the scaphoid series when the history fits.",
        "tags": "|fracture|trauma|",
    },
    {
        "title": "An adrenal nodule on a staging CT",
        "modality": "CT",
        "body_part": "abdomen",
        "history": "Staging CT for a colon cancer.",
        "question": "What is the next step?",
        "options": ["Adrenal protocol CT or MRI", "Biopsy", "Nothing"],
        "answer": "Characterise it: an adrenal protocol CT or chemical-shift MRI.",
        "teaching_points": "State a follow-up recommendation with an interval when one is needed.",
        "tags": "|incidental|oncology|",
    },
    {
        "title": "Back pain without trauma",
        "modality": "MR",
        "body_part": "spine",
        "history": "Three weeks of back pain, fever at night.",
        "question": "What is the finding?",
        "options": ["Spondylodiscitis", "Modic type 1 change", "Disc herniation"],
        "answer": "Spondylodiscitis at L3-L4 with a small epidural collection.",
        "teaching_points": "Look at the disc and the epidural space when the endplates are bright.",
        "tags": "|infection|spine|",
    },
]
CASES_PER_SECTION = 3


def _cases_present(ctx: DemoContext) -> bool:
    return TeachingCase.objects.filter(created_by__in=ctx.people).exists()


def _cases_wipe(people: QuerySet) -> None:
    AgendaItem.objects.filter(teaching_case__created_by__in=people).delete()
    TeachingCase.objects.filter(created_by__in=people).delete()


@history_builder("teaching cases", order=210, present=_cases_present, wipe=_cases_wipe)
def build_teaching_cases(ctx: DemoContext, rng: random.Random, size: DemoSize) -> dict[str, int]:

    now = timezone.now()
    roster = None
    cases, sources, items, credits = [], [], [], []
    for section in ctx.sections:
        champions = ctx.members(Role.CHAMPION, section=section)
        if not champions:
            continue
        candidates = list(
            Submission.objects.filter(section=section, conference_candidate=True)
            .exclude(reason="other")
            .order_by("-created_at")[: CASES_PER_SECTION * 3]
        )
        rng.shuffle(candidates)
        for template in rng.sample(TEACHING_CASES, CASES_PER_SECTION):
            source = candidates.pop() if candidates else None
            kind = template.get("kind", TeachingCase.QuestionKind.CHOICE)
            case = TeachingCase(
                section=section,
                title=template["title"],
                modality=template["modality"],
                body_part=template["body_part"],
                history=template["history"],
                question_kind=kind,
                question=template["question"],
                options=template.get("options", []),
                correct_option=0 if kind == TeachingCase.QuestionKind.CHOICE else None,
                answer=template["answer"],
                teaching_points=template["teaching_points"],
                tags=template["tags"],
                reason=source.reason if source else "interesting",
                created_by=champions[0],
                created_at=now,
                updated_at=now,
            )
            if roster is None:
                roster = roster_names()
            keys = CaseKeys.build(
                case_key=str(case.uuid),
                accession_numbers=[source.accession_number] if source else [],
                roster=roster,
            )
            case.check_findings = verify_texts(case.text_parts(), keys)
            case.check_passed = not case.check_findings
            case.checked_at = now
            cases.append((case, source))
    TeachingCase.objects.bulk_create([c for c, _ in cases], batch_size=BATCH_SIZE)
    Source = TeachingCase.sources.through
    sources = [Source(teachingcase_id=c.pk, submission_id=s.pk) for c, s in cases if s is not None]
    Source.objects.bulk_create(sources, batch_size=BATCH_SIZE)
    credits = [
        CreditConsent(
            case=c,
            person_id=s.submitter_id,
            credited_as=CreditConsent.As.SUBMITTER,
            answer=rng.choice(["asked", "yes", "yes", "no"]),
        )
        for c, s in cases
        if s is not None and c.creditable
    ]
    CreditConsent.objects.bulk_create(credits, batch_size=BATCH_SIZE)

    by_section: dict[int, list] = {}
    for case, _ in cases:
        if case.check_passed:
            by_section.setdefault(case.section_id, []).append(case)
    for section_id, section_cases in by_section.items():
        held = (
            Conference.objects.filter(
                section_id=section_id, status=Conference.Status.HELD, starts_at__lt=now
            )
            .order_by("-starts_at")
            .first()
        )
        upcoming = (
            Conference.objects.filter(
                section_id=section_id, status=Conference.Status.SCHEDULED, starts_at__gte=now
            )
            .order_by("starts_at")
            .first()
        )
        for conference, chosen in ((held, section_cases[:2]), (upcoming, section_cases)):
            if conference is None:
                continue
            items += [
                AgendaItem(
                    conference=conference,
                    teaching_case=case,
                    position=position,
                    minutes=rng.choice([10, 10, 15]),
                    added_by=case.created_by,
                )
                for position, case in enumerate(chosen, start=1)
            ]
    AgendaItem.objects.bulk_create(items, batch_size=BATCH_SIZE)
    return {
        TeachingCase._meta.label: len(cases),
        Source._meta.label: len(sources),
        CreditConsent._meta.label: len(credits),
        AgendaItem._meta.label: len(items),
    }

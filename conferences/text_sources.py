"""The conference app's texts at the anonymizer's gate: what a champion reviews, and how.

Teaching cases are held back from agendas while a flag is open (`case_check_run`); the
texts of conferences and improvement actions are shown, printed and sent only through
`conferences.gated`, which keeps each open flag replaced by its marker.
"""

from __future__ import annotations

import uuid

from django.http import Http404
from django.urls import reverse

from anonymizer.gate import GateContext, TextSource, roster_context, text_source_register
from conferences.cases.models import TeachingCase
from conferences.meetings.models import Conference, ImprovementAction
from conferences.meetings.selectors import sections_with_role
from peerlearning.models import Role, User

CONFERENCE_TEXTS = (
    ("title", "Title"),
    ("location", "Place"),
    ("learning_points", "Learning points"),
)
ACTION_TEXTS = (
    ("title", "Title"),
    ("description", "Description"),
    ("origin_text", "Where it came from"),
    ("outcome", "Outcome"),
)


# Teaching cases -------------------------------------------------------------------------


def _case_for_review(user: User, pk: str) -> TeachingCase:
    from conferences.cases.selectors import teaching_case_get_for_champion

    try:
        case_uuid = uuid.UUID(pk)
    except ValueError:
        raise Http404("No such teaching case.") from None
    return teaching_case_get_for_champion(user=user, case_uuid=case_uuid)


def case_context(case: TeachingCase) -> GateContext:
    from conferences.cases.services import case_keys

    keys = case_keys(case)
    # The case's dates were shifted when its text came in: the detector shows them.
    return GateContext(known=keys.known, roster=keys.roster, dates=False)


def _case_texts(case: TeachingCase) -> list[tuple[str, str, str]]:
    from conferences.cases.services import case_text_parts

    return [(part, label, text) for part, label, text in case_text_parts(case) if part != "tags"]


def _case_recheck(case: TeachingCase) -> None:
    from conferences.cases.services import case_check_run

    case_check_run(case=case)


def _case_save(*, obj: TeachingCase, field: str, text: str, actor: User) -> None:
    from conferences.cases.services import TEXT_FIELDS, teaching_case_update

    if field in TEXT_FIELDS:
        teaching_case_update(case=obj, actor=actor, **{field: text})
    elif field.startswith("option:"):
        options = list(obj.options)
        options[int(field.split(":", 1)[1])] = text
        teaching_case_update(case=obj, actor=actor, options=options)
    elif field.startswith("key:"):
        from conferences.cases.images import key_image_update

        key = obj.key_images.get(pk=int(field.split(":", 1)[1]))
        key_image_update(key=key, actor=actor, caption=text)


# Conferences and improvement actions ------------------------------------------------------


def _conference_for_review(user: User, pk: str) -> Conference:
    try:
        return Conference.objects.select_related("section").get(
            pk=int(pk), section_id__in=sections_with_role(user, Role.CHAMPION)
        )
    except (Conference.DoesNotExist, ValueError):
        raise Http404("No such conference.") from None


def _conference_save(*, obj: Conference, field: str, text: str, actor: User) -> None:
    from conferences.meetings.services import conference_update

    conference_update(conference=obj, actor=actor, **{field: text})


def _action_for_review(user: User, pk: str) -> ImprovementAction:
    try:
        return ImprovementAction.objects.select_related("section").get(
            pk=int(pk), section_id__in=sections_with_role(user, Role.CHAMPION)
        )
    except (ImprovementAction.DoesNotExist, ValueError):
        raise Http404("No such improvement action.") from None


def _action_save(*, obj: ImprovementAction, field: str, text: str, actor: User) -> None:
    from conferences.meetings.services import improvement_action_update

    improvement_action_update(action=obj, actor=actor, **{field: text})


def register() -> None:
    text_source_register(
        TextSource(
            label="conferences.teachingcase",
            get_for_review=_case_for_review,
            texts=_case_texts,
            save=_case_save,
            back_url=lambda case: reverse("conferences:case-detail", args=[case.uuid]),
            title=lambda case: f"teaching case “{case.title}”",
            context=case_context,
            released=_case_recheck,
        )
    )
    text_source_register(
        TextSource(
            label="conferences.conference",
            get_for_review=_conference_for_review,
            texts=lambda c: [(name, label, getattr(c, name)) for name, label in CONFERENCE_TEXTS],
            save=_conference_save,
            back_url=lambda c: reverse("conferences:detail", args=[c.pk]),
            title=lambda c: f"the conference of {c.starts_at:%d %b %Y}",
            context=lambda c: roster_context(),
        )
    )
    text_source_register(
        TextSource(
            label="conferences.improvementaction",
            get_for_review=_action_for_review,
            texts=lambda a: [(name, label, getattr(a, name)) for name, label in ACTION_TEXTS],
            save=_action_save,
            back_url=lambda a: reverse("conferences:action-detail", args=[a.pk]),
            title=lambda a: f"improvement action {a.pk}",
            context=lambda a: roster_context(),
        )
    )

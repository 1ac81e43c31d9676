"""Improvement actions: created and edited by champions, updated by the quality team.

Every change is kept (`ImprovementActionChange`: who, when, each field's old and new
value), because the ACR report asks what came of each action and when.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from conferences.models import Conference, ImprovementAction, ImprovementActionChange
from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue
from peerlearning.models import AuditEvent, Membership, Role, Section, User

CHAMPION_FIELDS = (
    "title",
    "description",
    "category",
    "conference",
    "origin_text",
    "owner",
    "due_on",
    "status",
    "escalated",
    "outcome",
)
# The quality team reports progress and the outcome; the rest stays the program's.
QUALITY_FIELDS = ("status", "outcome")
CLOSED = (ImprovementAction.Status.DONE, ImprovementAction.Status.ABANDONED)


def _shown(action: ImprovementAction, name: str) -> str:
    """A field's value as people read it, kept in the history as it was at the time."""
    value = getattr(action, name)
    if value is None or value == "":
        return ""
    display = getattr(action, f"get_{name}_display", None)
    if display is not None:
        return str(display())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _escalation_notify(action: ImprovementAction) -> None:
    quality_ids = (
        Membership.objects.current()
        .filter(section=action.section, role=Role.QUALITY)
        .values_list("user_id", flat=True)
    )
    for person in User.objects.filter(pk__in=quality_ids, is_active=True):
        email_enqueue(
            key=f"action:{action.pk}:escalated:{person.pk}",
            to=person.email,
            subject=f"Improvement action escalated to the quality team ({action.section})",
            template="conference_action_escalated",
            context={"action": action, "recipient": person},
        )


def _after_change(action: ImprovementAction, before_status: str, before_escalated: bool) -> None:
    now = timezone.now()
    if action.status in CLOSED and before_status not in CLOSED:
        action.closed_on = timezone.localdate(now)
    elif action.status not in CLOSED:
        action.closed_on = None
    if action.escalated and not before_escalated:
        action.escalated_at = now


@transaction.atomic
def improvement_action_create(
    *,
    section: Section,
    actor: User,
    title: str,
    category: str,
    description: str = "",
    conference: Conference | None = None,
    origin_text: str = "",
    owner: User | None = None,
    due_on: datetime.date | None = None,
    status: str = ImprovementAction.Status.PROPOSED,
    escalated: bool = False,
    outcome: str = "",
) -> ImprovementAction:
    """Record a new improvement action for a section."""
    if conference is not None and conference.section_id != section.pk:
        raise ValueError("The conference belongs to another section.")
    action = ImprovementAction(
        section=section,
        title=title,
        category=category,
        description=description,
        conference=conference,
        origin_text=origin_text,
        owner=owner,
        due_on=due_on,
        status=status,
        escalated=escalated,
        outcome=outcome,
        created_by=actor,
    )
    _after_change(action, ImprovementAction.Status.PROPOSED, False)
    action.save()
    ImprovementActionChange.objects.create(
        action=action,
        changed_by=actor,
        created=True,
        changes={
            name: ["", _shown(action, name)] for name in CHAMPION_FIELDS if _shown(action, name)
        },
    )
    audit_record(action=AuditEvent.Action.CREATE, actor=actor, obj=action)
    if action.escalated:
        _escalation_notify(action)
    return action


@transaction.atomic
def improvement_action_update(
    *, action: ImprovementAction, actor: User, allowed: tuple[str, ...] = CHAMPION_FIELDS, **values
) -> ImprovementAction:
    """Change an action; every changed field goes into its history with the old value."""
    refused = set(values) - set(allowed)
    if refused:
        raise PermissionError(f"Not yours to change: {', '.join(sorted(refused))}")
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    if (
        values.get("conference") is not None
        and values["conference"].section_id != action.section_id
    ):
        raise ValueError("The conference belongs to another section.")
    before = {name: _shown(action, name) for name in CHAMPION_FIELDS}
    before_status, before_escalated = action.status, action.escalated
    for name, value in values.items():
        setattr(action, name, value)
    changes = {
        name: [before[name], _shown(action, name)]
        for name in CHAMPION_FIELDS
        if _shown(action, name) != before[name]
    }
    if not changes:
        return action
    _after_change(action, before_status, before_escalated)
    action.updated_at = timezone.now()
    action.save()
    ImprovementActionChange.objects.create(action=action, changed_by=actor, changes=changes)
    audit_record(
        action=AuditEvent.Action.UPDATE, actor=actor, obj=action, detail={"fields": sorted(changes)}
    )
    if action.escalated and not before_escalated:
        _escalation_notify(action)
    return action

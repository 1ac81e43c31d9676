"""Writes of meetings: scheduling conferences, the invitations, updates and reminders their
members get, and the improvement actions that come out of them."""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from conferences.gated import conference_text
from conferences.meetings.ics import conference_ics
from conferences.meetings.models import (
    Conference,
    ImprovementAction,
    ImprovementActionChange,
    new_check_in_code,
)
from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_enqueue
from peerlearning.models import AuditEvent, Membership, OutboundEmail, Role, Section, User

# A change to any of these moves the event in people's calendars: they get an update.
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "location", "virtual_url")
EDITABLE_FIELDS = (
    *CALENDAR_FIELDS,
    "recording_url",
    "cme_hours",
    "status",
    "learning_points",
)
REMINDER_WINDOW = (datetime.timedelta(hours=20), datetime.timedelta(hours=28))


def section_invitees(section: Section, extra: Iterable[User] = ()) -> list[User]:
    """Everyone with a current role in the section (each once), plus the presenters."""
    member_ids = (
        Membership.objects.current().filter(section=section).values_list("user_id", flat=True)
    )
    people = {
        user.pk: user
        for user in User.objects.filter(Q(pk__in=member_ids) | Q(pk__in=[u.pk for u in extra]))
        .filter(is_active=True)
        .only("id", "email", "first_name", "last_name")
    }
    return sorted(people.values(), key=lambda u: u.email)


def _ics_store(
    *, conference: Conference, texts: dict[str, str], user: User, method: str, stamp
) -> str:
    """Write one invitee's calendar file to the default storage; return its path."""
    name = f"conferences/ics/{conference.pk}/{conference.sequence}-{method.lower()}-{user.pk}.ics"
    text = conference_ics(
        conference=conference,
        title=texts["title"],
        location=texts["location"],
        attendee_email=user.email,
        attendee_name=user.get_full_name(),
        method=method,
        stamp=stamp,
    )
    if default_storage.exists(name):
        default_storage.delete(name)  # a retried transaction writes the same file again
    return default_storage.save(name, ContentFile(text.encode("utf-8")))


def _notify(
    *,
    conference: Conference,
    people: list[User],
    purpose: str,
    subject: str,
    template: str,
    method: str | None,
) -> int:
    """Owe each person one e-mail for this purpose, with their .ics when `method` is set."""
    keys = {user.pk: f"conference:{conference.pk}:{purpose}:{user.pk}" for user in people}
    already = set(OutboundEmail.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    stamp = timezone.now()
    created = 0
    texts = {name: conference_text(conference, name) for name in ("title", "location")}
    for user in people:
        if keys[user.pk] in already:
            continue
        attachments = []
        if method:
            path = _ics_store(
                conference=conference, texts=texts, user=user, method=method, stamp=stamp
            )
            attachments = [
                {"filename": "conference.ics", "path": path, "mimetype": "text/calendar"}
            ]
        _, was_created = email_enqueue(
            key=keys[user.pk],
            to=user.email,
            subject=subject,
            template=template,
            context={"conference": conference, "recipient": user},
            attachments=attachments,
        )
        created += was_created
    return created


def _subject(what: str, conference: Conference) -> str:
    """ "Tomorrow: <title>, <when>", the title as it may leave the champion's hands."""
    return f"{what}: {conference_text(conference, 'title')}, {_subject_when(conference)}"


def _subject_when(conference: Conference) -> str:
    return timezone.localtime(conference.starts_at).strftime("%a %d %b %Y, %H:%M")


def invitations_send(*, conference: Conference) -> int:
    return _notify(
        conference=conference,
        people=section_invitees(conference.section, conference.presenters.all()),
        purpose="invitation",
        subject=_subject("Conference invitation", conference),
        template="conference_invitation",
        method="REQUEST",
    )


def _check_times(starts_at: datetime.datetime, ends_at: datetime.datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The conference must end after it starts."})
    if ends_at - starts_at > datetime.timedelta(hours=12):
        raise ValidationError({"ends_at": "A conference lasts at most 12 hours."})


@transaction.atomic
def conference_create(
    *,
    section: Section,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    actor: User | None,
    location: str = "",
    virtual_url: str = "",
    recording_url: str = "",
    cme_hours: Decimal = Decimal("0"),
    presenters: Iterable[User] = (),
    learning_points: str = "",
) -> Conference:
    """Schedule a conference; members get an invitation with a calendar file if it is ahead."""
    _check_times(starts_at, ends_at)
    if not location and not virtual_url:
        raise ValidationError("Give a place, a virtual meeting link, or both.")
    conference = None
    for _ in range(5):
        try:
            with transaction.atomic():
                conference = Conference.objects.create(
                    section=section,
                    title=title,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    location=location,
                    virtual_url=virtual_url,
                    recording_url=recording_url,
                    cme_hours=cme_hours,
                    learning_points=learning_points,
                    check_in_code=new_check_in_code(),
                    created_by=actor,
                )
            break
        except IntegrityError:
            continue  # the one-in-millions clash of check-in codes: draw again
    if conference is None:
        raise RuntimeError("Could not draw a free check-in code.")
    conference.presenters.set(presenters)
    audit_record(action=AuditEvent.Action.CREATE, actor=actor, obj=conference)
    if conference.starts_at > timezone.now():
        invitations_send(conference=conference)
    return conference


@transaction.atomic
def conference_update(
    *,
    conference: Conference,
    actor: User | None,
    presenters: Iterable[User] | None = None,
    **values,
) -> Conference:
    """Change a conference; a new time or place is sent as an update, a cancellation as one."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    conference = Conference.objects.select_for_update().get(pk=conference.pk)
    before = {name: getattr(conference, name) for name in EDITABLE_FIELDS}
    for name, value in values.items():
        setattr(conference, name, value)
    _check_times(conference.starts_at, conference.ends_at)
    if not conference.location and not conference.virtual_url:
        raise ValidationError("Give a place, a virtual meeting link, or both.")
    changed = [name for name in EDITABLE_FIELDS if getattr(conference, name) != before[name]]
    presenters_changed = False
    if presenters is not None:
        new_ids = {u.pk for u in presenters}
        presenters_changed = new_ids != set(conference.presenters.values_list("pk", flat=True))
    if not changed and not presenters_changed:
        return conference

    upcoming = conference.starts_at > timezone.now()
    cancelled_now = (
        "status" in changed
        and conference.status == Conference.Status.CANCELLED
        and before["status"] != Conference.Status.CANCELLED
    )
    moved = any(name in changed for name in CALENDAR_FIELDS)
    if (moved or cancelled_now) and upcoming:
        conference.sequence += 1
    conference.updated_at = timezone.now()
    conference.save()
    if presenters_changed:
        conference.presenters.set(presenters)
    audit_record(
        action=AuditEvent.Action.UPDATE,
        actor=actor,
        obj=conference,
        detail={"fields": sorted(changed + (["presenters"] if presenters_changed else []))},
    )

    if not upcoming:
        return conference
    people = section_invitees(conference.section, conference.presenters.all())
    if cancelled_now:
        _notify(
            conference=conference,
            people=people,
            purpose="cancel",
            subject=_subject("Cancelled", conference),
            template="conference_cancelled",
            method="CANCEL",
        )
    elif moved and conference.status == Conference.Status.SCHEDULED:
        _notify(
            conference=conference,
            people=people,
            purpose=f"update:{conference.sequence}",
            subject=_subject("Conference changed", conference),
            template="conference_update",
            method="REQUEST",
        )
    return conference


def conference_reminders_enqueue(*, now: datetime.datetime | None = None) -> int:
    """The day-before reminder: one per member for conferences starting in 20 to 28 hours.

    Run hourly; the window is wider than an hour so a missed run is caught by the next,
    and the outbox key (which includes the start time) makes every later run a no-op.
    """
    now = now or timezone.now()
    conferences = Conference.objects.filter(
        status=Conference.Status.SCHEDULED,
        starts_at__gte=now + REMINDER_WINDOW[0],
        starts_at__lte=now + REMINDER_WINDOW[1],
    ).select_related("section")
    created = 0
    for conference in conferences:
        with transaction.atomic():
            created += _notify(
                conference=conference,
                people=section_invitees(conference.section, conference.presenters.all()),
                purpose=f"reminder:{conference.starts_at:%Y%m%d%H%M}",
                subject=_subject("Tomorrow", conference),
                template="conference_reminder",
                method=None,
            )
    return created


# Improvement actions ---------------------------------------------------------------------
# Created and edited by champions, updated by the quality team. Every change is kept
# (`ImprovementActionChange`: who, when, each field's old and new value), because the ACR
# report asks what came of each action and when.

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

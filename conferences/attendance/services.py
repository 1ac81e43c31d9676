"""Attendance by roster, self check-in and recording attestation; the credit rule."""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from conferences.attendance.models import Attendance
from conferences.meetings.models import (
    CHECK_IN_ALPHABET,
    CHECK_IN_LENGTH,
    CHECK_IN_OPENS_BEFORE,
    Conference,
    ConferenceSettings,
)
from conferences.roles import RECORDING_ATTESTERS
from peerlearning.lib.audit import audit_record
from peerlearning.models import AuditEvent, Membership, Role, Section, User

CHECK_IN_FAILURES_ALLOWED = 10
CHECK_IN_LOCKOUT = datetime.timedelta(minutes=10)


class AttendanceRefused(Exception):
    """The person cannot be recorded; the message says why, in words for them."""


def conference_settings_for(section: Section) -> ConferenceSettings:
    """The section's rules; the defaults (unsaved) until a champion changes them."""
    return ConferenceSettings.objects.filter(section=section).first() or ConferenceSettings(
        section=section
    )


def credit_for(conference: Conference, minutes: int, rule: ConferenceSettings) -> bool:
    return minutes >= rule.credit_threshold(conference.duration_minutes)


def attendee_kinds(*, section: Section, user_ids) -> dict[int, str]:
    """Attending, trainee or guest, from the roles each person holds today.

    A radiologist of the section is an attending even if also a trainee elsewhere; someone
    from another section counts by their role there; anyone with no clinical role is a guest.
    """
    roles_here: dict[int, set[str]] = {}
    roles_anywhere: dict[int, set[str]] = {}
    for user_id, section_id, role in (
        Membership.objects.current()
        .filter(user_id__in=list(user_ids))
        .values_list("user_id", "section_id", "role")
    ):
        roles_anywhere.setdefault(user_id, set()).add(role)
        if section_id == section.pk:
            roles_here.setdefault(user_id, set()).add(role)

    def kind(user_id: int) -> str:
        for roles in (roles_here.get(user_id, set()), roles_anywhere.get(user_id, set())):
            if Role.RADIOLOGIST in roles:
                return Attendance.Kind.ATTENDING
            if Role.TRAINEE in roles:
                return Attendance.Kind.TRAINEE
        if roles_anywhere.get(user_id, set()) & {Role.CHAMPION, Role.LEADER}:
            return Attendance.Kind.ATTENDING
        return Attendance.Kind.GUEST

    return {user_id: kind(user_id) for user_id in user_ids}


@transaction.atomic
def attendance_mark(
    *, conference: Conference, user: User, present: bool, minutes: int | None, actor: User
) -> Attendance | None:
    """Tick (or untick) a person on the roster; minutes default to the whole conference."""
    existing = Attendance.objects.select_for_update().filter(conference=conference, user=user)
    if not present:
        existing.delete()
        return None
    rule = conference_settings_for(conference.section)
    attendance = existing.first()
    if attendance is None:
        minutes = conference.duration_minutes if minutes is None else minutes
        return Attendance.objects.create(
            conference=conference,
            user=user,
            kind=attendee_kinds(section=conference.section, user_ids=[user.pk])[user.pk],
            minutes_present=minutes,
            credited=credit_for(conference, minutes, rule),
            recorded_via=Attendance.Via.ROSTER,
            recorded_by=actor,
        )
    if minutes is not None and minutes != attendance.minutes_present:
        # The assistant's number overrides whatever recorded it before.
        attendance.minutes_present = minutes
        attendance.credited = credit_for(conference, minutes, rule)
        attendance.recorded_via = Attendance.Via.ROSTER
        attendance.recorded_by = actor
        attendance.recorded_at = timezone.now()
        attendance.save(
            update_fields=[
                "minutes_present",
                "credited",
                "recorded_via",
                "recorded_by",
                "recorded_at",
            ]
        )
    return attendance


def normalize_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


@dataclass
class CheckInResult:
    attendance: Attendance
    created: bool


def _check_in_failures_key(user: User) -> str:
    return f"conferences:check-in-failures:{user.pk}"


@transaction.atomic
def check_in(*, code: str, user: User, at: datetime.datetime | None = None) -> CheckInResult:
    """Record a person present with a conference's code, from 15 minutes before until the end."""
    at = at or timezone.now()
    failures_key = _check_in_failures_key(user)
    if cache.get(failures_key, 0) >= CHECK_IN_FAILURES_ALLOWED:
        raise AttendanceRefused(
            "Too many wrong codes. Wait ten minutes, or ask the organiser to tick your name."
        )
    code = normalize_code(code)
    conference = None
    if len(code) == CHECK_IN_LENGTH and set(code) <= set(CHECK_IN_ALPHABET):
        conference = Conference.objects.select_related("section").filter(check_in_code=code).first()
    if conference is None:
        cache.set(failures_key, cache.get(failures_key, 0) + 1, CHECK_IN_LOCKOUT.total_seconds())
        raise AttendanceRefused(
            f"No conference has the code {code or '(empty)'}. Codes have six letters and digits; "
            "check the code on the screen."
        )
    local = timezone.localtime
    if conference.status == Conference.Status.CANCELLED:
        raise AttendanceRefused(f"{conference.title} was cancelled.")
    if at < conference.starts_at - CHECK_IN_OPENS_BEFORE:
        opens = local(conference.starts_at - CHECK_IN_OPENS_BEFORE)
        raise AttendanceRefused(
            f"Check-in for {conference.title} opens at {date_format(opens, 'TIME_FORMAT')} "
            f"on {date_format(opens, 'DATE_FORMAT')}, 15 minutes before it starts."
        )
    if at > conference.ends_at:
        raise AttendanceRefused(
            f"{conference.title} ended at {date_format(local(conference.ends_at), 'TIME_FORMAT')}; "
            "check-in is closed. Ask the organiser to record your attendance."
        )
    # Present from now (or the start) until the end: a late arrival gets the minutes left.
    minutes = round((conference.ends_at - max(at, conference.starts_at)).total_seconds() / 60)
    rule = conference_settings_for(conference.section)
    attendance = (
        Attendance.objects.select_for_update().filter(conference=conference, user=user).first()
    )
    if attendance is not None:
        if minutes > attendance.minutes_present:
            attendance.minutes_present = minutes
            attendance.credited = credit_for(conference, minutes, rule)
            attendance.recorded_via = Attendance.Via.SELF_CHECK_IN
            attendance.recorded_at = at
            attendance.save(
                update_fields=["minutes_present", "credited", "recorded_via", "recorded_at"]
            )
        return CheckInResult(attendance, created=False)
    attendance = Attendance.objects.create(
        conference=conference,
        user=user,
        kind=attendee_kinds(section=conference.section, user_ids=[user.pk])[user.pk],
        minutes_present=minutes,
        credited=credit_for(conference, minutes, rule),
        recorded_via=Attendance.Via.SELF_CHECK_IN,
        recorded_by=user,
        recorded_at=at,
    )
    return CheckInResult(attendance, created=True)


def recording_deadline(conference: Conference, rule: ConferenceSettings) -> datetime.datetime:
    return conference.ends_at + datetime.timedelta(days=rule.recording_window_days)


def recording_attestation_refusal(
    *, conference: Conference, user: User, at: datetime.datetime | None = None
) -> str | None:
    """Why this person may not attest to watching the recording now, or None if they may."""
    at = at or timezone.now()
    rule = conference_settings_for(conference.section)
    if not rule.recording_credit_allowed:
        return f"{conference.section} does not give credit for watching recordings."
    if conference.status == Conference.Status.CANCELLED:
        return "The conference was cancelled."
    if at < conference.ends_at:
        return "The conference has not ended yet."
    deadline = recording_deadline(conference, rule)
    if at > deadline:
        return (
            "Recordings may be attested within "
            f"{rule.recording_window_days} days; this one closed on "
            f"{date_format(timezone.localtime(deadline), 'DATE_FORMAT')}."
        )
    if not (
        Membership.objects.current()
        .filter(user=user, section=conference.section, role__in=RECORDING_ATTESTERS)
        .exists()
    ):
        return "Only the section's radiologists and trainees can attest to a recording."
    if Attendance.objects.filter(conference=conference, user=user, credited=True).exists():
        return "Your attendance at this conference is already credited."
    return None


@transaction.atomic
def recording_attest(
    *, conference: Conference, user: User, at: datetime.datetime | None = None
) -> Attendance:
    """A radiologist who missed the meeting attests to having watched the recording."""
    at = at or timezone.now()
    refusal = recording_attestation_refusal(conference=conference, user=user, at=at)
    if refusal:
        raise AttendanceRefused(refusal)
    attendance = (
        Attendance.objects.select_for_update().filter(conference=conference, user=user).first()
    )
    if attendance is None:
        # Minutes present stay 0: they were not at the meeting; the credit is the recording's.
        return Attendance.objects.create(
            conference=conference,
            user=user,
            kind=attendee_kinds(section=conference.section, user_ids=[user.pk])[user.pk],
            minutes_present=0,
            credited=True,
            recorded_via=Attendance.Via.RECORDING,
            recorded_by=user,
            recorded_at=at,
        )
    attendance.credited = True
    attendance.recorded_via = Attendance.Via.RECORDING
    attendance.recorded_by = user
    attendance.recorded_at = at
    attendance.save(update_fields=["credited", "recorded_via", "recorded_by", "recorded_at"])
    return attendance


@transaction.atomic
def conference_settings_update(*, section: Section, actor: User, **values) -> ConferenceSettings:
    """Change a section's credit rules. Attendance already recorded keeps its credit."""
    rule = ConferenceSettings.objects.get_or_create(section=section)[0]
    for name, value in values.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    audit_record(
        action=AuditEvent.Action.UPDATE, actor=actor, obj=rule, detail={"fields": sorted(values)}
    )
    return rule

"""Writes: conferences and their e-mails, attendance, imports, improvement actions."""

from conferences.services.actions import (
    improvement_action_create,
    improvement_action_update,
)
from conferences.services.attendance import (
    AttendanceRefused,
    attendance_mark,
    attendee_kinds,
    check_in,
    conference_settings_for,
    conference_settings_update,
    recording_attest,
    recording_attestation_refusal,
)
from conferences.services.conferences import (
    conference_create,
    conference_reminders_enqueue,
    conference_update,
    invitations_send,
)
from conferences.services.imports import (
    ImportOutcome,
    ImportRefused,
    attendance_import,
    import_row_resolve,
)

__all__ = [
    "AttendanceRefused",
    "ImportOutcome",
    "ImportRefused",
    "attendance_import",
    "attendance_mark",
    "attendee_kinds",
    "check_in",
    "conference_create",
    "conference_reminders_enqueue",
    "conference_settings_for",
    "conference_settings_update",
    "conference_update",
    "import_row_resolve",
    "improvement_action_create",
    "improvement_action_update",
    "invitations_send",
    "recording_attest",
    "recording_attestation_refusal",
]

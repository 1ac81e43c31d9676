"""Writes on submissions: submit, send feedback, respond, record actions, triage, close.

Every service is keyword-only, takes the acting person, runs in one transaction, keeps the
submission's history (`SubmissionEvent`) and owes its e-mails through the outbox in that
same transaction. E-mails never name the submitter and carry no accession number unless
the section allows it.
"""

from submissions.services.actions import (
    action_complete,
    actions_change,
    actions_escalate_overdue,
)
from submissions.services.feedback import (
    feedback_edit,
    feedback_release,
    feedback_respond,
    outside_reader_get_or_invite,
    reader_assign,
    reply_post,
)
from submissions.services.submitting import ActionRequest, submission_create
from submissions.services.triage import (
    TRIAGE_FIELDS,
    note_add,
    section_settings_update,
    submission_close,
    submission_reopen,
    submission_route_to_quality,
    submission_triage,
)

__all__ = [
    "TRIAGE_FIELDS",
    "ActionRequest",
    "action_complete",
    "actions_change",
    "actions_escalate_overdue",
    "feedback_edit",
    "feedback_release",
    "feedback_respond",
    "note_add",
    "outside_reader_get_or_invite",
    "reader_assign",
    "reply_post",
    "section_settings_update",
    "submission_close",
    "submission_create",
    "submission_reopen",
    "submission_route_to_quality",
    "submission_triage",
]

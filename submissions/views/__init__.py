"""Pages: submit, my submissions, feedback for me, the champion's queue, leader figures.

Views check access (decorators), validate with a form, call one service or selector and
render. Which objects a person may see is decided in `selectors.py`: anything else is 404.
"""

from submissions.views.champions import (
    queue,
    review,
    review_action_done,
    review_actions,
    review_close,
    review_feedback,
    review_note,
    review_reader,
    review_route,
    review_triage,
    section_settings,
)
from submissions.views.feedback import (
    feedback_action_done,
    feedback_detail,
    feedback_download,
    feedback_inbox,
    feedback_reply,
    feedback_respond,
)
from submissions.views.leaders import summary
from submissions.views.submitting import (
    PREFILL_SESSION_KEY,
    mine,
    mine_detail,
    mine_reply,
    reader_search,
    submit,
    submit_validate,
)
from submissions.views.suggestions import suggestion_dismiss_view, suggestion_submit, suggestions

__all__ = [
    "PREFILL_SESSION_KEY",
    "feedback_action_done",
    "feedback_detail",
    "feedback_download",
    "feedback_inbox",
    "feedback_reply",
    "feedback_respond",
    "mine",
    "mine_detail",
    "mine_reply",
    "queue",
    "reader_search",
    "review",
    "review_action_done",
    "review_actions",
    "review_close",
    "review_feedback",
    "review_note",
    "review_reader",
    "review_route",
    "review_triage",
    "section_settings",
    "submit",
    "submit_validate",
    "suggestion_dismiss_view",
    "suggestion_submit",
    "suggestions",
    "summary",
]

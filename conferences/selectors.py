"""What other apps read of conferences (reporting's targets and annual report).

Other apps import these names from here, so the app's packages can change inside without
touching them; visibility is enforced by whoever calls them with a section they may read.
"""

from conferences.attendance.selectors import AttendanceForTargets as AttendanceForTargets
from conferences.attendance.selectors import attendance_for_targets as attendance_for_targets
from conferences.gated import action_text as action_text
from conferences.gated import conference_text as conference_text
from conferences.gated import program_context as program_context
from conferences.meetings.selectors import (
    improvement_actions_for_report as improvement_actions_for_report,
)

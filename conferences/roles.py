"""Who does what in conferences: the role sets that pages, selectors and services share."""

from peerlearning.models import Role

# Run a section's conferences: schedule and edit, the roster, report imports, the check-in code.
MANAGERS = (Role.CHAMPION, Role.ADMIN_ASSISTANT)
# See who attended a conference (the API's attendance list).
ATTENDANCE_READERS = (*MANAGERS, Role.LEADER)
# The people attendance is taken for: on the roster, expected at the section's conferences.
ROSTER_ROLES = (Role.RADIOLOGIST, Role.TRAINEE, Role.CHAMPION, Role.LEADER)
# May attest to having watched a recording (the roles attendance credit is counted for).
RECORDING_ATTESTERS = (Role.RADIOLOGIST, Role.TRAINEE)
# Read improvement actions (the quality team only those escalated to it).
ACTION_READERS = (Role.CHAMPION, Role.LEADER, Role.QUALITY)
# Change improvement actions: champions every field, the quality team status and outcome.
ACTION_EDITORS = (Role.CHAMPION, Role.QUALITY)

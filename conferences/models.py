"""Every model of the app, for Django and for other apps (`from conferences.models import …`).

The models live with their product: meetings, attendance, teaching cases. Modules inside
the app import them from there, never from here, so this module imports nothing back.
"""

from conferences.attendance.models import Attendance as Attendance
from conferences.attendance.models import AttendanceImport as AttendanceImport
from conferences.attendance.models import AttendanceImportRow as AttendanceImportRow
from conferences.attendance.models import AttendeeAlias as AttendeeAlias
from conferences.cases.models import AgendaItem as AgendaItem
from conferences.cases.models import CaseImage as CaseImage
from conferences.cases.models import CaseUpload as CaseUpload
from conferences.cases.models import CreditConsent as CreditConsent
from conferences.cases.models import KeyImage as KeyImage
from conferences.cases.models import TeachingCase as TeachingCase
from conferences.cases.models import TeachingCaseIdentity as TeachingCaseIdentity
from conferences.cases.models import VoteCount as VoteCount
from conferences.cases.models import VoteReceipt as VoteReceipt
from conferences.meetings.models import Conference as Conference
from conferences.meetings.models import ConferenceSettings as ConferenceSettings
from conferences.meetings.models import ImprovementAction as ImprovementAction
from conferences.meetings.models import ImprovementActionChange as ImprovementActionChange

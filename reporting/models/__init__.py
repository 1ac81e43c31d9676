"""The reporting app's models, one module per product (targets, OPPE data, reports).

Django and other apps import them from here; the tables keep their `reporting_` names.
"""

from reporting.oppe.models import COMPETENCY_DESCRIPTIONS as COMPETENCY_DESCRIPTIONS
from reporting.oppe.models import PLAN_REQUIRED_BELOW as PLAN_REQUIRED_BELOW
from reporting.oppe.models import Competency as Competency
from reporting.oppe.models import Credential as Credential
from reporting.oppe.models import EvaluationCycle as EvaluationCycle
from reporting.oppe.models import FppeEvent as FppeEvent
from reporting.oppe.models import OppePolicy as OppePolicy
from reporting.oppe.models import OppeReferral as OppeReferral
from reporting.oppe.models import PeerEvaluation as PeerEvaluation
from reporting.oppe.models import Rating as Rating
from reporting.oppe.models import TatImport as TatImport
from reporting.oppe.models import TurnaroundTime as TurnaroundTime
from reporting.reports.models import GeneratedReport as GeneratedReport
from reporting.targets.models import ReminderRun as ReminderRun
from reporting.targets.models import ReminderSettings as ReminderSettings
from reporting.targets.models import TargetExemption as TargetExemption
from reporting.targets.models import TargetPolicy as TargetPolicy

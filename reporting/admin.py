"""The admin of each product registers itself when imported (Django's autodiscovery)."""

from reporting.oppe import admin as oppe_admin  # noqa: F401
from reporting.reports import admin as reports_admin  # noqa: F401
from reporting.targets import admin as targets_admin  # noqa: F401

from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self):
        self._program_figures_follow_changes()

        from peerlearning.access import roles_access
        from peerlearning.models import Role
        from peerlearning.navigation import NavLink, register

        # OPPE data sources
        register(
            NavLink("OPPE", "reporting:oppe-home", roles_access(Role.LEADER, site_admins=True))
        )
        register(NavLink("My OPPE", "reporting:oppe-mine", roles_access(Role.RADIOLOGIST)))
        register(
            NavLink("Evaluations", "reporting:evaluations-todo", roles_access(Role.RADIOLOGIST))
        )

        # Reports for leaders: the dashboard is their home panel's first link
        register(
            NavLink("Reports", "reporting:reports", roles_access(Role.LEADER, site_admins=True))
        )

        # Targets, monitoring and the mid-month reminder
        register(
            NavLink(
                "Monitoring",
                "reporting:monitoring",
                roles_access(Role.ADMIN_ASSISTANT, Role.CHAMPION, Role.LEADER),
            )
        )

    def _program_figures_follow_changes(self):
        """The cached ledgers and leader dashboard go stale on any saved change to what they
        count (reporting/targets/ledger.py)."""
        from django.db.models.signals import post_delete, post_save

        from conferences.models import Attendance, Conference, ImprovementAction
        from peerlearning.models import Membership, Section
        from reporting.targets.ledger import program_changed
        from reporting.targets.models import TargetExemption, TargetPolicy
        from submissions.models import Submission

        for model in (
            Submission,
            Section,
            Membership,
            TargetPolicy,
            TargetExemption,
            Conference,
            Attendance,
            ImprovementAction,
        ):
            uid = f"reporting-program-{model._meta.label_lower}"
            post_save.connect(program_changed, sender=model, dispatch_uid=uid)
            post_delete.connect(program_changed, sender=model, dispatch_uid=uid)

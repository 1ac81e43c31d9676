from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self):
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
        from reporting import admin_reports  # noqa: F401

        register(
            NavLink("Reports", "reporting:reports", roles_access(Role.LEADER, site_admins=True))
        )

        # Targets, monitoring and the mid-month reminder
        from reporting import admin_targets  # noqa: F401

        register(
            NavLink(
                "Monitoring",
                "reporting:monitoring",
                roles_access(Role.ADMIN_ASSISTANT, Role.CHAMPION, Role.LEADER),
            )
        )

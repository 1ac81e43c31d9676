from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "conferences"

    def ready(self):
        from conferences import text_sources
        from peerlearning.access import ALL_ROLES, roles_access
        from peerlearning.navigation import NavLink, register

        # One link: improvement actions live under /conferences/ too, and the bar marks
        # every link whose URL starts the current path, so a second link would light both.
        # They are reached from the conference list and the quality team's home panel.
        register(
            NavLink("Conferences", "conferences:list", roles_access(*ALL_ROLES)), before="Outbox"
        )
        text_sources.register()

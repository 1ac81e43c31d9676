from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Submissions and feedback"

    def ready(self):
        from submissions.navigation import register_links

        register_links()

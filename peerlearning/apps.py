from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PeerLearningConfig(AppConfig):
    name = "peerlearning"
    verbose_name = "Peer learning: people and platform"

    def ready(self):
        from peerlearning import schedules, signals  # noqa: F401

        post_migrate.connect(schedules.install_periodic_tasks_after_migrate, sender=self)

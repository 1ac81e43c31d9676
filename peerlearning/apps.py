from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class PeerLearningConfig(AppConfig):
    name = "peerlearning"
    verbose_name = "Peer learning: people and platform"
    default = True

    def ready(self):
        from peerlearning import schedules, signals  # noqa: F401

        post_migrate.connect(schedules.install_periodic_tasks_after_migrate, sender=self)


class PeerLearningAdminConfig(admin_apps.AdminConfig):
    """The Django admin with our site class: sign-in through allauth, the MFA policy."""

    default = False
    default_site = "peerlearning.admin_site.PeerLearningAdminSite"

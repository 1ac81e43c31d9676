from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Submissions and feedback"

    def ready(self):
        from submissions.navigation import register_links

        register_links()
        self._queue_counts_follow_changes()

    def _queue_counts_follow_changes(self):
        """The queue's cached counts go stale on any saved change to a submission."""
        from django.db.models.signals import post_delete, post_save

        from submissions.models import Submission
        from submissions.selectors import queue_changed

        uid = "submissions-queue-counts"
        post_save.connect(queue_changed, sender=Submission, dispatch_uid=uid)
        post_delete.connect(queue_changed, sender=Submission, dispatch_uid=uid)

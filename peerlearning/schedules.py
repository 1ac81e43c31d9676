"""Periodic jobs, created once in django-celery-beat's tables and then edited in the admin.

Each app lists its jobs in `PERIODIC_TASKS`; an entry is created when missing and never
overwritten, so a schedule changed in the admin stays changed.
"""

from django.apps import apps

# name -> (task, crontab fields or interval seconds)
PERIODIC_TASKS = {
    "Send due e-mails (outbox sweeper)": {
        "task": "peerlearning.tasks.send_due_emails",
        "every_seconds": 60,
    },
}


def registered_periodic_tasks() -> dict:
    tasks = dict(PERIODIC_TASKS)
    for config in apps.get_app_configs():
        tasks.update(getattr(config.module, "PERIODIC_TASKS", None) or {})
    return tasks


def install_periodic_tasks(tasks: dict | None = None) -> int:
    """Create the missing schedules; returns how many were created."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = 0
    for name, spec in (tasks or registered_periodic_tasks()).items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if "every_seconds" in spec:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=spec["every_seconds"], period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.create(name=name, task=spec["task"], interval=interval)
        else:
            from django.conf import settings

            crontab, _ = CrontabSchedule.objects.get_or_create(
                timezone=settings.TIME_ZONE, **spec["crontab"]
            )
            PeriodicTask.objects.create(name=name, task=spec["task"], crontab=crontab)
        created += 1
    return created


def install_periodic_tasks_after_migrate(**kwargs):
    install_periodic_tasks()

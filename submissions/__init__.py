# Read by peerlearning.schedules.registered_periodic_tasks(); created once after migrate.
PERIODIC_TASKS = {
    "Escalate stalled clinical actions": {
        "task": "submissions.tasks.escalate_overdue_actions",
        "every_seconds": 900,
    },
}

# Read by peerlearning.schedules.registered_periodic_tasks(); created once after migrate.
PERIODIC_TASKS = {
    "Escalate stalled clinical actions": {
        "task": "submissions.tasks.escalate_overdue_actions",
        "every_seconds": 900,
    },
    "Apply stored results the feed could not apply": {
        "task": "submissions.tasks.apply_pending_results",
        "every_seconds": 300,
    },
    "Delete raw result messages after their retention": {
        "task": "submissions.tasks.expire_result_messages",
        "crontab": {"minute": "40", "hour": "3"},
    },
}

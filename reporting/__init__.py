# Periodic jobs (peerlearning/schedules.py creates them once; edit them in the admin).
_DAILY = {"day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}

PERIODIC_TASKS = {
    # OPPE data sources
    "OPPE: remind peer evaluators": {
        "task": "reporting.tasks.send_evaluation_reminders",
        "crontab": {"minute": "0", "hour": "7", **_DAILY},
    },
    "OPPE: tell leaders about expiring credentials": {
        "task": "reporting.tasks.send_credential_expiry_notices",
        "crontab": {
            "minute": "0",
            "hour": "7",
            "day_of_month": "1",
            "month_of_year": "*",
            "day_of_week": "*",
        },
    },
    # Targets and the mid-month reminder (docs/targets.md). One hourly job reads each
    # section's day and hour from its reminder settings, rather than one entry per section.
    "Targets: mid-month reminders (each section's day and hour)": {
        "task": "reporting.tasks.send_due_reminders",
        "crontab": {"minute": "0", "hour": "*", **_DAILY},
    },
    "Targets: month-end summary to champions and assistants": {
        "task": "reporting.tasks.send_month_summaries",
        "crontab": {
            "minute": "0",
            "hour": "8",
            "day_of_month": "1",
            "month_of_year": "*",
            "day_of_week": "*",
        },
    },
    # Reports for leaders (docs/reports.md): report jobs whose broker delivery failed, or whose
    # worker died, are queued again; the job's claim makes a duplicate harmless.
    "Reports: pick up waiting jobs": {
        "task": "reporting.tasks.requeue_waiting_reports",
        "every_seconds": 300,
    },
}

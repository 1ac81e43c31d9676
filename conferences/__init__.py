# Periodic jobs (peerlearning/schedules.py): the day-before reminder, hourly.
PERIODIC_TASKS = {
    "Conference reminders (the day before)": {
        "task": "conferences.tasks.send_conference_reminders",
        "crontab": {
            "minute": "5",
            "hour": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "day_of_week": "*",
        },
    },
}

# Periodic jobs (peerlearning/schedules.py): the day-before reminder, hourly; DICOM uploads
# that no worker is processing (broker down, worker lost), every five minutes.
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
    "Resume stalled DICOM uploads": {
        "task": "conferences.tasks.resume_case_uploads",
        "every_seconds": 300,
    },
}

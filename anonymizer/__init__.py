# Periodic jobs (peerlearning/schedules.py creates them once): the upload page's jobs that no
# worker is processing (broker down, worker lost), and results past ANONYMIZER_RESULTS_DAYS.
PERIODIC_TASKS = {
    "Resume stalled de-identification jobs": {
        "task": "anonymizer.tasks.resume_deidentification_jobs",
        "every_seconds": 300,
    },
    "Remove expired de-identification results": {
        "task": "anonymizer.tasks.expire_deidentification_results",
        "crontab": {
            "minute": "20",
            "hour": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "day_of_week": "*",
        },
    },
}

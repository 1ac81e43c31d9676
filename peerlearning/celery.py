import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerlearning.settings")

app = Celery("peerlearning")


@setup_logging.connect
def use_django_logging(**kwargs):
    # The worker keeps the project's log filters (no query strings, no database details).
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

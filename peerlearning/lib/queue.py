"""How services queue Celery tasks: by name, once the current transaction has committed.

Tasks import the services they wrap at the top of their modules; services never import
tasks, they name them here. So no service module and task module import each other.
"""

import logging
from importlib import import_module

from django.db import transaction

logger = logging.getLogger(__name__)


def task_enqueue(name: str, *args) -> None:
    """Queue the task `name` ("app.tasks.function") with `args` after the commit.

    When the broker is down nothing is queued and nothing fails: every queued kind of work
    has a periodic sweep that picks up what was left waiting.
    """
    transaction.on_commit(lambda: _send(name, args))


def _send(name: str, args: tuple) -> None:
    module, function = name.rsplit(".", 1)
    task = getattr(import_module(module), function)
    try:
        task.delay(*args)
    except Exception:
        logger.warning("Could not queue %s%s; its periodic sweep will pick it up.", name, args)

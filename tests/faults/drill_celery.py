"""The product's Celery app, with kombu's sweep for unacknowledged messages made frequent.

kombu returns a killed worker's unacknowledged Redis messages to the queue only in a sweep
that runs every `unacked_restore_interval` (10 s) times `unacked_restore_throttle` (10) seconds,
and only for messages older than the visibility timeout. The worker-kill drill shortens the
visibility timeout (CELERY_VISIBILITY_TIMEOUT) and, through this module, the sweep
(DRILL_RESTORE_INTERVAL seconds, every one a real scan), so that it ends in seconds rather
than in the production 35 minutes; docs/reliability.md gives the production figures.
"""

import os

from peerlearning.celery import app

interval = os.environ.get("DRILL_RESTORE_INTERVAL")
if interval:
    options = dict(app.conf.broker_transport_options or {})
    options.update(unacked_restore_interval=float(interval), unacked_restore_throttle=1)
    app.conf.broker_transport_options = options

__all__ = ["app"]

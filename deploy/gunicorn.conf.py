"""Gunicorn settings for the web process, read from the environment like the app's own settings.

Used by the Docker image, the systemd unit and deploy/run-stack.sh:
`gunicorn -c deploy/gunicorn.conf.py peerlearning.wsgi`. Variables are listed in
docs/configuration.md.
"""

import os

# Behind nginx on the same host by default; the Docker image sets 0.0.0.0:8000.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Synchronous workers: the app is server-rendered, and the slow work (PDFs, e-mail,
# anonymization) runs in Celery, so requests are short. 2-4 per CPU core is usual.
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5

# Recycle workers now and then, so memory held by WeasyPrint or pydicom does not grow forever.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10

# Trust X-Forwarded-* only from the reverse proxy. Under Docker the proxy is another
# container, so the compose file widens this to the private network.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file on a tmpfs: a container's overlay filesystem can stall workers.
# Gunicorn makes a private, unique file in it.
SHM = "/dev/shm"  # noqa: S108
if os.path.isdir(SHM):
    worker_tmp_dir = SHM

# Gunicorn 25+ opens a control socket under $HOME by default; two instances on one host would
# share it, and nothing here uses it. Older releases ignore the unknown name.
control_socket_disable = True

# Logs to stderr: journald or `docker compose logs` keep them. The access log leaves out the
# query string, which can carry an accession number.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

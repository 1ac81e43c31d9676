"""The production stack started by hand, as docs/deployment.md describes.

deploy/run-stack.sh migrates a fresh PostgreSQL database, collects static files and starts
gunicorn (with deploy/gunicorn.conf.py), a Celery worker and Celery beat against Redis, under
production settings (DEBUG=0, hashed static files served by WhiteNoise). One test walks the
whole stack, because starting it is the slow part.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse, urlunparse

import psycopg
import pytest
import redis
from psycopg import sql

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Not db 0, where the rest of the suite keeps its cache and queue.
REDIS_DB = 9
# Typically 25 s, most of it collectstatic compressing (gzip and brotli); room for a slow machine.
STARTUP_DEADLINE = 90


def libpq_url(url: str, *, dbname: str) -> str:
    """The same server and credentials, another database, in the form libpq accepts."""
    parsed = urlparse(url)
    return urlunparse(parsed._replace(scheme="postgresql", path=f"/{dbname}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class StylesheetLinks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.hrefs.append(attrs["href"])


@pytest.fixture
def server_urls(need_service):
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    need_service(
        database_url.startswith(("postgres://", "postgresql://", "pgsql://")),
        "PostgreSQL (DATABASE_URL=postgres://...)",
    )
    need_service(bool(redis_url), "Redis (REDIS_URL)")
    return database_url, redis_url


@pytest.fixture
def fresh_database(server_urls):
    """A new, empty database on the suite's PostgreSQL server, dropped afterwards."""
    database_url, _ = server_urls
    name = f"pl_stack_{secrets.token_hex(4)}"
    admin_url = libpq_url(database_url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunparse(urlparse(database_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def stack_redis_url(server_urls):
    """The suite's Redis server on a database of this test's own, emptied before and after."""
    _, redis_url = server_urls
    url = urlunparse(urlparse(redis_url)._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def stack(fresh_database, stack_redis_url, tmp_path):
    """deploy/run-stack.sh in its own process group; yields (base URL, env, log folder)."""
    port = free_port()
    logs = tmp_path / "logs"
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "VENV_BIN": str(BIN),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: no TLS proxy in front here.
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "DATABASE_URL": fresh_database,
        "REDIS_URL": stack_redis_url,
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_URL": f"filemail://{tmp_path / 'mail'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "CELERY_WORKER_CONCURRENCY": "1",
        "LOG_DIR": str(logs),
        "LOG_LEVEL": "INFO",
    }
    with open(tmp_path / "run-stack.log", "wb") as output:
        process = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "run-stack.sh")],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", env, tmp_path
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to the script and everything it started; SIGKILL whatever is left after 20 s."""
    group = process.pid
    try:
        os.killpg(group, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)
    pytest.fail("processes of the stack outlived SIGTERM by 10 s")


def logs_of(folder: Path) -> str:
    parts = [folder / "run-stack.log", *sorted((folder / "logs").glob("*.log"))]
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in parts if p.exists()
    )


def wait_until(condition, *, deadline: float, folder: Path, what: str):
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}\n{logs_of(folder)}")


def healthz(base_url: str):
    try:
        return fetch(f"{base_url}/healthz")
    except OSError:
        return None  # not listening yet


def test_stack_serves_pages_static_files_and_runs_tasks(stack):
    base_url, env, folder = stack
    deadline = time.monotonic() + STARTUP_DEADLINE

    status, _, body = wait_until(
        lambda: healthz(base_url), deadline=deadline, folder=folder, what="gunicorn on /healthz"
    )
    assert (status, body) == (200, '{"status": "ok", "database": "ok", "broker": "ok"}')

    status, _, page = fetch(f"{base_url}/accounts/login/")
    assert status == 200
    links = StylesheetLinks()
    links.feed(page)
    assert links.hrefs, "the sign-in page links no stylesheet"
    for href in links.hrefs:
        # The manifest gives every file a content hash, which WhiteNoise caches forever.
        assert re.search(r"\.[0-9a-f]{12}\.css$", href), href
        status, headers, css = fetch(urljoin(base_url, href))
        assert status == 200, href
        assert headers["Content-Type"].startswith("text/css")
        assert "immutable" in headers["Cache-Control"]
        assert css.strip()

    called = subprocess.run(
        [BIN / "celery", "-A", "peerlearning", "call", "peerlearning.tasks.send_due_emails"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    task_id = called.stdout.strip().splitlines()[-1]
    worker_log = folder / "logs" / "worker.log"
    wait_until(
        lambda: re.search(rf"\[{task_id}\] succeeded", worker_log.read_text()),
        deadline=time.monotonic() + 20,
        folder=folder,
        what=f"the worker to run task {task_id}",
    )

    # Beat is up, reading its schedule from the database that migrate filled.
    beat_log = folder / "logs" / "beat.log"
    wait_until(
        lambda: "django_celery_beat.schedulers.DatabaseScheduler" in beat_log.read_text(),
        deadline=time.monotonic() + 10,
        folder=folder,
        what="beat with the database scheduler",
    )

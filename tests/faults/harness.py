"""Processes for the fault drills: Celery workers and beats, gunicorn, and private Redis and
PostgreSQL servers that a drill may stop and start without disturbing anyone else's tests.

Every process runs in its own session (process group), so a drill can SIGKILL a worker with
its pool children at once, as the kernel's OOM killer or a lost machine would.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian layout), or PG_BIN."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], object], *, timeout: float, every: float = 0.1, what=""):
    """Poll `check` until it returns something truthy; that value. TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what or check}")
        time.sleep(every)


def with_db(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def libpq(url: str) -> str:
    return urlunparse(urlparse(url)._replace(scheme="postgresql"))


def app_env(
    *, database_url: str, redis_url: str, home: Path, email_url: str = "", **extra: str
) -> dict[str, str]:
    """Production settings on loopback for the drill's own processes."""
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "peerlearning.settings",
        "DEBUG": "0",
        "SECRET_KEY": "fault-drill-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STATIC_ROOT": str(home / "static"),
        "MEDIA_ROOT": str(home / "media"),
        "EMAIL_URL": email_url or f"filemail://{home / 'mail'}",
        "EMAIL_TIMEOUT": "5",
        # Test data only: hashing a dozen demo passwords with PBKDF2 would cost seconds.
        "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
        "LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


def action(env: dict, name: str, **kwargs) -> dict:
    """One step of tests/faults/actions.py in a fresh Django process; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.actions", name, json.dumps(kwargs)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode:
        raise RuntimeError(f"action {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def manage(env: dict, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")


class Process:
    """A long-running command in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict, log: Path, cwd: Path = ROOT):
        self.name, self.args, self.env, self.log, self.cwd = name, args, env, log, cwd
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as output:
            self.popen = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=self.cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown handler runs, nothing is acknowledged."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if not self.running:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # Pool children of a worker the TERM already ended may linger for a moment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def celery_worker(
    env: dict, log: Path, *, concurrency: int = 1, app: str = "peerlearning", name: str = "w"
) -> Process:
    return Process(
        f"worker {name}",
        [
            str(BIN / "celery"),
            "-A",
            app,
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--hostname={name}@%h",
            # Faster start; neither changes how tasks are acknowledged or re-delivered.
            "--without-mingle",
            "--without-gossip",
        ],
        env=env,
        log=log,
    )


def celery_beat(env: dict, log: Path, *, workdir: Path) -> Process:
    workdir.mkdir(parents=True, exist_ok=True)
    return Process(
        f"beat in {workdir.name}",
        [
            str(BIN / "celery"),
            "-A",
            "peerlearning",
            "beat",
            "--loglevel=INFO",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
            "--max-interval=1",
        ],
        env=env,
        log=log,
        cwd=workdir,
    )


def worker_ready(process: Process) -> bool:
    return " ready." in process.output()


class Gunicorn(Process):
    def __init__(self, env: dict, log: Path, *, workers: int = 2):
        self.port = free_port()
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_TIMEOUT": "30",
        }
        config = str(ROOT / "deploy" / "gunicorn.conf.py")
        super().__init__(
            "gunicorn",
            [str(BIN / "gunicorn"), "-c", config, "peerlearning.wsgi"],
            env=env,
            log=log,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        wait_until(
            lambda: http_status(f"{self.base}/accounts/login/") == 200,
            timeout=60,
            what="gunicorn",
        )


def http_status(url: str, *, timeout: float = 5, headers: dict | None = None) -> int | None:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (loopback)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def http_get(url: str, *, headers: dict | None = None, timeout: float = 10) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (loopback)
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_post_json(url: str, body: dict, *, token: str, timeout: float = 10) -> int | None:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (loopback)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def sign_in_status(base: str, email: str, password: str) -> int | None:
    """Sign in through allauth's form (CSRF cookie and token from the page); the POST's status
    (302 on success), or None when the page itself could not be had."""
    import http.cookiejar
    import re

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    try:
        with opener.open(f"{base}/accounts/login/", timeout=10) as page:
            html = page.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if token is None:
        return None
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "login": email, "password": password}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/accounts/login/"}
    )
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# Private services ----------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the drill's own, without persistence (as the brief's CI runs it)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: Process | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = Process(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            log=self.workdir / "redis.log",
            cwd=self.workdir,
        ).start()
        wait_until(self.ping, timeout=20, what="redis-server")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def postgres_available() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None


class PostgresServer:
    """A PostgreSQL cluster of the drill's own, run as the postgres OS user (root cannot)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.data = workdir / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd="/",
        )
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    def init(self) -> PostgresServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.workdir, "postgres", "postgres")
        self.workdir.chmod(0o700)
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        return self

    def start(self) -> PostgresServer:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.workdir / "server.log"),
            "-o", f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1",
            "-w", "-t", "30", "start",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def accepting(self) -> bool:
        done = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return done.returncode == 0

    def log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Database:
    """The drill's own view of a scratch database: plain SQL over one autocommit connection."""

    def __init__(self, url: str):
        import psycopg

        self.connection = psycopg.connect(libpq(url), autocommit=True)

    def scalar(self, query: str, *params):
        return self.connection.execute(query, params).fetchone()[0]

    def rows(self, query: str, *params) -> list[tuple]:
        return self.connection.execute(query, params).fetchall()

    def close(self) -> None:
        self.connection.close()


def send_task(broker_url: str, name: str) -> None:
    """Queue a task by name on the drill's broker, as beat or `delay()` would."""
    from celery import Celery

    app = Celery("drill-client", broker=broker_url, set_as_current=False)
    app.conf.task_serializer = "json"
    app.conf.accept_content = ["json"]
    try:
        app.send_task(name)
    finally:
        app.close()


def log_lines(process: Process, needle: str) -> list[str]:
    return [line for line in process.output().splitlines() if needle in line]

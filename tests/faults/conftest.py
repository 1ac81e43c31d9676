"""Fixtures of the fault drills (docs/reliability.md).

The drills need PostgreSQL and Redis (they skip without them, and fail under
REQUIRE_SERVICES=1). Each works on a scratch database cloned from a migrated template and on
a Redis database number of its own, and starts its own processes; a drill that stops a
service does it to a private redis-server or PostgreSQL cluster, never to the shared ones.
"""

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
import redis
from psycopg import sql

from tests.faults.harness import (
    PostgresServer,
    RedisServer,
    app_env,
    libpq,
    manage,
    postgres_available,
    with_db,
)

# Redis database numbers of the drills: not 0 (the suite's cache and queue) nor 8 and 9
# (the HTTP bench and the stack test).
REDIS_DB = 10


def pytest_configure(config):
    # Registered here because pyproject.toml belongs to the lead; see docs/reliability.md.
    config.addinivalue_line("markers", "slow: a fault drill that takes tens of seconds")


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


@pytest.fixture
def shared_services(need_service):
    """The suite's PostgreSQL and Redis URLs, or a skip (a failure under REQUIRE_SERVICES)."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    need_service(_is_postgres(database_url), "PostgreSQL (DATABASE_URL=postgres://...)")
    need_service(bool(redis_url), "Redis (REDIS_URL)")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
        reachable = True
    except redis.RedisError:
        reachable = False
    need_service(reachable, f"Redis at {redis_url}")
    return database_url, redis_url


@pytest.fixture(scope="session")
def _template_database(tmp_path_factory):
    """A migrated database, created once per run and cloned by each drill (CREATE ... TEMPLATE)."""
    database_url = os.environ["DATABASE_URL"]
    name = f"pl_faults_tpl_{secrets.token_hex(3)}"
    admin = libpq(with_db(database_url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        home = tmp_path_factory.mktemp("template")
        env = app_env(
            database_url=with_db(database_url, name),
            redis_url=os.environ["REDIS_URL"],
            home=home,
        )
        manage(env, "migrate", "--noinput", "-v0")
        yield name
    finally:
        _drop(admin, name)


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def _collected_static(tmp_path_factory):
    """Static files collected once (hashed and compressed, as production serves them)."""
    home = tmp_path_factory.mktemp("static-home")
    env = app_env(
        database_url=os.environ["DATABASE_URL"], redis_url=os.environ["REDIS_URL"], home=home
    )
    manage(env, "collectstatic", "--noinput", "-v0")
    return env["STATIC_ROOT"]


@pytest.fixture
def static_root(shared_services, request):
    """Where gunicorn finds the collected static files (its error pages need the manifest)."""
    return request.getfixturevalue("_collected_static")


@pytest.fixture
def scratch_database(shared_services, request):
    """A fresh, migrated database of this drill's own on the shared server; dropped after."""
    database_url, _ = shared_services
    template = request.getfixturevalue("_template_database")
    name = f"pl_faults_{secrets.token_hex(4)}"
    admin = libpq(with_db(database_url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    try:
        yield with_db(database_url, name)
    finally:
        _drop(admin, name)


@pytest.fixture
def drill_redis_url(shared_services):
    """The shared Redis on the drills' own database number, emptied before and after."""
    _, redis_url = shared_services
    url = urlunparse(urlparse(redis_url)._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def private_redis(shared_services, need_service, tmp_path):
    """A redis-server of this drill's own, which the drill may stop and start."""
    need_service(shutil.which("redis-server") is not None, "the redis-server program")
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def private_postgres(shared_services, need_service):
    """A PostgreSQL cluster of this drill's own (initdb, pg_ctl as the postgres OS user)."""
    need_service(postgres_available(), "PostgreSQL server binaries and a postgres OS user")
    # Outside pytest's temporary folder, which only root may enter.
    workdir = Path(tempfile.mkdtemp(prefix="pl-drill-pg-"))
    server = PostgresServer(workdir)
    try:
        server.init().start()
        yield server
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def run():
    """Start a harness Process and stop it (with its whole group) when the drill ends."""
    started = []

    def start(process):
        started.append(process)
        return process.start()

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture
def smtp(shared_services):
    """A real SMTP server on loopback (aiosmtpd) for the drill's worker to deliver to."""
    from peerlearning.testing import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()

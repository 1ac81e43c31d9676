"""The cache keeps answering while Redis is away, and returns to Redis when it is back."""

import shutil
import subprocess
import time

import pytest
import redis

from peerlearning.lib import cache as resilient
from peerlearning.lib.cache import ResilientRedisCache
from peerlearning.testing import free_port


def _cache(url: str) -> ResilientRedisCache:
    return ResilientRedisCache(url, {"OPTIONS": {"socket_connect_timeout": 1}})


class _Redis:
    """A redis-server of the test's own, which it may stop and start on the same port."""

    def __init__(self, workdir):
        self.port, self.workdir, self.process = free_port(), workdir, None

    def start(self):
        command = [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def private_redis(need_service, tmp_path):
    need_service(shutil.which("redis-server") is not None, "the redis-server program")
    server = _Redis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_without_redis_the_cache_answers_from_memory():
    cache = _cache(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there

    cache.set("attempts", 1)
    assert cache.get("attempts") == 1
    assert cache.incr("attempts") == 2
    assert cache.add("attempts", 5) is False
    assert cache.get_or_set("other", 7) == 7


def test_it_survives_a_redis_restart_and_goes_back_to_redis(monkeypatch, private_redis):
    monkeypatch.setattr(resilient, "RETRY_AFTER", 0.0)
    cache = _cache(private_redis.url)
    cache.set("kept", "in redis")

    private_redis.stop()
    cache.set("during", "in memory")
    assert cache.get("during") == "in memory"
    assert cache.get("kept") is None

    private_redis.start()
    assert cache.get("during") is None, "answers come from Redis again"
    cache.set("after", "in redis")
    assert _cache(private_redis.url).get("after") == "in redis"

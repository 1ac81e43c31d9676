"""A Redis cache that keeps the site working while Redis is away.

Django's Redis cache raises when Redis cannot be reached, and the cache sits under signing
in (allauth's rate limits) and the dashboards, so a Redis restart turned those pages into
500s. This backend answers from a small per-process memory cache meanwhile and goes back to
Redis at the first call after it returns (tried again at most every RETRY_AFTER seconds).
What is lost during the outage is only what a cache may lose: rate limits count per worker
process, and cached figures are computed again.
"""

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER = 2.0
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _falls_back(name: str):
    def method(self, *args, **kwargs):
        if time.monotonic() >= self._retry_at:
            try:
                answer = getattr(super(ResilientRedisCache, self), name)(*args, **kwargs)
            except _UNREACHABLE as error:
                if not self._retry_at:
                    logger.warning("Redis cache unreachable (%s); using memory meanwhile.", error)
                self._retry_at = time.monotonic() + RETRY_AFTER
            else:
                if self._retry_at:
                    logger.warning("Redis cache reachable again.")
                    self._retry_at = 0.0
                return answer
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    return method


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._fallback = LocMemCache(f"fallback-{server}", {"OPTIONS": {"MAX_ENTRIES": 5000}})
        self._retry_at = 0.0

    add = _falls_back("add")
    get = _falls_back("get")
    set = _falls_back("set")
    touch = _falls_back("touch")
    delete = _falls_back("delete")
    get_many = _falls_back("get_many")
    has_key = _falls_back("has_key")
    incr = _falls_back("incr")
    set_many = _falls_back("set_many")
    delete_many = _falls_back("delete_many")
    clear = _falls_back("clear")

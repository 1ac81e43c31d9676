"""Cached figures that stay correct: a version per topic, bumped by the writes that change it.

A page caches an expensive aggregate under a key that carries the topic's current version
(`figures_cached`); a write that changes the figures bumps the version (`figures_changed`),
so the next read misses and recomputes. Every entry also expires after a short time (the
caller's TTL), which bounds the staleness of writes that bypass the bump (bulk imports,
`QuerySet.update`). The rules per page are in docs/reports.md and docs/performance.md.

The bump happens twice: at once, so the writer's own next read (and a test inside one
transaction) sees the change; and again after commit, so a reader that recomputed from the
not-yet-committed state in between does not keep its figures under the new version.

The cache is an optimisation: without it (Redis down) figures are computed every time and
writes go through; slower, never wrong.
"""

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

PREFIX = "figures"
T = TypeVar("T")


def _version_key(topic: str) -> str:
    return f"{PREFIX}:{topic}:version"


def figures_version(topic: str) -> str | None:
    """The topic's current version ("0" before the first bump); None without a cache."""
    try:
        return cache.get(_version_key(topic)) or "0"
    except Exception:  # Redis away costs speed, not the page
        logger.warning("Cache unavailable: %s figures computed afresh.", topic)
        return None


def figures_cached(topic: str, *parts, compute: Callable[[], T], ttl: int) -> T:
    """The figures cached for `parts` under the topic's version, or `compute()` kept for
    `ttl` seconds."""
    version = figures_version(topic)
    if version is None:
        return compute()
    key = ":".join([PREFIX, topic, version, *(str(part) for part in parts)])
    try:
        value = cache.get(key)
    except Exception:
        value = None
    if value is None:
        value = compute()
        try:
            cache.set(key, value, ttl)
        except Exception:
            logger.warning("Cache unavailable: %s figures not kept.", topic)
    return value


def _bump(topic: str) -> None:
    # A fresh random token rather than a counter: no read-modify-write, and a version the
    # cache forgot cannot come back and match old entries (they expire anyway).
    try:
        cache.set(_version_key(topic), uuid.uuid4().hex, None)
    except Exception:  # a write must not fail because the cache is away
        logger.warning("Cache unavailable: %s figures not invalidated (they expire).", topic)


def figures_changed(*topics: str) -> None:
    """Invalidate the cached figures of these topics, now and once the transaction commits."""
    for topic in topics:
        _bump(topic)
        transaction.on_commit(lambda topic=topic: _bump(topic))

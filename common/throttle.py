"""Counting failures per client in Django's cache (Redis when ``REDIS_URL`` is
set, so every daphne process shares the count)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from common import outage


@dataclass(frozen=True)
class FailureThrottle:
    """At most ``limit`` failures per ``window`` seconds per client.

    The window starts at a client's first failure (a fixed window, not a
    sliding one): after ``limit`` failures the client waits until the window
    that began with the first one ends.
    """

    name: str
    limit: int
    window: int

    def _key(self, client: str) -> str:
        return f"throttle:{self.name}:{client}"

    def blocked(self, client: str) -> bool:
        return (cache.get(self._key(client)) or 0) >= self.limit

    def failed(self, client: str) -> None:
        _count_hit(self._key(client), self.window)


@dataclass(frozen=True)
class RateThrottle:
    """At most ``limit`` hits per fixed ``window`` of seconds per key, counted
    in the cache, so that every socket and every process of a participant
    draws on the same allowance.

    When the cache cannot be reached (Redis down), the hit is allowed: the
    per-socket limit still holds, and the outage is logged once
    (``common.outage``).
    """

    name: str
    limit: int
    window: int

    def allow(self, key: str | int) -> bool:
        now = int(time.time())
        bucket = f"rate:{self.name}:{key}:{now // self.window}"
        try:
            count = _count_hit(bucket, self.window + 1)
        except Exception as error:
            if not outage.is_connection_error(error):
                raise
            outage.redis.failed(error, f"counting {self.name}")
            return True
        return count <= self.limit


def _count_hit(bucket: str, timeout: int) -> int:
    """Add one to the counter ``bucket`` (made with ``timeout`` seconds to
    live if it is new) and return the count.

    On Redis, one round trip, atomic: ``SET NX`` and ``INCR`` in one
    ``MULTI``. Django's own ``add()`` then ``incr()`` takes three (``incr``
    asks ``EXISTS`` first), and every room action counts here, in the
    database thread the process's sockets share: 1.5–1.7 ms → 0.6–0.7 ms a
    hit (wall; CPU 1.2 → 0.5 ms), 3,000 hits timed three times each way on
    the session 11 machine, against the local Redis. Elsewhere (the local
    memory cache of a newcomer's laptop), ``add()`` then ``incr()``.
    """
    backend = caches["default"]  # the backend itself, not ``cache``'s proxy
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(bucket)
        # The client of Django's own connection pool (``RedisCacheClient``).
        pipeline = backend._cache.get_client(key, write=True).pipeline()
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return pipeline.execute()[1]
    # add() is a no-op when the key exists, so the window is never extended.
    backend.add(bucket, 0, timeout=timeout)
    try:
        return backend.incr(bucket)
    except ValueError:  # expired between add() and incr()
        backend.add(bucket, 1, timeout=timeout)
        return 1

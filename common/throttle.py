"""Counting failures per client in Django's cache (Redis when ``REDIS_URL`` is
set, so every daphne process shares the count)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache


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
        key = self._key(client)
        # add() is a no-op when the key exists, so the window is never extended.
        cache.add(key, 0, timeout=self.window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=self.window)

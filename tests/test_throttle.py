"""``RateThrottle``: one allowance per key, shared by whoever counts in the
same cache, on Redis (every process) and on the local memory cache."""

from __future__ import annotations

import copy

import pytest
from django.core.cache import caches
from redis.connection import AbstractConnection

from common.throttle import RateThrottle
from tests.service_checks import require_redis

BACKENDS = {
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "redis": "django.core.cache.backends.redis.RedisCache",
}


def use_cache(settings, name: str):
    """Make ``name`` the default cache (a fresh key prefix each test, from
    ``tests/conftest.py``)."""
    configured = copy.deepcopy(settings.CACHES)
    configured["default"]["BACKEND"] = BACKENDS[name]
    configured["default"]["LOCATION"] = (
        require_redis() if name == "redis" else "throttle-tests"
    )
    settings.CACHES = configured  # also drops the cache connections made so far
    return caches["default"]


@pytest.fixture(autouse=True)
def mid_window(monkeypatch):
    """The clock stands still in the middle of a window, so no test crosses
    into the next one between two hits."""
    monkeypatch.setattr("common.throttle.time.time", lambda: 1_000_005.0)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request, settings):
    """The default cache, on each backend the app runs with."""
    return use_cache(settings, request.param)


def test_hits_beyond_the_limit_are_refused_and_other_keys_keep_theirs(backend):
    throttle = RateThrottle("actions", limit=3, window=60)

    mine = [throttle.allow("participant-1") for _ in range(5)]
    theirs = throttle.allow("participant-2")

    assert mine == [True, True, True, False, False]
    assert theirs is True


def test_two_throttles_of_one_name_draw_on_one_allowance(backend):
    """As two sockets (or two processes) of the same participant do."""
    first, second = (RateThrottle("actions", limit=2, window=60) for _ in range(2))

    assert first.allow(7)
    assert second.allow(7)
    assert not first.allow(7)
    assert not second.allow(7)


def test_a_window_of_its_own_starts_afresh(backend, monkeypatch):
    throttle = RateThrottle("actions", limit=1, window=10)
    assert throttle.allow("p")
    assert not throttle.allow("p")

    monkeypatch.setattr("common.throttle.time.time", lambda: 1_000_011.0)
    assert throttle.allow("p")


def test_on_redis_a_hit_is_one_round_trip_and_the_counter_expires(settings):
    backend = use_cache(settings, "redis")
    throttle = RateThrottle("actions", limit=5, window=10)
    throttle.allow("p")  # the connection is made outside the count

    sent = []
    original = AbstractConnection.send_packed_command

    def counted(connection, command, *args, **kwargs):
        sent.append(command)
        return original(connection, command, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AbstractConnection, "send_packed_command", counted)
        assert throttle.allow("p")

    assert len(sent) == 1  # SET NX and INCR in one MULTI
    bucket = next(
        key
        for key in backend._cache.get_client().scan_iter(
            backend.make_and_validate_key("rate:actions:p:*")
        )
    )
    client = backend._cache.get_client()
    assert int(client.get(bucket)) == 2
    assert 0 < client.ttl(bucket) <= 11

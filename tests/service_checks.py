"""Tests that need a real service: skip on a laptop, fail in CI.

CI (``.ci/run``) exports ``CI=true`` together with ``DATABASE_URL`` (PostgreSQL)
and ``REDIS_URL``. There a missing or unreachable service is a broken build, so
every helper here calls ``pytest.fail`` under ``CI=true`` and ``pytest.skip``
only outside it. A test that silently skipped in CI would prove nothing.

Use the helpers directly::

    from tests.service_checks import require_redis

    def test_something():
        redis_url = require_redis()

or, once this module is registered as a plugin (``-p tests.service_checks``),
with a marker::

    @pytest.mark.requires("postgres", "redis")
    def test_something(): ...
"""

import os
import shutil
from collections.abc import Callable
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the run must prove everything (``CI=true``, as CI systems set)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def service_unavailable(reason: str) -> NoReturn:
    """Skip the current test, or fail it under ``CI=true``."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required services must be present)")
    pytest.skip(reason)


def require_postgres() -> None:
    """The default database must be PostgreSQL (``DATABASE_URL=postgres://…``).

    Reachability needs no check of its own: pytest-django has already created
    the test database on it, or the session errored.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        service_unavailable(
            f"needs PostgreSQL, but the database is {connection.vendor}: "
            "set DATABASE_URL=postgres://…"
        )


def require_redis() -> str:
    """Redis must be configured (``REDIS_URL``) and answer a PING; returns the URL."""
    import redis
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "") or os.environ.get("REDIS_URL", "")
    if not url:
        service_unavailable("needs Redis: set REDIS_URL=redis://…")
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis at {url} does not answer: {error}")
    finally:
        client.close()
    return url


def require_executable(name: str) -> str:
    """A program must be on PATH; returns its path."""
    path = shutil.which(name)
    if path is None:
        service_unavailable(f"needs the `{name}` program on PATH")
    return path


REQUIREMENTS: dict[str, Callable[[], object]] = {
    "postgres": require_postgres,
    "redis": require_redis,
}


# --- Plugin hooks (active only when registered with -p tests.service_checks) --


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires(*services): the test needs real services "
        f"({', '.join(REQUIREMENTS)}); skipped when absent, failed under CI=true",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("requires"):
        for service in marker.args:
            if service not in REQUIREMENTS:
                raise pytest.UsageError(f"unknown service in requires(): {service!r}")
            REQUIREMENTS[service]()

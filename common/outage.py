"""One clear log line per outage of a backing service, not a traceback per call.

When Redis or PostgreSQL goes away for a few seconds, every socket's next call
to it fails. The room keeps going (an edit is refused with "try again", a
broadcast is caught up later from the log), and the log says what happened
once: a warning when the service is first found down, and a line when it
answers again. Failures less than ``QUIET_SECONDS`` apart are the same outage.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback

logger = logging.getLogger("parley.outage")

QUIET_SECONDS = 10.0


class Outage:
    """The state of one backing service (``"redis"``, ``"database"``) in this
    process. Safe to call from the event loop and from worker threads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0
        self.last_failure = 0.0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, error: BaseException, doing: str) -> None:
        """A call to the service failed: warn if this starts an outage."""
        now = time.monotonic()
        with self._lock:
            new = not self.failures or now - self.last_failure > QUIET_SECONDS
            if new:
                self.failures = 0
            self.failures += 1
            self.last_failure = now
        if new:
            logger.warning(
                "%s unavailable (%s while %s): carrying on without it; "
                "further failures are counted, not logged.",
                self.name,
                _describe(error),
                doing,
            )

    def ok(self) -> None:
        """A call to the service worked: say so once if it was down."""
        if not self.failures:
            return
        with self._lock:
            failures, self.failures = self.failures, 0
        if failures:
            logger.warning("%s is back after %d failed call(s).", self.name, failures)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


redis = Outage("Redis")
database = Outage("PostgreSQL")


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` means the service could not be reached (rather than a
    bug): OS-level connection errors and the client libraries' own."""
    if isinstance(error, (ConnectionError, TimeoutError, OSError)):
        return True
    try:
        import redis.exceptions as redis_errors
    except ImportError:  # pragma: no cover - redis is a dependency
        return False
    return isinstance(error, (redis_errors.ConnectionError, redis_errors.TimeoutError))


def raised_by_redis_client(error: BaseException) -> bool:
    """Whether ``error`` is a connection error, or came from inside the Redis
    client or the channel layer: while Redis restarts, redis-py can also fail
    with a ``TypeError`` on a connection torn down under it."""
    if is_connection_error(error):
        return True
    files = [frame.filename for frame in traceback.extract_tb(error.__traceback__)]
    return bool(files) and any(
        f"{os.sep}redis{os.sep}" in name or f"{os.sep}channels_redis{os.sep}" in name
        for name in files[-3:]
    )


class RedisOutageFilter(logging.Filter):
    """Turns channels_redis' traceback per failed receive (one a second per
    process while Redis is down) into the outage's single warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and raised_by_redis_client(error):
            redis.failed(error, "receiving from the channel layer")
            return False
        return True


class DatabasePoolOutageFilter(logging.Filter):
    """psycopg's pool logs each failed attempt to reconnect while PostgreSQL
    is down; those become the outage's single warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(
            ("error connecting in ", "discarding closed connection")
        ):
            database.failed(
                ConnectionError(record.getMessage()), "reconnecting the pool"
            )
            return False
        return True

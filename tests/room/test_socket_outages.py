"""Redis or PostgreSQL going away for a few seconds: the socket lives, an edit
the database could not save is refused with "try again" and never
acknowledged, and the log gets one warning line per outage, no traceback."""

from __future__ import annotations

import copy
import logging
import os

import pytest
import redis.exceptions
from channels.layers import get_channel_layer
from django.db import OperationalError, connection

from common import outage
from common.throttle import RateThrottle
from room import consumers
from room.models import Message
from tests.room.sockets import TIMEOUT, act, closed_with, db, event_count, receive, room
from tests.service_checks import require_postgres

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer", "_outages_forgotten"),
]


@pytest.fixture
def _outages_forgotten():
    for service in (outage.redis, outage.database):
        service.failures = 0
    yield
    for service in (outage.redis, outage.database):
        service.failures = 0


def outage_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "parley.outage"]


def tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


async def reply_to(comm, client_msg_id: str) -> dict:
    while True:
        frame = await comm.receive_json_from(TIMEOUT)
        if frame.get("client_msg_id") == client_msg_id:
            return frame
        assert frame["type"] in {"presence", "event", "coach"}, frame


async def test_an_edit_the_database_cannot_save_is_refused_with_try_again(
    deal, host_cookie, guest_cookie, monkeypatch, caplog
):
    perform = consumers.actions.perform
    failures = iter([True, True])

    def perform_while_down(*args, **kwargs):
        if next(failures, False):
            raise OperationalError(
                "terminating connection due to administrator command"
            )
        return perform(*args, **kwargs)

    monkeypatch.setattr(consumers.actions, "perform", perform_while_down)
    events_before = await event_count(deal)

    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        refusals = [
            await reply_to(host, await act(host, "message.post", {"body": "Lost?"}))
            for _ in range(2)
        ]
        # The database is back: the same socket works.
        ack = await reply_to(host, await act(host, "message.post", {"body": "Back"}))
        seen = await receive(guest, "event")

    assert [r["type"] for r in refusals] == ["error", "error"]
    assert {r["code"] for r in refusals} == {"try_again"}
    assert "try again" in refusals[0]["message"]
    assert ack["type"] == "ack"
    assert "Back" in seen["html"]
    assert await event_count(deal) == events_before + 1
    assert list(
        await db(lambda: list(Message.objects.values_list("body", flat=True)))()
    ) == ["Back"]
    assert len(outage_lines(caplog)) == 2  # down once, back once
    assert not tracebacks(caplog)


async def test_a_coach_the_database_fails_is_an_outage_line_and_the_edit_stands(
    deal, host_cookie, guest_cookie, monkeypatch, caplog
):
    def coach_while_down(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(consumers, "run_detectors", coach_while_down)

    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        ack = await reply_to(host, await act(host, "message.post", {"body": "Kept"}))
        seen = await receive(guest, "event")

    assert ack["type"] == "ack"
    assert "Kept" in seen["html"]
    lines = [record.getMessage() for record in outage_lines(caplog)]
    assert any("while coaching on an action" in line for line in lines)
    assert not tracebacks(caplog)


async def test_a_postgresql_restart_refuses_the_edit_and_the_socket_stays_usable(
    deal, host_cookie, monkeypatch
):
    """The real thing on PostgreSQL: the socket's database connection is
    terminated by the server as the edit starts (as a restart does), and the
    pool replaces it for the next one. (Skipped without PostgreSQL; under
    CI=true it fails instead.)"""
    require_postgres()
    perform = consumers.actions.perform
    terminated = []

    def perform_after_restart(*args, **kwargs):
        if not terminated:
            terminated.append(True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return perform(*args, **kwargs)

    monkeypatch.setattr(consumers.actions, "perform", perform_after_restart)
    async with room(deal.pk, host_cookie) as (host,):
        refusal = await reply_to(host, await act(host, "message.post", {"body": "a"}))
        ack = await reply_to(host, await act(host, "message.post", {"body": "b"}))

    assert terminated
    assert refusal["type"] == "error"
    assert refusal["code"] == "try_again"
    assert ack["type"] == "ack", ack
    bodies = await db(lambda: list(Message.objects.values_list("body", flat=True)))()
    assert bodies == ["b"]


async def test_a_broadcast_redis_refuses_is_logged_once_and_the_edit_stands(
    deal, host_cookie, guest_cookie, monkeypatch, caplog
):
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        layer = get_channel_layer()
        real_group_send = layer.group_send

        async def group_send_while_down(group, message):
            raise redis.exceptions.ConnectionError("Error 111 connecting")

        monkeypatch.setattr(layer, "group_send", group_send_while_down)
        acks = [
            await reply_to(host, await act(host, "message.post", {"body": f"m{n}"}))
            for n in range(3)
        ]
        monkeypatch.setattr(layer, "group_send", real_group_send)
        # Redis is back: the guest catches up on all three with the next one.
        await reply_to(host, await act(host, "message.post", {"body": "m3"}))
        caught_up = await receive(guest, "event")

    assert [a["type"] for a in acks] == ["ack"] * 3
    assert all(f"m{n}" in caught_up["html"] for n in range(4))
    lines = outage_lines(caplog)
    assert len(lines) == 2
    assert lines[0].levelno == logging.WARNING
    assert "Redis unavailable" in lines[0].getMessage()
    assert "back" in lines[1].getMessage()
    assert not tracebacks(caplog)


def test_the_channel_layer_receive_loop_logs_one_line_per_outage(caplog):
    """channels_redis logs a traceback a second while Redis is down; the
    settings' filter makes that one warning."""
    logger = logging.getLogger("channels_redis.pubsub")
    for _ in range(5):
        try:
            raise redis.exceptions.ConnectionError("Connection closed by server.")
        except redis.exceptions.ConnectionError:
            logger.exception("Unexpected exception in receive task")

    assert len(outage_lines(caplog)) == 1
    assert not tracebacks(caplog)


def test_the_shared_rate_lets_actions_through_while_the_cache_is_down(settings, caplog):
    configured = copy.deepcopy(settings.CACHES)
    configured["default"].update(
        BACKEND="django.core.cache.backends.redis.RedisCache",
        LOCATION="redis://127.0.0.1:1/0",  # nothing listens there
    )
    settings.CACHES = configured
    limit = RateThrottle("test", limit=1, window=60)

    assert all(limit.allow("p1") for _ in range(3))
    assert len(outage_lines(caplog)) == 1
    assert not tracebacks(caplog)


async def test_a_sync_the_database_cannot_answer_closes_for_a_reconnect(
    deal, host_cookie, monkeypatch, caplog
):
    """The client reconnects after 4503 and asks again, as after any close."""

    def render_while_down(self, since):
        raise OperationalError("connection failed: Connection refused")

    async with room(deal.pk, host_cookie) as (host,):
        monkeypatch.setattr(
            consumers.RoomConsumer,
            "_render_catch_up",
            consumers.database_work(render_while_down),
        )
        await host.send_json_to({"action": "sync", "since": 0})
        code = await closed_with(host)

    assert code == consumers.CLOSE_TRY_LATER == 4503
    assert len(outage_lines(caplog)) == 1
    assert not tracebacks(caplog)


def test_the_pools_reconnect_attempts_log_one_line_per_outage(caplog):
    logger = logging.getLogger("psycopg.pool")
    for _ in range(5):
        logger.warning(
            "error connecting in 'pool-1': connection failed: Connection refused"
        )

    assert len(outage_lines(caplog)) == 1
    assert not [r for r in caplog.records if r.name == "psycopg.pool"]


def test_an_error_from_inside_the_redis_client_counts_as_the_outage():
    def torn_down():
        raise TypeError("'NoneType' object is not callable")

    torn_down.__code__ = torn_down.__code__.replace(
        co_filename=f"{os.sep}site-packages{os.sep}redis{os.sep}asyncio{os.sep}x.py"
    )
    try:
        torn_down()
    except TypeError as error:
        from_redis = outage.raised_by_redis_client(error)
    try:
        raise TypeError("a bug of ours")
    except TypeError as error:
        ours = outage.raised_by_redis_client(error)

    assert from_redis
    assert not ours

"""``/healthz``: what load balancers and ``docker-compose`` health checks poll."""

import asyncio

import pytest
import redis.asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import connection, connections

from tests.service_checks import require_postgres, require_redis

REDIS_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"
# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_answers_200_when_database_and_channel_layer_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "channel_layer": True}
    # A cached "ok" would hide an outage from the load balancer.
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_channel_layer_cannot_answer(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": REDIS_LAYER, "CONFIG": {"hosts": [UNREACHABLE_REDIS]}}
    }

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": True,
        "channel_layer": False,
    }


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_cannot_answer(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.OperationalError("database is down")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] is False


@pytest.mark.django_db
def test_healthz_goes_through_redis_when_redis_url_is_set(client, settings):
    """In CI (and in production) the channel layer that answers is Redis."""
    redis_url = require_redis()

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == REDIS_LAYER
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] == [redis_url]
    assert isinstance(get_channel_layer(), RedisPubSubChannelLayer)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["channel_layer"] is True


@pytest.mark.django_db(transaction=True)
async def test_health_checks_leave_no_subscription_behind(async_client):
    """With Redis Pub/Sub each probe channel is a subscription: a load
    balancer polling every few seconds must not pile them up in a process
    that runs for weeks (one event loop, as in daphne)."""
    redis_url = require_redis()
    server = redis.asyncio.Redis.from_url(redis_url)
    try:
        for _ in range(3):
            assert (await async_client.get("/healthz")).status_code == 200
        left = await server.pubsub_channels("*healthz*")
    finally:
        await server.aclose()
        # The view's database check ran in asgiref's thread; the test client
        # does not close connections after a request, so close that one here
        # (else the test database cannot be dropped at the end of the run).
        await sync_to_async(connections.close_all)()

    assert left == []


async def test_redis_layer_carries_messages_between_independent_layers():
    """Two layer instances stand for two daphne processes: only Redis links them."""
    redis_url = require_redis()
    sender = RedisPubSubChannelLayer(hosts=[redis_url])
    receiver = RedisPubSubChannelLayer(hosts=[redis_url])
    try:
        channel = await receiver.new_channel("healthz-test.")
        await sender.send(channel, {"type": "healthz.ping", "n": 7})
        message = await asyncio.wait_for(receiver.receive(channel), timeout=5)
    finally:
        await sender.flush()
        await receiver.flush()

    assert message == {"type": "healthz.ping", "n": 7}


@pytest.mark.django_db
def test_healthz_checks_postgresql_when_database_url_is_set(client):
    require_postgres()

    response = client.get("/healthz")

    assert connection.vendor == "postgresql"
    assert response.json()["database"] is True

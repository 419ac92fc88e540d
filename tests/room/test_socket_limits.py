"""A frame's size and rate limits: refused, and the socket lives.

Each side receives its own rendering of what the other side did (ids and
``seq`` on the channel layer, HTML only from the socket that renders it for
its own side); a refused frame reaches its sender only and changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from room.models import (
    Message,
)
from tests.room.sockets import (
    TIMEOUT,
    act,
    db,
    event_count,
    quiet,
    receive,
    room,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]


# --- frame size and rate limits ------------------------------------------------


async def test_a_frame_over_64_kib_is_refused_and_nothing_is_applied(
    deal, host_cookie, guest_cookie, settings
):
    body = "x" * settings.PARLEY_WS_MAX_FRAME_BYTES
    events_before = await event_count(deal)

    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(host, "message.post", {"body": body})
        error = await host.receive_json_from(TIMEOUT)
        guest_got_nothing = await quiet(guest)

    assert error["type"] == "error"
    assert error["code"] == "too_large"
    assert guest_got_nothing
    assert await event_count(deal) == events_before
    assert not await db(Message.objects.exists)()


async def test_a_burst_beyond_the_limit_is_rate_limited_and_the_socket_stays_open(
    deal, host_cookie, settings
):
    frames = settings.PARLEY_WS_BURST + 40
    events_before = await event_count(deal)

    async with room(deal.pk, host_cookie) as (host,):
        for _ in range(frames):
            await host.send_to(text_data="[]")
        codes = [(await host.receive_json_from(TIMEOUT))["code"] for _ in range(frames)]
        # A moment later the bucket has refilled and the socket works again.
        await asyncio.sleep(2 / settings.PARLEY_WS_RATE_PER_SECOND)
        await act(host, "message.post", {"body": "Still here"})
        ack = await host.receive_json_from(TIMEOUT)
        await receive(host, "event")

    assert set(codes) == {"bad_frame", "rate_limited"}
    assert codes.count("bad_frame") >= settings.PARLEY_WS_BURST
    assert codes.count("rate_limited") >= 10
    assert ack["type"] == "ack"
    assert await event_count(deal) == events_before + 1

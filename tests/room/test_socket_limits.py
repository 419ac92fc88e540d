"""A frame's size and rate limits: refused, and the socket lives. A
participant's sockets share one action rate and number at most five; a storm
of sockets costs each socket a few presence renders.

Each side receives its own rendering of what the other side did (ids and
``seq`` on the channel layer, HTML only from the socket that renders it for
its own side); a refused frame reaches its sender only and changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from room.consumers import CLOSE_SUPERSEDED
from room.models import Message, RoomConnection
from tests.room.sockets import (
    TIMEOUT,
    act,
    closed_with,
    connect,
    db,
    event_count,
    quiet,
    receive,
    room,
    socket,
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


# --- limits per participant, whatever the number of sockets -----------------------


async def test_a_sixth_socket_of_a_participant_closes_the_oldest_with_4409(
    deal, guest_cookie, settings
):
    settings.PARLEY_SOCKETS_PER_PARTICIPANT = 5
    comms = [socket(deal.pk, guest_cookie) for _ in range(6)]
    try:
        for comm in comms[:5]:
            await connect(comm)
        frames: list = []
        await connect(comms[5])
        code = await closed_with(comms[0], frames=frames)
        # The five newest all still answer.
        for comm in comms[1:]:
            await comm.send_json_to({"action": "sync", "since": 0})
            await receive(comm, "sync")
        rows = await db(RoomConnection.objects.count)()
    finally:
        for comm in comms:
            await comm.disconnect()

    assert code == CLOSE_SUPERSEDED == 4409
    assert frames[-1]["type"] == "error"
    assert frames[-1]["code"] == "superseded"
    assert "too many windows" in frames[-1]["message"]
    assert rows == 5


async def test_the_action_rate_is_shared_by_all_of_a_participants_sockets(
    deal, guest_cookie, settings
):
    settings.PARLEY_PARTICIPANT_ACTIONS = 6
    settings.PARLEY_PARTICIPANT_ACTIONS_WINDOW = 60
    events_before = await event_count(deal)
    replies = []

    async with room(deal.pk, guest_cookie, guest_cookie) as (first, second):
        for n in range(8):
            comm = (first, second)[n % 2]
            client_msg_id = await act(comm, "message.post", {"body": f"Note {n}"})
            while True:
                frame = await comm.receive_json_from(TIMEOUT)
                if frame.get("client_msg_id") == client_msg_id:
                    replies.append(frame)
                    break

    assert [r["type"] for r in replies] == ["ack"] * 6 + ["error"] * 2
    assert {r["code"] for r in replies[6:]} == {"rate_limited"}
    assert "try again" in replies[-1]["message"]
    assert await event_count(deal) == events_before + 6


async def test_a_storm_of_sockets_costs_each_open_socket_a_few_presence_renders(
    deal, host_cookie, guest_cookie, settings
):
    settings.PARLEY_PRESENCE_COALESCE_SECONDS = 0.5
    settings.PARLEY_SOCKETS_PER_PARTICIPANT = 10
    async with room(deal.pk, host_cookie) as (host,):
        storm = [socket(deal.pk, guest_cookie) for _ in range(8)]
        await asyncio.gather(*(connect(comm) for comm in storm))
        await asyncio.gather(*(comm.disconnect() for comm in storm))
        renders = 0
        while not await host.receive_nothing(1.0):
            frame = await host.receive_json_from(TIMEOUT)
            assert frame["type"] == "presence", frame
            renders += 1
        online = await db(RoomConnection.objects.count)()

    # 16 changes (8 in, 8 out): one render at once, then one per window.
    assert 1 <= renders <= 3
    assert online == 1

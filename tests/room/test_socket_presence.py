"""Who is in the room, across sockets; and updates after a stage change.

Each side receives its own rendering of what the other side did (ids and
``seq`` on the channel layer, HTML only from the socket that renders it for
its own side); a refused frame reaches its sender only and changes nothing."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from negotiation.models import Deal
from negotiation.services.base import group_name
from room.models import RoomConnection
from room.services import invite_create, invite_revoke
from tests.room.conftest import join_as, session_cookie
from tests.room.sockets import (
    TIMEOUT,
    act,
    closed_with,
    connect,
    db,
    quiet,
    receive,
    room,
    socket,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]


# --- presence ------------------------------------------------------------------


async def test_the_host_sees_the_guest_arrive_and_leave(
    deal, host_cookie, guest_cookie
):
    async with room(deal.pk, host_cookie) as (host,):
        guest = socket(deal.pk, guest_cookie)
        try:
            await connect(guest)
            arrived = await host.receive_json_from(TIMEOUT)
        finally:
            await guest.disconnect()
        left = await host.receive_json_from(TIMEOUT)

    assert arrived["type"] == "presence"
    online = arrived["html"].split("Dana Ortiz")[0].rsplit("<li", 1)[1]
    assert 'class="online"' in online
    assert left["type"] == "presence"
    away = left["html"].split("Dana Ortiz")[0].rsplit("<li", 1)[1]
    assert 'class="offline"' in away


async def test_a_socket_renders_its_own_arrival_once(deal, host_cookie, guest_cookie):
    """The announcement of a socket's own join can reach it once it listens
    (the broadcast leaves at commit, without waiting): it has rendered its
    arrival itself, so it renders nothing for it; the others do."""
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        guest_channel = await db(
            lambda: RoomConnection.objects.get(participant__party__side="counterpart")
        )()
        await get_channel_layer().group_send(
            group_name(deal.pk),
            {"type": "presence.changed", "joined": guest_channel.channel_name},
        )
        host_frame = await host.receive_json_from(TIMEOUT)
        guest_quiet = await quiet(guest)

    assert host_frame["type"] == "presence"
    assert guest_quiet


async def test_revoking_one_guest_leaves_another_guest_of_the_side_in_the_room(
    deal, host_access, host_cookie, guest_cookie
):
    """Revoking one guest's link leaves another guest of the same side alone."""
    second_invite, token = await db(invite_create)(access=host_access, label="Sam")
    second_client = Client()
    await db(join_as)(second_client, token, "Sam Lee")

    async with room(
        deal.pk, host_cookie, guest_cookie, session_cookie(second_client)
    ) as (_host, first, second):
        await db(invite_revoke)(access=host_access, invite_id=second_invite.pk)
        code = await closed_with(second)
        await act(first, "message.post", {"body": "I am still here"})
        ack = await receive(first, "ack")

    assert code == 4403
    assert ack["type"] == "ack"


async def test_updates_after_a_stage_change_render_the_new_stage(
    deal, issue_ids, host_cookie, guest_cookie
):
    """A socket reuses its checked access for cheap updates (a trade, a
    message); after the stage moved, those updates must still be rendered for
    the new stage, where the trade can be answered."""
    await db(Deal.objects.filter(pk=deal.pk).update)(stage=Deal.Stage.FIRST_MOVE)
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(host, "stage.propose", {"to_stage": "midgame"})
        await receive(host, "ack")
        change = await db(lambda: deal.stage_changes.get())()
        await act(
            guest,
            "stage.respond",
            {"change_id": change.pk, "accept": "yes", "confirm": "on"},
        )
        await receive(guest, "ack")
        await act(
            guest,
            "trade.propose",
            {
                "give_issue_id": issue_ids[0],
                "give_value": "5%",
                "ask_issue_id": issue_ids[1],
                "ask_value": "60 days",
            },
        )
        await receive(guest, "ack")
        while True:
            frame = await receive(host, "event")
            if "trade.proposed" in frame.get("kinds", []):
                break
    assert "Accept trade" in frame["html"]

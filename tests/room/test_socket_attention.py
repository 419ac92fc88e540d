"""The attention box over the socket, the visit a closing socket records,
and a guest leaving the room on their browser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from room.models import RoomVisit
from tests.room.conftest import at_stage
from tests.room.sockets import TIMEOUT, act, closed_with, db, last_seq, receive, room

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]


async def test_a_trade_renders_the_other_sides_box_over_its_socket(
    deal, issue_ids, host_cookie, guest_cookie
):
    await db(at_stage)(deal, "midgame")
    price, terms = issue_ids
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            host,
            "trade.propose",
            {
                "give_issue_id": price,
                "give_value": "5% off",
                "ask_issue_id": terms,
                "ask_value": "30 days sooner",
            },
        )
        await receive(host, "ack")
        own = await receive(host, "event")
        theirs = await receive(guest, "event")

    assert 'id="room-attention"' not in own["html"]
    box = theirs["html"].split('<section id="room-attention"')[1].split("</section>")[0]
    assert 'hx-swap-oob="true"' in box
    assert 'data-count="1"' in box
    assert "Answer their trade" in box


async def test_a_closing_socket_records_what_it_showed(
    deal, guest, host_cookie, guest_cookie, host_access
):
    _, participant = guest
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest_socket):
        await act(host, "message.post", {"body": "Shall we start?"})
        await receive(guest_socket, "event")
        shown = await last_seq(deal)
    # The room() block disconnected both; the host's presence frame is gone.

    visit = await db(RoomVisit.objects.get)(participant=participant)
    assert visit.seen_seq == shown


async def test_leaving_on_this_browser_closes_the_guests_open_socket(
    deal, guest, guest_cookie
):
    guest_client, _ = guest
    async with room(deal.pk, guest_cookie) as (guest_socket,):
        response = await db(guest_client.post)(reverse("live:leave", args=[deal.pk]))
        assert response.status_code == 200
        assert await closed_with(guest_socket, timeout=TIMEOUT) == 4403

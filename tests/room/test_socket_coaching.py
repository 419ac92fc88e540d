"""The coach runs after the sender heard back: its ack and update never wait
for the detectors, and a failing detector leaves the action standing."""

from __future__ import annotations

import threading

import pytest

from negotiation.models import DealEvent
from room import consumers
from room.models import Trade
from tests.room.sockets import act, db, receive, room

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]


def trade_data(issue_ids: tuple[int, int]) -> dict:
    give, ask = issue_ids
    return {
        "give_issue_id": give,
        "give_value": "60 days",
        "ask_issue_id": ask,
        "ask_value": "10% more volume",
    }


async def test_the_ack_does_not_wait_for_the_detectors(
    midgame, issue_ids, host_cookie, guest_cookie, monkeypatch
):
    released = threading.Event()
    coached = []

    def detectors(events, **kwargs):
        # Blocks until the test has its ack: a consumer that coached before
        # acknowledging would never send it, and the test would time out.
        assert released.wait(5), "the detectors ran before the ack"
        coached.extend(event.kind for event in events)

    monkeypatch.setattr(consumers, "run_detectors", detectors)
    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        client_msg_id = await act(host, "trade.propose", trade_data(issue_ids))
        ack = await receive(host, "ack")
        released.set()
        await receive(guest, "event")

    assert ack["client_msg_id"] == client_msg_id
    assert coached == ["trade.proposed"]


async def test_a_failing_detector_leaves_the_action_standing(
    midgame, issue_ids, host_cookie, guest_cookie, monkeypatch
):
    def detectors(events, **kwargs):
        raise RuntimeError("detector bug")

    monkeypatch.setattr(consumers, "run_detectors", detectors)
    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        await act(host, "trade.propose", trade_data(issue_ids))
        ack = await receive(host, "ack")
        event = await receive(guest, "event")
        # The socket lives on: the next action goes through too.
        await act(host, "message.post", {"body": "Still here."})
        second = await receive(host, "ack")

    assert await db(Trade.objects.count)() == 1
    assert event["seq"] == ack["seq"]
    assert second["seq"] == ack["seq"] + 1
    assert (
        await db(DealEvent.objects.filter(deal=midgame, kind="trade.proposed").count)()
        == 1
    )

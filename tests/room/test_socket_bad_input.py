"""Bad input never crashes the socket: a broken character, a NUL, an
over-long id or a value of the wrong type in any field of a frame gets a
clear error frame, the socket stays usable, and nothing is written. A reused
``client_msg_id`` carrying another action is refused, not dropped. Over HTTP,
a NUL anywhere in a query string or a form is a 400, never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from negotiation.models import Deal
from room.models import Message
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

LONE_SURROGATE = "\\ud83d"  # as JSON text: half of an emoji's UTF-16 pair

# Frames a hostile or broken client might send, as the raw text of the frame.
BAD_FRAMES = {
    "surrogate in a text": (
        '{"action": "message.post", "client_msg_id": "s1",'
        f' "data": {{"body": "Hello {LONE_SURROGATE}"}}}}'
    ),
    "surrogate in a field name": (
        '{"action": "message.post", "client_msg_id": "s2",'
        f' "data": {{"body": "Hi", "x{LONE_SURROGATE}": "1"}}}}'
    ),
    "surrogate in the message id": (
        f'{{"action": "message.post", "client_msg_id": "s{LONE_SURROGATE}",'
        ' "data": {"body": "Hi"}}'
    ),
    "surrogate in the action": (
        f'{{"action": "message.post{LONE_SURROGATE}", "client_msg_id": "s3",'
        ' "data": {"body": "Hi"}}'
    ),
    "NUL in the message id": json.dumps(
        {"action": "message.post", "client_msg_id": "n\x001", "data": {"body": "x"}}
    ),
    "NUL in a text": json.dumps(
        {"action": "message.post", "client_msg_id": "n2", "data": {"body": "a\x00b"}}
    ),
    "over-long message id": json.dumps(
        {"action": "message.post", "client_msg_id": "x" * 65, "data": {"body": "x"}}
    ),
    "space in the message id": json.dumps(
        {"action": "message.post", "client_msg_id": "a b", "data": {"body": "x"}}
    ),
    "number as message id": json.dumps(
        {"action": "message.post", "client_msg_id": 7, "data": {"body": "x"}}
    ),
    "list as message id": json.dumps(
        {"action": "message.post", "client_msg_id": ["m"], "data": {"body": "x"}}
    ),
    "object as message id": json.dumps(
        {"action": "message.post", "client_msg_id": {}, "data": {"body": "x"}}
    ),
    "number as action": json.dumps({"action": 3, "data": {}}),
    "missing action": json.dumps({"data": {"body": "x"}}),
    "huge action name": json.dumps({"action": "x" * 20_000, "data": {}}),
    "list as data": json.dumps({"action": "message.post", "data": ["body"]}),
    "object as a field": json.dumps(
        {"action": "message.post", "client_msg_id": "o1", "data": {"body": {"a": 1}}}
    ),
    "nested list as a field": json.dumps(
        {"action": "message.post", "client_msg_id": "o2", "data": {"body": [[1]]}}
    ),
    "huge number as an id field": json.dumps(
        {
            "action": "trade.accept",
            "client_msg_id": "h1",
            "data": {"trade_id": 10**30, "version": 1, "confirm": True},
        }
    ),
    "negative version": json.dumps(
        {
            "action": "trade.accept",
            "client_msg_id": "h2",
            "data": {"trade_id": 1, "version": -(10**20), "confirm": True},
        }
    ),
    "infinite number": '{"action": "message.post", "data": {"body": Infinity}}',
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_usable(
    deal, host_cookie, guest_cookie, frame
):
    events_before = await event_count(deal)
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await host.send_to(text_data=frame)
        error = await host.receive_json_from(TIMEOUT)
        guest_got_nothing = await quiet(guest)

        # Still usable: the next good frame is applied.
        await act(host, "message.post", {"body": "Still here"}, "good-1")
        ack = await receive(host, "ack")

    assert error["type"] == "error", error
    assert error["message"]
    assert guest_got_nothing
    assert ack["client_msg_id"] == "good-1"
    assert await event_count(deal) == events_before + 1


async def test_a_broken_character_is_refused_with_a_clear_message(deal, host_cookie):
    async with room(deal.pk, host_cookie) as (host,):
        await host.send_to(text_data=BAD_FRAMES["surrogate in a text"])
        error = await host.receive_json_from(TIMEOUT)

    assert error["code"] == "bad_text"
    assert error["client_msg_id"] == "s1"
    assert not await db(Message.objects.exists)()


async def test_a_sync_with_a_nonsense_seq_gets_a_full_sync(deal, host_cookie):
    async with room(deal.pk, host_cookie) as (host,):
        for since in ("abc", [1], {"a": 1}, None, "\x00"):
            await host.send_json_to({"action": "sync", "since": since})
            frame = await host.receive_json_from(TIMEOUT)
            assert frame["type"] == "sync", frame
            assert frame["html"]


# --- a reused client_msg_id ------------------------------------------------------


async def test_a_reused_id_with_another_action_is_refused_and_changes_nothing(
    deal, host_cookie
):
    async with room(deal.pk, host_cookie) as (host,):
        await act(host, "message.post", {"body": "First use"}, "reused-1")
        await receive(host, "ack")
        events_before = await event_count(deal)
        version = (await db(Deal.objects.get)(pk=deal.pk)).version

        await act(
            host,
            "setup.update",
            {"shared_purpose": "Sneaked in", "version": version},
            "reused-1",
        )
        error = await receive(host, "error")

    assert error["code"] == "id_reused"
    assert error["client_msg_id"] == "reused-1"
    assert "new id" in error["message"]
    assert await event_count(deal) == events_before
    assert (await db(Deal.objects.get)(pk=deal.pk)).shared_purpose == ""


async def test_a_reused_id_with_the_same_action_is_acknowledged_again(
    deal, host_cookie
):
    async with room(deal.pk, host_cookie) as (host,):
        await act(host, "message.post", {"body": "Once"}, "same-1")
        first = await receive(host, "ack")
        events_before = await event_count(deal)
        # Other data, same action: still the retry of the first.
        await act(host, "message.post", {"body": "Once, edited"}, "same-1")
        again = await receive(host, "ack")

    assert again == {**first, "replayed": True}
    assert await event_count(deal) == events_before


# --- HTTP ---------------------------------------------------------------------------


def test_a_nul_in_the_signup_link_is_a_bad_request(client):
    response = client.get("/accounts/signup/?team=%00")

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_room_post_with_a_nul_is_a_bad_request_and_changes_nothing(
    deal, rep_client: Client
):
    events_before = deal.events.count()
    for data in (
        {"body": "Hello", "client_msg_id": "abc\x00"},
        {"body": "Hel\x00lo"},
        {"bo\x00dy": "Hello"},
    ):
        response = rep_client.post(f"/room/{deal.pk}/act/message.post/", data)
        assert response.status_code == 400, data

    assert deal.events.count() == events_before


def test_a_room_post_with_a_malformed_message_id_is_refused(deal, rep_client):
    response = rep_client.post(
        f"/room/{deal.pk}/act/message.post/", {"body": "Hi", "client_msg_id": "a b"}
    )

    assert response.status_code == 422
    assert "message id" in response.content.decode()

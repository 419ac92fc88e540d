"""The room's websocket protocol: hello, ack and the other side's event;
refused frames; replays and stale versions; catching up after a gap.

Each side receives its own rendering of what the other side did (ids and
``seq`` on the channel layer, HTML only from the socket that renders it for
its own side); a refused frame reaches its sender only and changes nothing."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from channels.db import DatabaseSyncToAsync, database_sync_to_async

from negotiation.access import (
    DealAccess,
)
from negotiation.models import Deal, Party, Preparation, Scoring
from negotiation.services.base import delivered_by
from room import services
from room.consumers import RoomConsumer
from room.models import (
    Commitment,
    Message,
    SharedPosition,
    Trade,
)
from tests.room.sockets import (
    TIMEOUT,
    act,
    connect,
    db,
    event_count,
    last_seq,
    quiet,
    receive,
    refused,
    room,
    socket,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]


# --- hello, ack, and the other side's event ------------------------------------


async def test_hello_carries_the_current_seq_and_the_viewers_side(
    deal, host_cookie, guest_cookie
):
    seq = await last_seq(deal)
    host, guest = socket(deal.pk, host_cookie), socket(deal.pk, guest_cookie)
    try:
        host_hello = await connect(host)
        guest_hello = await connect(guest)
    finally:
        await host.disconnect()
        await guest.disconnect()

    assert seq > 0  # the deal was created and the guest joined: two events
    assert host_hello == {"type": "hello", "seq": seq, "side": "host"}
    assert guest_hello == {"type": "hello", "seq": seq, "side": "counterpart"}


async def test_a_connect_takes_one_trip_to_the_database_thread(deal, guest_cookie):
    """The session, the user, the access, the seq and the presence row are
    read and written in one trip (``RoomConsumer._open``): a killed server's
    sockets, coming back all at once, each queue once for the database
    thread. Then the socket renders its own arrival in the room."""
    trips: list[str] = []
    call = DatabaseSyncToAsync.__call__

    async def recorded(self, *args, **kwargs):
        trips.append(self.func.__name__)
        return await call(self, *args, **kwargs)

    guest = socket(deal.pk, guest_cookie)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(DatabaseSyncToAsync, "__call__", recorded)
            await connect(guest)
            presence = await guest.receive_json_from(TIMEOUT)
    finally:
        await guest.disconnect()

    assert trips == ["_open", "_render"]
    assert presence["type"] == "presence"


async def test_an_event_written_while_a_socket_opens_reaches_it(
    deal, host_access, host_cookie, guest_cookie
):
    """The seq a socket says hello with is read before it listens to the
    deal's group. An event committed in between reaches it anyway: as its
    broadcast, if that leaves after the socket listens, or else with the next
    event, read from the log."""
    opened = RoomConsumer.__dict__["_open"].func  # the function database_work wraps

    def open_then_the_host_posts(consumer):
        seq = opened(consumer)
        services.message_post(access=host_access, body="Posted while you connected")
        return seq

    before = await last_seq(deal)
    async with room(deal.pk, host_cookie) as (host,):
        guest = socket(deal.pk, guest_cookie)
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(
                    RoomConsumer,
                    "_open",
                    database_sync_to_async(open_then_the_host_posts),
                )
                hello = await connect(guest)
            await act(host, "message.post", {"body": "And this one after"})
            events = [await receive(guest, "event")]
            while events[-1]["seq"] < before + 2:
                events.append(await receive(guest, "event"))
        finally:
            await guest.disconnect()

    assert hello["seq"] == before  # it said hello without the host's post
    assert events[-1]["seq"] == await last_seq(deal) == before + 2
    assert [kind for event in events for kind in event["kinds"]] == [
        "message.posted",
        "message.posted",
    ]
    html = "".join(event["html"] for event in events)
    assert html.index("Posted while you connected") < html.index("And this one after")


async def test_an_action_is_acked_to_its_sender_and_rendered_for_the_other_side(
    deal, host_cookie, guest_cookie
):
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        client_msg_id = await act(
            host, "message.post", {"body": "Could we phase the rollout by region?"}
        )
        ack = await host.receive_json_from(TIMEOUT)
        event = await receive(guest, "event")
        own_event = await receive(host, "event")

    seq = await last_seq(deal)
    assert ack == {"type": "ack", "client_msg_id": client_msg_id, "seq": seq}
    assert event["seq"] == seq
    assert "Could we phase the rollout by region?" in event["html"]
    # A new message is appended to the thread, not the whole thread re-sent.
    assert 'hx-swap-oob="beforeend:#messages-list"' in event["html"]
    assert 'id="region-discussion"' not in event["html"]
    assert "wrote in the discussion" in event["announce"]
    # The sender's own socket is brought up to date too, without announcing
    # its own action to itself.
    assert own_event["seq"] == seq
    assert "Could we phase the rollout by region?" in own_event["html"]
    assert own_event["announce"] == ""
    message = await db(Message.objects.select_related("author__party").get)()
    assert message.author.party.side == Party.Side.HOST


# --- refused frames: an error to the sender, nothing to anyone else ------------


REFUSED_FRAMES = {
    "invalid form": (
        json.dumps({"action": "message.post", "data": {"body": ""}}),
        "invalid",
    ),
    "wrong stage": (
        json.dumps(
            {
                "action": "trade.propose",
                "data": {
                    "give_issue_id": "ISSUE0",
                    "give_value": "60 days",
                    "ask_issue_id": "ISSUE1",
                    "ask_value": "3 years",
                },
            }
        ),
        "wrong_stage",
    ),
    "unknown action": (
        json.dumps({"action": "deal.delete", "data": {}}),
        "unknown_action",
    ),
    "malformed JSON": ('{"action": "message.post", "data": {', "bad_frame"),
    "non-object JSON": ('["message.post", {"body": "hi"}]', "bad_frame"),
    "data not an object": (
        json.dumps({"action": "message.post", "data": ["hi"]}),
        "bad_frame",
    ),
    "action not a string": (json.dumps({"action": 7, "data": {}}), "bad_frame"),
    "deeply nested JSON": ("[" * 60_000, "bad_frame"),
    "object as a field value": (
        json.dumps({"action": "message.post", "data": {"body": {"text": "hi"}}}),
        "bad_frame",
    ),
    "overlong message id": (
        json.dumps(
            {
                "action": "message.post",
                "client_msg_id": "x" * 65,
                "data": {"body": "Would apply"},
            }
        ),
        "bad_frame",
    ),
}


@pytest.mark.parametrize(
    ("frame", "code"), list(REFUSED_FRAMES.values()), ids=list(REFUSED_FRAMES)
)
async def test_a_refused_frame_reaches_its_sender_only_and_changes_nothing(
    deal, issue_ids, host_cookie, guest_cookie, frame, code
):
    frame = frame.replace('"ISSUE0"', str(issue_ids[0]))
    frame = frame.replace('"ISSUE1"', str(issue_ids[1]))
    events_before = await event_count(deal)

    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await host.send_to(text_data=frame)
        error = await host.receive_json_from(TIMEOUT)
        nothing_else = await quiet(guest, host)

    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    assert 'id="room-notice"' in error["html"]
    assert nothing_else  # the guest got nothing, the host nothing more
    assert await event_count(deal) == events_before
    assert not await db(Message.objects.exists)()
    assert not await db(Trade.objects.exists)()


async def test_form_errors_name_the_field(deal, host_cookie):
    async with room(deal.pk, host_cookie) as (host,):
        error = await refused(host, "message.post", {"body": "   "})

    assert error["code"] == "invalid"
    assert list(error["errors"]) == ["body"]


@pytest.mark.parametrize(
    ("due_date", "code"),
    [(20270101, "invalid"), ({"y": 2027}, "bad_frame"), ([["2027"]], "bad_frame")],
    ids=["number", "object", "nested list"],
)
async def test_a_value_of_the_wrong_json_type_is_refused_and_the_socket_lives(
    deal, host_cookie, due_date, code
):
    await db(Deal.objects.filter(pk=deal.pk).update)(stage=Deal.Stage.CLOSE)

    async with room(deal.pk, host_cookie) as (host,):
        error = await refused(
            host,
            "commitment.add",
            {
                "owner_side": "host",
                "owner_name": "Robin",
                "description": "Go live",
                "due_date": due_date,
            },
        )
        # The socket still works afterwards.
        await host.send_json_to({"action": "sync", "since": 0})
        sync = await host.receive_json_from(TIMEOUT)

    assert error["code"] == code
    if code == "invalid":
        assert list(error["errors"]) == ["due_date"]
    assert sync["type"] == "sync"
    assert not await db(Commitment.objects.exists)()


@pytest.mark.parametrize("since", ["Infinity", "NaN", '"12"', "null", "[]"])
async def test_a_sync_with_an_odd_since_is_still_answered(deal, host_cookie, since):
    async with room(deal.pk, host_cookie) as (host,):
        await host.send_to(text_data=f'{{"action": "sync", "since": {since}}}')
        sync = await host.receive_json_from(TIMEOUT)

    assert sync["type"] == "sync"
    assert sync["seq"] == await last_seq(deal)


async def test_each_socket_renders_its_own_sides_view(
    midgame, host_cookie, guest_cookie
):
    """Private valuations reach the socket of the side that owns them only."""
    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            host,
            "concession.add",
            {
                "item": "Onboarding",
                "we_give": "Two free workshops",
                "we_get": "A public case study",
                "value_to_us": "7741.00",
                "value_to_them": "9923.00",
            },
        )
        await receive(host, "ack")
        host_event = await receive(host, "event")
        guest_event = await receive(guest, "event")

    assert "Two free workshops" in host_event["html"]
    assert "Two free workshops" in guest_event["html"]
    assert "7741" in host_event["html"]
    assert "9923" in host_event["html"]
    assert "7741" not in guest_event["html"]
    assert "9923" not in guest_event["html"]
    assert "not shared" in guest_event["html"]


async def test_repeated_fields_arrive_as_lists_like_a_posted_form(
    deal, issue_ids, host_cookie, guest_cookie
):
    """The browser sends ``ranking`` and ``share`` as JSON lists (one item or
    more): the socket reads them as the HTTP form would."""
    await db(Deal.objects.filter(pk=deal.pk).update)(stage=Deal.Stage.FIRST_MOVE)
    price, terms = issue_ids

    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            guest,
            "position.update",
            {
                "version": "",
                "interests": "Predictable cash flow",
                "ranking": [str(terms), str(price)],
                "share": [f"{price}:can_give"],
            },
        )
        first = await guest.receive_json_from(TIMEOUT)
        await receive(host, "event")
        position = await db(SharedPosition.objects.get)()
        await act(
            guest,
            "position.update",
            {"version": position.version, "ranking": [str(price)], "share": []},
        )
        second = await receive(guest, "ack")

    assert first["type"] == second["type"] == "ack"
    assert position.ranking == [terms, price]
    assert position.shared_matrix == {str(price): ["can_give"]}
    position = await db(SharedPosition.objects.get)()
    assert position.ranking == [price]
    assert position.shared_matrix == {}


# --- replays and stale versions ------------------------------------------------


async def test_a_replayed_client_msg_id_is_applied_once(
    deal, host_cookie, guest_cookie
):
    events_before = await event_count(deal)
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(host, "message.post", {"body": "Only once"}, "msg-1")
        first = await host.receive_json_from(TIMEOUT)
        await receive(guest, "event")
        await receive(host, "event")

        await act(host, "message.post", {"body": "Only once"}, "msg-1")
        second = await host.receive_json_from(TIMEOUT)
        guest_got_nothing = await quiet(guest)

    assert first == {"type": "ack", "client_msg_id": "msg-1", "seq": first["seq"]}
    assert second == {
        "type": "ack",
        "client_msg_id": "msg-1",
        "seq": first["seq"],
        "replayed": True,
    }
    assert guest_got_nothing
    assert await event_count(deal) == events_before + 1
    assert await db(Message.objects.filter(body="Only once").count)() == 1


async def test_an_edit_resent_on_a_new_socket_after_its_ack_was_lost_applies_once(
    deal, host_cookie, guest_cookie
):
    """The socket drops before the ack arrives; room.js sends the same
    unchanged form again, with the same id, on the socket that replaces it."""
    events_before = await event_count(deal)
    frame = {"body": "Sent as the line dropped"}
    async with room(deal.pk, guest_cookie) as (guest,):
        dropped = socket(deal.pk, host_cookie)
        await connect(dropped)
        await act(dropped, "message.post", frame, "lost-ack-1")
        # The edit is applied (the guest sees it); the ack never gets read.
        first_event = await receive(guest, "event")
        await dropped.disconnect()

        again = socket(deal.pk, host_cookie)
        try:
            await connect(again)
            await act(again, "message.post", frame, "lost-ack-1")
            reply = await receive(again, "ack")
            sender_got_nothing_more = await again.receive_nothing(0.3)
        finally:
            await again.disconnect()
        guest_frames = []
        while not await guest.receive_nothing(0.3):
            guest_frames.append(await guest.receive_json_from(TIMEOUT))

    assert reply == {
        "type": "ack",
        "client_msg_id": "lost-ack-1",
        "seq": first_event["seq"],
        "replayed": True,
    }
    assert sender_got_nothing_more
    assert {f["type"] for f in guest_frames} <= {"presence"}
    assert await event_count(deal) == events_before + 1
    assert await db(Message.objects.filter(body=frame["body"]).count)() == 1


async def test_a_resent_edit_is_acknowledged_though_its_first_try_moved_the_version(
    deal, host_cookie
):
    """The retry carries the version the form was loaded with, which its own
    first try made stale: it is the same edit, acknowledged, not a conflict."""
    frame = {"version": deal.version, "shared_purpose": "A renewal that pays"}
    async with room(deal.pk, host_cookie) as (host,):
        await act(host, "setup.update", frame, "setup-1")
        first = await receive(host, "ack")
        events_before = await event_count(deal)
        await act(host, "setup.update", frame, "setup-1")
        again = await receive(host, "ack")

    assert again == {**first, "replayed": True}
    assert await event_count(deal) == events_before
    stored = await db(Deal.objects.get)(pk=deal.pk)
    assert stored.version == deal.version + 1


async def test_a_resent_message_is_acknowledged_though_the_guard_now_objects(
    deal, host_cookie
):
    """The check before the service (here the over-sharing guard, after the
    side wrote down a walk-away the message happens to match) does not turn
    the retry of an applied message into a refusal."""
    frame = {"body": "We can offer 186,500 for the three-year term."}
    async with room(deal.pk, host_cookie) as (host,):
        await act(host, "message.post", frame, "guarded-1")
        first = await receive(host, "ack")
        await db(
            Preparation.objects.filter(
                party__deal=deal, party__side=Party.Side.HOST
            ).update
        )(reservation_value=Decimal("186500"))
        events_before = await event_count(deal)
        await act(host, "message.post", frame, "guarded-1")
        again = await receive(host, "ack")
        # A new message with the same words is held back, as it should be.
        held = await refused(host, "message.post", frame)

    assert again == {**first, "replayed": True}
    assert held["code"] == "over_sharing"
    assert await event_count(deal) == events_before
    assert await db(Message.objects.filter(body=frame["body"]).count)() == 1


async def test_an_edit_on_a_stale_version_is_refused_and_the_first_one_stays(
    deal, host_cookie, guest_cookie
):
    version = deal.version
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            host,
            "setup.update",
            {"version": version, "shared_purpose": "Wording of the host"},
        )
        assert (await host.receive_json_from(TIMEOUT))["type"] == "ack"
        await receive(guest, "event")

        error = await refused(
            guest,
            "setup.update",
            {"version": version, "shared_purpose": "Wording of the guest"},
        )
        host_got_only_its_event = await receive(host, "event")
        host_got_nothing = await quiet(host)

    assert error["code"] == "stale_version"
    assert "newer version" in error["message"]
    assert "Wording of the host" in host_got_only_its_event["html"]
    assert host_got_nothing
    stored = await db(Deal.objects.get)(pk=deal.pk)
    assert stored.shared_purpose == "Wording of the host"
    assert stored.version == version + 1


# --- reconnect and catch-up ----------------------------------------------------


async def test_a_reconnecting_guest_catches_up_with_what_it_missed(
    deal, host_access, host_cookie, guest_cookie
):
    guest = socket(deal.pk, guest_cookie)
    old_seq = (await connect(guest))["seq"]
    await guest.disconnect()

    async with room(deal.pk, host_cookie) as (host,):
        await act(host, "message.post", {"body": "First change: a question"})
        await act(host, "message.post", {"body": "Second change: a note"})
        await act(
            host,
            "setup.update",
            {"version": deal.version, "shared_purpose": "Third change: our goal"},
        )
        acks = [await receive(host, "ack") for _ in range(3)]

    seq = await last_seq(deal)
    async with room(deal.pk, guest_cookie) as (guest,):
        await guest.send_json_to({"action": "sync", "since": old_seq})
        behind = await receive(guest, "sync")
        await guest.send_json_to({"action": "sync", "since": seq})
        current = await receive(guest, "sync")

    assert seq == old_seq + 3
    assert [ack["seq"] for ack in acks] == [old_seq + 1, old_seq + 2, old_seq + 3]
    assert behind["seq"] == seq
    for change in ("First change: a question", "Second change: a note"):
        assert change in behind["html"]
    assert "Third change: our goal" in behind["html"]
    # Up to date: who is here and the coach, which change with no event.
    assert current["seq"] == seq
    assert regions_in(current["html"]) == {"region-presence", "region-coach"}


def regions_in(html: str) -> set[str]:
    """The ids of the regions a frame replaces whole."""
    return set(re.findall(r'id="(region-[a-z]+)"', html))


async def test_a_catch_up_a_few_events_behind_brings_what_they_touched_only(
    deal, host_cookie, guest_cookie
):
    """A socket back after a short drop costs what it missed, not a render of
    the whole room."""
    since = await last_seq(deal)
    async with room(deal.pk, host_cookie) as (host,):
        await act(host, "message.post", {"body": "While you were out"})
        await receive(host, "ack")
    async with room(deal.pk, guest_cookie) as (guest,):
        await guest.send_json_to({"action": "sync", "since": since})
        caught_up = await receive(guest, "sync")

    assert caught_up["seq"] == since + 1
    assert "While you were out" in caught_up["html"]
    assert "region-terms" not in regions_in(caught_up["html"])
    assert "region-trades" not in regions_in(caught_up["html"])
    assert {"region-presence", "region-coach"} <= regions_in(caught_up["html"])


WHOLE_ROOM = {"region-terms", "region-trades", "region-stagebar", "region-setup"}


async def test_a_catch_up_from_nowhere_or_far_behind_is_the_whole_room(
    deal, host_cookie, monkeypatch
):
    monkeypatch.setattr("room.render.CATCH_UP_EVENTS", 2)
    since = await last_seq(deal)
    async with room(deal.pk, host_cookie) as (host,):
        for n in range(2):
            await act(host, "message.post", {"body": f"Note {n}"})
            await receive(host, "ack")
        frames = []
        for behind in (-1, since, since + 1, since + 99):
            await host.send_json_to({"action": "sync", "since": behind})
            frames.append(await receive(host, "sync"))

    unknown, far_behind, near, ahead = frames
    assert regions_in(unknown["html"]) >= WHOLE_ROOM
    assert regions_in(far_behind["html"]) >= WHOLE_ROOM
    assert not WHOLE_ROOM & regions_in(near["html"])
    assert "Note 1" in near["html"]
    assert "Note 0" not in near["html"]
    # A client that claims events the log does not have gets the room as it is.
    assert regions_in(ahead["html"]) >= WHOLE_ROOM
    assert {f["seq"] for f in frames} == {since + 2}


async def test_a_catch_up_after_a_new_scoring_brings_the_scores_again(
    deal, host_access, host_cookie
):
    """A new scoring is no event: a socket that was away when it came renders
    every package with it."""
    since = await last_seq(deal)
    async with room(deal.pk, host_cookie) as (host,):
        await host.send_json_to({"action": "sync", "since": since})
        before = await receive(host, "sync")
        await db(Scoring.objects.create)(party=host_access.party, reservation_score=60)
        await host.send_json_to({"action": "sync", "since": since})
        after = await receive(host, "sync")

    assert since > 0
    assert not WHOLE_ROOM & regions_in(before["html"])
    assert regions_in(after["html"]) >= WHOLE_ROOM


@db
def post_unannounced(access: DealAccess, body: str) -> None:
    """Post a message whose broadcast is lost on its way, as if the channel
    layer dropped it."""
    with delivered_by(lambda group, message: None):
        services.message_post(access=access, body=body)


async def test_a_socket_that_missed_an_event_gets_it_with_the_next_one(
    deal, host_access, host_cookie, guest_cookie
):
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await post_unannounced(host_access, "Lost on its way")
        quiet_after_the_loss = await quiet(host, guest)
        await act(host, "message.post", {"body": "Arrived"})
        await receive(host, "ack")
        own_event = await receive(host, "event")
        event = await receive(guest, "event")

    seq = await last_seq(deal)
    assert quiet_after_the_loss
    for frame in (event, own_event):
        assert frame["seq"] == seq
        assert frame["kinds"] == ["message.posted", "message.posted"]
        assert frame["html"].index("Lost on its way") < frame["html"].index("Arrived")


async def test_a_lost_last_event_arrives_with_the_next_heartbeat(
    deal, host_access, host_cookie, guest_cookie
):
    async with room(deal.pk, host_cookie, guest_cookie) as (_host, guest):
        await post_unannounced(host_access, "Nothing came after this one")
        quiet_after_the_loss = await quiet(guest)
        await guest.send_json_to({"action": "ping"})
        event = await receive(guest, "event")
        await guest.send_json_to({"action": "ping"})
        up_to_date_ping_is_silent = await quiet(guest)

    assert quiet_after_the_loss
    assert event["seq"] == await last_seq(deal)
    assert "Nothing came after this one" in event["html"]
    assert up_to_date_ping_is_silent

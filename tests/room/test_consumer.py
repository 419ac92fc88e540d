"""The room's websocket: every frame is authorized again, a refused frame
reaches its sender only and changes nothing, and each side receives its own
rendering of what the other side did (ids and ``seq`` on the channel layer,
HTML only from the socket that renders it for its own side)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from config.asgi import application
from negotiation.access import (
    GUESTS_SESSION_KEY,
    DealAccess,
    deal_access_for_user,
    room_access,
)
from negotiation.models import Deal, DealEvent, Participant, Party
from negotiation.services.base import delivered_by
from room import services
from room.models import (
    Commitment,
    Concession,
    Message,
    SharedPosition,
    StageChange,
    Trade,
)
from room.services import invite_create, invite_revoke
from tests.factories import make_deal
from tests.room.conftest import join_as, session_cookie

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]

TIMEOUT = 2  # seconds: the longest any test waits for a frame
QUIET = 0.2  # how long "the other side got nothing" listens
ORIGIN = b"http://127.0.0.1"

db = database_sync_to_async


# --- fixtures -----------------------------------------------------------------


@pytest.fixture
def guest_access(deal, guest) -> DealAccess:
    return access_of_guest(deal, guest[1])


@pytest.fixture
def midgame(deal) -> Deal:
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
    deal.refresh_from_db()
    return deal


@pytest.fixture
def issue_ids(deal) -> tuple[int, int]:
    price, terms = deal.issues.order_by("position")
    return price.pk, terms.pk


def access_of_guest(deal: Deal, participant) -> DealAccess:
    session = {GUESTS_SESSION_KEY: {str(deal.pk): participant.pk}}
    return room_access(AnonymousUser(), session, deal.pk)


# --- sockets ------------------------------------------------------------------


def socket(
    deal_id: int, cookie: str | None = None, origin: bytes = ORIGIN
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/room/{deal_id}/", headers=headers)


async def receive(comm: WebsocketCommunicator, frame_type: str) -> dict:
    """The next frame of ``frame_type``, skipping presence updates and events
    on the way (never an error)."""
    while True:
        frame = await comm.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == frame_type:
            return frame
        assert frame["type"] in {"presence", "event", "coach"}, frame


async def connect(comm: WebsocketCommunicator) -> dict:
    """Open the socket and return its hello frame."""
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    hello = await comm.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello", hello
    return hello


async def closed_with(
    comm: WebsocketCommunicator, timeout: float = TIMEOUT, frames: list | None = None
) -> int:
    """Wait at most ``timeout`` seconds in all for the server to close the
    socket; the frames sent before the close are collected in ``frames``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await comm.receive_output(timeout=max(deadline - loop.time(), 0))
        if output["type"] == "websocket.close":
            return output["code"]
        if frames is not None:
            frames.append(json.loads(output["text"]))


@contextlib.asynccontextmanager
async def room(
    deal_id: int, *cookies: str
) -> AsyncIterator[list[WebsocketCommunicator]]:
    """Connect one socket per cookie (each a participant), in order, and wait
    until every presence update has arrived, so each socket is quiet. Always
    disconnects."""
    comms: list[WebsocketCommunicator] = []
    try:
        for cookie in cookies:
            comm = socket(deal_id, cookie)
            comms.append(comm)
            await connect(comm)
            # Everyone already in the room, the newcomer included, sees it.
            for present in comms:
                assert (await present.receive_json_from(TIMEOUT))["type"] == "presence"
        yield comms
    finally:
        for comm in comms:
            await comm.disconnect()


async def act(
    comm: WebsocketCommunicator, action: str, data: dict, client_msg_id: str = ""
) -> str:
    client_msg_id = client_msg_id or uuid.uuid4().hex
    await comm.send_json_to(
        {"action": action, "client_msg_id": client_msg_id, "data": data}
    )
    return client_msg_id


async def refused(comm: WebsocketCommunicator, action: str, data: dict) -> dict:
    """Send an action that must be refused; return the sender's error frame."""
    client_msg_id = await act(comm, action, data)
    frame = await comm.receive_json_from(TIMEOUT)
    assert frame["type"] == "error", frame
    assert frame["client_msg_id"] == client_msg_id
    return frame


async def quiet(*comms: WebsocketCommunicator) -> bool:
    """True if none of the sockets receives anything for a while."""
    results = await asyncio.gather(*(comm.receive_nothing(QUIET) for comm in comms))
    return all(results)


@db
def event_count(deal: Deal) -> int:
    return DealEvent.objects.filter(deal=deal).count()


@db
def last_seq(deal: Deal) -> int:
    return Deal.objects.get(pk=deal.pk).last_seq


# --- hello, ack, and the other side's event -----------------------------------


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


# --- refused frames: an error to the sender, nothing to anyone else -----------

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
                    "give_issue": "ISSUE0",
                    "give_value": "60 days",
                    "ask_issue": "ISSUE1",
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


# --- replays and stale versions -----------------------------------------------


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


# --- the handshake ------------------------------------------------------------


async def test_a_cross_origin_handshake_is_refused(deal, host_cookie):
    comm = socket(deal.pk, host_cookie, origin=b"http://evil.example")

    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()

    assert not connected


async def test_a_handshake_without_origin_is_refused(deal, host_cookie):
    comm = WebsocketCommunicator(
        application,
        f"/ws/room/{deal.pk}/",
        headers=[
            (b"host", b"127.0.0.1"),
            (b"cookie", f"sessionid={host_cookie}".encode()),
        ],
    )

    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()

    assert not connected


async def test_an_anonymous_socket_is_closed_for_good(deal):
    comm = socket(deal.pk)

    connected, _ = await comm.connect(timeout=TIMEOUT)
    code = await closed_with(comm)
    await comm.disconnect()

    assert connected  # accepted only to be told, with a code, not to come back
    assert code == 4404


@pytest.fixture
def outsider_cookie(db) -> str:
    """A rep of another team, with a deal of their own."""
    client = Client()
    client.force_login(make_deal(title="Their own deal").owner)
    return session_cookie(client)


async def test_a_rep_of_another_team_is_closed_for_good(deal, outsider_cookie):
    comm = socket(deal.pk, outsider_cookie)

    await comm.connect(timeout=TIMEOUT)
    code = await closed_with(comm)
    await comm.disconnect()

    assert code == 4404


async def test_a_socket_for_a_deal_that_does_not_exist_is_closed_for_good(
    deal, host_cookie
):
    comm = socket(deal.pk + 1000, host_cookie)

    await comm.connect(timeout=TIMEOUT)
    code = await closed_with(comm)
    await comm.disconnect()

    assert code == 4404


# --- forged actions -----------------------------------------------------------


@pytest.fixture
def other_deal(db) -> Deal:
    """Another team's deal in Midgame, with an open trade of its host side."""
    other = make_deal(title="Someone else's deal")
    other.issues.create(name="Volume", unit="units", position=0)
    other.issues.create(name="Term", unit="years", position=1)
    Deal.objects.filter(pk=other.pk).update(stage=Deal.Stage.MIDGAME)
    access = deal_access_for_user(other.owner, other.pk)
    volume, term = other.issues.order_by("position")
    services.trade_propose(
        access=access,
        give_issue_id=volume.pk,
        give_value="+10%",
        ask_issue_id=term.pk,
        ask_value="3 years",
    )
    return other


async def test_a_guest_cannot_open_another_deals_socket(deal, other_deal, guest_cookie):
    comm = socket(other_deal.pk, guest_cookie)

    await comm.connect(timeout=TIMEOUT)
    code = await closed_with(comm)
    await comm.disconnect()

    assert code == 4404


async def test_a_guest_cannot_reach_another_deals_trade_from_its_own_room(
    midgame, other_deal, host_cookie, guest_cookie
):
    foreign = await db(Trade.objects.get)(deal=other_deal)
    events_before = await event_count(other_deal)

    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        accept = await refused(
            guest,
            "trade.accept",
            {"trade_id": foreign.pk, "version": foreign.version, "confirm": True},
        )
        decline = await refused(
            guest,
            "trade.decline",
            {"trade_id": foreign.pk, "version": foreign.version, "reason": "No"},
        )
        comment = await refused(
            guest, "message.post", {"body": "Hello there", "trade_id": foreign.pk}
        )
        host_got_nothing = await quiet(host)

    assert {accept["code"], decline["code"], comment["code"]} <= {
        "not_found",
        "invalid",
    }
    assert host_got_nothing
    foreign_now = await db(Trade.objects.get)(pk=foreign.pk)
    assert foreign_now.status == Trade.Status.OPEN
    assert foreign_now.version == foreign.version
    assert await event_count(other_deal) == events_before
    assert not await db(Message.objects.exists)()
    assert not await db(Concession.objects.exists)()


@pytest.fixture
def host_objects(midgame, host_access, issue_ids) -> dict:
    """The host side's own open trade, concession and stage proposal."""
    trade = services.trade_propose(
        access=host_access,
        give_issue_id=issue_ids[0],
        give_value="-5%",
        ask_issue_id=issue_ids[1],
        ask_value="30 days",
    )
    concession = services.concession_add(
        access=host_access, item="Onboarding", we_give="Two free workshops"
    )
    change = services.stage_change_propose(access=host_access, to_stage="close")
    return {"trade": trade, "concession": concession, "change": change}


async def test_the_guest_cannot_edit_or_withdraw_what_the_host_side_made(
    midgame, host_objects, host_cookie, guest_cookie
):
    trade, concession, change = host_objects.values()
    events_before = await event_count(midgame)

    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        errors = [
            await refused(
                guest,
                "concession.value",
                {
                    "concession_id": concession.pk,
                    "version": concession.version,
                    "value_to_us": "1",
                    "value_to_them": "99999",
                    "values_shared": True,
                },
            ),
            await refused(
                guest,
                "trade.withdraw",
                {"trade_id": trade.pk, "version": trade.version},
            ),
            await refused(guest, "stage.withdraw", {"change_id": change.pk}),
        ]
        host_got_nothing = await quiet(host)

    assert [e["code"] for e in errors] == ["forbidden"] * 3
    assert host_got_nothing
    assert await event_count(midgame) == events_before
    concession_now = await db(Concession.objects.get)(pk=concession.pk)
    assert concession_now.value_to_them is None
    assert not concession_now.values_shared
    assert (await db(Trade.objects.get)(pk=trade.pk)).status == Trade.Status.OPEN
    change_now = await db(StageChange.objects.get)(pk=change.pk)
    assert change_now.status == StageChange.Status.PENDING


async def test_the_guest_cannot_accept_its_own_trade(
    midgame, issue_ids, guest_access, host_cookie, guest_cookie
):
    trade = await db(services.trade_propose)(
        access=guest_access,
        give_issue_id=issue_ids[1],
        give_value="45 days",
        ask_issue_id=issue_ids[0],
        ask_value="-3%",
    )
    events_before = await event_count(midgame)

    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        error = await refused(
            guest,
            "trade.accept",
            {"trade_id": trade.pk, "version": trade.version, "confirm": True},
        )
        host_got_nothing = await quiet(host)

    assert error["code"] == "forbidden"
    assert host_got_nothing
    assert await event_count(midgame) == events_before
    assert (await db(Trade.objects.get)(pk=trade.pk)).status == Trade.Status.OPEN
    assert not await db(Concession.objects.exists)()


async def test_a_binding_action_without_confirm_is_refused_and_changes_nothing(
    midgame, host_objects, host_cookie, guest_cookie
):
    trade = host_objects["trade"]
    events_before = await event_count(midgame)

    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        missing = await refused(
            guest, "trade.accept", {"trade_id": trade.pk, "version": trade.version}
        )
        unticked = await refused(
            guest,
            "trade.accept",
            {"trade_id": trade.pk, "version": trade.version, "confirm": False},
        )
        host_got_nothing = await quiet(host)

    assert missing["code"] == unticked["code"] == "invalid"
    assert "confirm" in missing["errors"]
    assert host_got_nothing
    assert await event_count(midgame) == events_before
    assert (await db(Trade.objects.get)(pk=trade.pk)).status == Trade.Status.OPEN
    assert not await db(Concession.objects.filter(trade=trade).exists)()


async def test_a_guests_commitment_confirmation_only_confirms_its_own_side(
    deal, host_cookie, guest_cookie
):
    await db(Deal.objects.filter(pk=deal.pk).update)(stage=Deal.Stage.CLOSE)
    commitment = await db(Commitment.objects.create)(
        deal=deal,
        owner_party=await db(deal.parties.get)(side=Party.Side.HOST),
        owner_name="Robin",
        description="Dashboards live in every store",
    )

    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            guest,
            "commitment.confirm",
            {
                "commitment_id": commitment.pk,
                "version": commitment.version,
                "confirm": True,
            },
        )
        ack = await guest.receive_json_from(TIMEOUT)
        event = await receive(host, "event")

    assert ack["type"] == "ack"
    assert "confirmed a commitment" in event["announce"]
    stored = await db(Commitment.objects.get)(pk=commitment.pk)
    assert stored.counterpart_confirmed_at is not None
    assert stored.host_confirmed_at is None


async def test_an_action_in_the_wrong_stage_is_refused(
    deal, issue_ids, host_cookie, guest_cookie
):
    async with room(deal.pk, host_cookie, guest_cookie) as (host, guest):
        trade = await refused(
            guest,
            "trade.propose",
            {
                "give_issue": issue_ids[0],
                "give_value": "x",
                "ask_issue": issue_ids[1],
                "ask_value": "y",
            },
        )
        term = await refused(
            host, "term.set", {"issue_id": issue_ids[0], "value": "100"}
        )
        guest_got_nothing = await quiet(guest)

    assert trade["code"] == term["code"] == "wrong_stage"
    assert "Midgame" in trade["message"]
    assert guest_got_nothing
    assert not await db(Trade.objects.exists)()


async def test_a_manager_can_watch_but_every_action_is_refused(
    deal, team_manager, host_cookie
):
    client = Client()
    await db(client.force_login)(team_manager)
    events_before = await event_count(deal)

    async with room(deal.pk, host_cookie) as (host,):
        manager = socket(deal.pk, session_cookie(client))
        try:
            hello = await connect(manager)
            errors = [
                await refused(manager, "message.post", {"body": "Manager here"}),
                await refused(
                    manager,
                    "setup.update",
                    {"version": deal.version, "shared_purpose": "Managed"},
                ),
                await refused(
                    manager, "stage.propose", {"to_stage": Deal.Stage.FIRST_MOVE}
                ),
            ]
            host_got_nothing = await quiet(host)
        finally:
            await manager.disconnect()

    assert hello["side"] is None
    assert [e["code"] for e in errors] == ["forbidden"] * 3
    assert host_got_nothing
    assert await event_count(deal) == events_before
    assert (await db(Deal.objects.get)(pk=deal.pk)).shared_purpose == ""


# --- frame size and rate limits -----------------------------------------------


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


# --- revoking the guest's link ------------------------------------------------


async def test_revoking_the_guests_link_closes_its_socket_and_keeps_it_out(
    deal, host_access, invite_and_token, host_cookie, guest_cookie
):
    async with room(deal.pk, host_cookie, guest_cookie) as (_host, guest):
        await db(invite_revoke)(access=host_access, invite_id=invite_and_token[0].pk)
        frames: list[dict] = []
        code = await closed_with(guest, timeout=1, frames=frames)

        again = socket(deal.pk, guest_cookie)
        try:
            await again.connect(timeout=TIMEOUT)
            code_again = await closed_with(again)
        finally:
            await again.disconnect()

    assert code == 4403
    assert {"type": "error", "code": "revoked"}.items() <= frames[-1].items()
    assert code_again == 4404


async def test_a_revoked_guest_whose_socket_stayed_open_cannot_act(
    deal, guest, host_cookie, guest_cookie
):
    """Even if the close never reached the socket, every frame is checked."""
    guest_participant = guest[1]
    async with room(deal.pk, host_cookie, guest_cookie) as (_host, guest_socket):
        # Revoked in the database only: no close is sent to the socket.
        await db(Participant.objects.filter(pk=guest_participant.pk).update)(
            revoked_at=timezone.now()
        )
        error = await refused(guest_socket, "message.post", {"body": "Still in?"})

    assert error["code"] == "forbidden"
    assert not await db(Message.objects.exists)()


# --- reconnect and catch-up ---------------------------------------------------


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
    assert current == {"type": "sync", "seq": seq, "html": ""}


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


# --- presence -----------------------------------------------------------------


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
            {"give_issue": issue_ids[0], "give_value": "5%", "ask_issue": issue_ids[1],
             "ask_value": "60 days"},
        )  # fmt: skip
        await receive(guest, "ack")
        while True:
            frame = await receive(host, "event")
            if "trade.proposed" in frame.get("kinds", []):
                break
    assert "Accept trade" in frame["html"]

"""Every frame is authorized again: the handshake, forged actions, and a
revoked guest's socket.

Each side receives its own rendering of what the other side did (ids and
``seq`` on the channel layer, HTML only from the socket that renders it for
its own side); a refused frame reaches its sender only and changes nothing."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from config.asgi import application
from negotiation.access import (
    deal_access_for_user,
)
from negotiation.models import Deal, Participant, Party
from room import services
from room.models import (
    Commitment,
    Concession,
    Message,
    StageChange,
    Trade,
)
from room.services import invite_revoke
from tests.factories import make_deal
from tests.room.conftest import session_cookie
from tests.room.sockets import (
    TIMEOUT,
    act,
    closed_with,
    connect,
    db,
    event_count,
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


# --- the handshake -------------------------------------------------------------


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


# --- forged actions ------------------------------------------------------------


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
                "confirm_pitfall": True,  # it has no metric: confirmed anyway
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
                "give_issue_id": issue_ids[0],
                "give_value": "x",
                "ask_issue_id": issue_ids[1],
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


# --- revoking the guest's link -------------------------------------------------


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

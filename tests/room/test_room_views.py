"""The room over plain HTTP: the page each side sees, every action as a form
post (the fallback when the socket is down), and the JSON catch-up. Each side's
page holds its own view only, and costs the same number of queries whatever
the size of the negotiation."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from negotiation.models import (
    Deal,
    DealEvent,
    Participant,
    Party,
    Preparation,
    PriorityEntry,
)
from room import services
from room.models import (
    Commitment,
    Concession,
    Message,
    RoomConnection,
    SharedPosition,
    Trade,
)
from room.services.rules import set_term
from tests.factories import IssueFactory, make_deal
from tests.room.conftest import access_of_guest, at_stage

pytestmark = pytest.mark.django_db

HOST_SECRET = "HOST-ONLY-Rk4-walkaway"
GUEST_SECRET = "GUEST-ONLY-Tz8-walkaway"
HOST_SECRET_VALUE = Decimal("4417093.00")
GUEST_SECRET_VALUE = Decimal("8830261.00")


def room_url(deal: Deal) -> str:
    return reverse("live:room", args=[deal.pk])


def act_url(deal: Deal, action: str) -> str:
    return reverse("live:act", args=[deal.pk, action])


def sync_url(deal: Deal) -> str:
    return reverse("live:sync", args=[deal.pk])


def html(response) -> str:
    return response.content.decode()


# --- each side's page ---------------------------------------------------------


def test_both_sides_open_the_room_on_their_own_side(rep_client, guest_client, deal):
    host_page = rep_client.get(room_url(deal))
    guest_page = guest_client.get(room_url(deal))

    assert host_page.status_code == guest_page.status_code == 200
    assert "no-store" in host_page["Cache-Control"]
    seq = Deal.objects.get(pk=deal.pk).last_seq
    assert f'data-seq="{seq}"' in html(host_page)
    assert f'data-seq="{seq}"' in html(guest_page)
    assert 'data-side="host"' in html(host_page)
    assert 'data-side="counterpart"' in html(guest_page)
    assert "Acme renewal" in html(guest_page)


def fill_private(party: Party, secret: str, value: Decimal) -> None:
    """Every private field of ``party``'s preparation and matrix holds ``secret``."""
    Preparation.objects.filter(party=party).update(
        batna=secret,
        reservation_point=secret,
        reservation_value=value,
        target_outcome=secret,
        their_constraints=secret,
        their_decision_path=secret,
        their_pressures=secret,
        their_success=secret,
        readiness_notes=secret,
    )
    for issue in party.deal.issues.all():
        PriorityEntry.objects.create(
            party=party,
            issue=issue,
            importance=5,
            can_give=f"{secret}-give",
            want_get=f"{secret}-want",
            ideal_outcome=f"{secret}-ideal",
        )


@pytest.fixture
def private_on_both_sides(midgame, host_access, guest_access):
    """Both sides prepared and active in the room, and shared nothing private:
    positions without matrix columns, concessions with unshared valuations."""
    for access, secret, value in (
        (host_access, HOST_SECRET, HOST_SECRET_VALUE),
        (guest_access, GUEST_SECRET, GUEST_SECRET_VALUE),
    ):
        fill_private(access.party, secret, value)
        SharedPosition.objects.create(
            party=access.party,
            interests=f"Interests of the {access.side} side",
            ranking=list(midgame.issues.values_list("pk", flat=True)),
        )
        services.concession_add(
            access=access,
            item=f"Concession of the {access.side} side",
            we_give="Something",
            value_to_us=value,
            value_to_them=value + 1,
            values_shared=False,
        )
    return midgame


def test_neither_sides_page_shows_the_other_sides_private_values(
    private_on_both_sides, rep_client, guest_client
):
    deal = private_on_both_sides
    host_page = html(rep_client.get(room_url(deal)))
    guest_page = html(guest_client.get(room_url(deal)))
    host_sync = rep_client.get(sync_url(deal)).json()["html"]
    guest_sync = guest_client.get(sync_url(deal)).json()["html"]

    # Both see what was shared...
    for page in (host_page, guest_page, host_sync, guest_sync):
        assert "Interests of the host side" in page
        assert "Interests of the counterpart side" in page
        assert "Concession of the host side" in page
        assert "Concession of the counterpart side" in page
    # ...each its own valuations...
    assert "4417093" in host_page
    assert "8830261" in guest_page
    # ...and never the other side's private values.
    for page in (host_page, host_sync):
        assert "GUEST-ONLY" not in page
        assert "8830261" not in page
        assert "8830262" not in page
    for page in (guest_page, guest_sync):
        assert "HOST-ONLY" not in page
        assert "4417093" not in page
        assert "4417094" not in page


def test_a_shared_matrix_column_shows_that_column_only(
    private_on_both_sides, host_access, guest_client
):
    deal = private_on_both_sides
    price = deal.issues.get(name="Price")
    position = SharedPosition.objects.get(party=host_access.party)
    services.position_update(
        access=host_access,
        version=position.version,
        interests="Shared now",
        ranking=position.ranking,
        shared_matrix={str(price.pk): ["can_give"]},
    )

    page = html(guest_client.get(room_url(deal)))

    assert f"{HOST_SECRET}-give" in page
    assert f"{HOST_SECRET}-want" not in page
    assert f"{HOST_SECRET}-ideal" not in page
    assert page.count("HOST-ONLY") == 1


def test_user_text_is_escaped_in_the_room(deal, guest_access, rep_client):
    services.message_post(access=guest_access, body="<script>alert(1)</script>")

    page = html(rep_client.get(room_url(deal)))

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- actions over plain HTTP --------------------------------------------------


def test_a_posted_action_is_applied_and_redirects_to_its_region(rep_client, deal):
    events_before = DealEvent.objects.filter(deal=deal).count()

    response = rep_client.post(
        act_url(deal, "message.post"),
        {"client_msg_id": "form-1", "body": "Shall we start with payment terms?"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{room_url(deal)}#region-discussion"
    message = Message.objects.get()
    assert message.body == "Shall we start with payment terms?"
    assert message.author.party.side == Party.Side.HOST
    assert DealEvent.objects.filter(deal=deal).count() == events_before + 1
    assert DealEvent.objects.get(client_msg_id="form-1").kind == "message.posted"
    page = html(rep_client.get(response["Location"]))
    assert "Shall we start with payment terms?" in page


def test_the_guest_acts_over_http_too(guest_client, deal):
    response = guest_client.post(
        act_url(deal, "setup.update"),
        {"version": deal.version, "shared_purpose": "A rollout both boards back"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{room_url(deal)}#region-setup"
    assert Deal.objects.get(pk=deal.pk).shared_purpose == "A rollout both boards back"


def test_a_resubmitted_form_is_applied_once(rep_client, deal):
    form = {"client_msg_id": "form-7", "body": "Only once, please"}

    first = rep_client.post(act_url(deal, "message.post"), form)
    second = rep_client.post(act_url(deal, "message.post"), form)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Message.objects.filter(body="Only once, please").count() == 1
    assert DealEvent.objects.filter(client_msg_id="form-7").count() == 1


def test_the_trade_flow_runs_over_http(midgame, rep_client, guest_client, guest_access):
    price, terms = midgame.issues.order_by("position")
    proposed = guest_client.post(
        act_url(midgame, "trade.propose"),
        {
            "give_issue_id": terms.pk,
            "give_value": "45 days",
            "ask_issue_id": price.pk,
            "ask_value": "-8%",
        },
    )
    trade = Trade.objects.get()

    accepted = rep_client.post(
        act_url(midgame, "trade.accept"),
        {"trade_id": trade.pk, "version": trade.version, "confirm": "on"},
    )

    assert proposed.status_code == accepted.status_code == 302
    assert accepted["Location"].endswith("#region-trades")
    trade.refresh_from_db()
    assert trade.status == Trade.Status.ACCEPTED
    assert trade.party == guest_access.party
    assert Concession.objects.filter(trade=trade).count() == 2


@pytest.fixture
def host_trade(midgame, host_access) -> Trade:
    price, terms = midgame.issues.order_by("position")
    return services.trade_propose(
        access=host_access,
        give_issue_id=price.pk,
        give_value="-5%",
        ask_issue_id=terms.pk,
        ask_value="30 days",
    )


def refused_cases(deal: Deal, trade: Trade) -> dict[str, tuple]:
    """(client, action, data, status, message) for each kind of refusal."""
    return {
        "invalid form": ("host", "message.post", {"body": "  "}, 422, "required"),
        "binding without confirm": (
            "guest",
            "trade.accept",
            {"trade_id": trade.pk, "version": trade.version},
            422,
            "tick the box to confirm",
        ),
        "wrong stage": (
            "host",
            "setup.update",
            {"version": deal.version, "shared_purpose": "Late"},
            422,
            "can only be done in Setup",
        ),
        "not the owner": (
            "guest",
            "trade.withdraw",
            {"trade_id": trade.pk, "version": trade.version},
            403,
            "Only the side that made it",
        ),
        "stale version": (
            "guest",
            "trade.decline",
            {"trade_id": trade.pk, "version": trade.version + 1, "reason": "No"},
            409,
            "newer version",
        ),
        "unknown action": ("host", "deal.delete", {}, 404, "Unknown action"),
    }


CASES = (
    "invalid form",
    "binding without confirm",
    "wrong stage",
    "not the owner",
    "stale version",
    "unknown action",
)


@pytest.mark.parametrize("case", CASES)
def test_a_refused_action_re_renders_the_room_with_the_reason(
    host_trade, midgame, rep_client, guest_client, case
):
    who, action, data, status, message = refused_cases(midgame, host_trade)[case]
    client = {"host": rep_client, "guest": guest_client}[who]
    events_before = DealEvent.objects.filter(deal=midgame).count()

    response = client.post(act_url(midgame, action), data)

    assert response.status_code == status
    assert message in html(response)
    assert 'role="alert"' in html(response)
    assert 'id="region-trades"' in html(response)  # the whole room, as it stands
    assert DealEvent.objects.filter(deal=midgame).count() == events_before
    host_trade.refresh_from_db()
    assert host_trade.status == Trade.Status.OPEN
    assert host_trade.version == 1
    assert not Message.objects.exists()
    assert Deal.objects.get(pk=midgame.pk).shared_purpose == ""


def test_room_actions_need_the_csrf_token(deal, rep):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)

    response = client.post(act_url(deal, "message.post"), {"body": "Forged"})

    assert response.status_code == 403
    assert not Message.objects.exists()


def test_an_action_is_a_post(rep_client, deal):
    assert rep_client.get(act_url(deal, "message.post")).status_code == 405


# --- the JSON catch-up --------------------------------------------------------


def test_sync_returns_the_seq_and_a_fresh_render(rep_client, guest_client, deal):
    services.message_post(
        access=access_of_guest(deal, Participant.objects.get(user=None)),
        body="Written while the host was offline",
    )

    response = rep_client.get(sync_url(deal))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    payload = response.json()
    assert payload["type"] == "sync"
    assert payload["seq"] == Deal.objects.get(pk=deal.pk).last_seq
    assert "Written while the host was offline" in payload["html"]
    assert 'id="region-stagebar"' in payload["html"]
    assert 'hx-swap-oob="true"' in payload["html"]
    assert guest_client.get(sync_url(deal)).json()["seq"] == payload["seq"]


# --- outsiders ----------------------------------------------------------------


@pytest.fixture
def outsider_client(db) -> Client:
    """A rep of another team, logged in, with a deal of their own."""
    client = Client()
    client.force_login(make_deal(title="Their own deal").owner)
    return client


@pytest.mark.parametrize("visitor", ["outsider", "anonymous"])
def test_an_outsider_learns_nothing_and_changes_nothing(
    deal, outsider_client, client, visitor
):
    visitor = {"outsider": outsider_client, "anonymous": client}[visitor]
    events_before = DealEvent.objects.filter(deal=deal).count()

    page = visitor.get(room_url(deal))
    sync = visitor.get(sync_url(deal))
    post = visitor.post(act_url(deal, "message.post"), {"body": "Let me in"})

    assert page.status_code == 404
    assert "Acme renewal" not in html(page)
    assert sync.status_code == 404
    assert "html" not in sync.json()
    assert post.status_code == 404
    assert not Message.objects.exists()
    assert DealEvent.objects.filter(deal=deal).count() == events_before


def test_a_guest_of_one_deal_is_an_outsider_to_another(guest_client, rep):
    other = make_deal(owner=rep, title="Another deal of the same rep")

    assert guest_client.get(room_url(other)).status_code == 404
    assert (
        guest_client.post(act_url(other, "message.post"), {"body": "Hi"}).status_code
        == 404
    )
    assert not Message.objects.exists()


def test_a_revoked_guest_is_shut_out(deal, guest, guest_client):
    """Refused, and told their access ended (410, ``test_error_pages``)."""
    Participant.objects.filter(pk=guest[1].pk).update(revoked_at=timezone.now())

    assert guest_client.get(room_url(deal)).status_code == 410
    assert (
        guest_client.post(
            act_url(deal, "message.post"), {"body": "Still here?"}
        ).status_code
        == 410
    )
    assert not Message.objects.exists()


def test_the_team_manager_watches_read_only(deal, manager_client):
    page = manager_client.get(room_url(deal))
    post = manager_client.post(act_url(deal, "message.post"), {"body": "Manager"})

    assert page.status_code == 200
    assert "you are reviewing" in html(page)
    assert "data-action=" not in html(page)  # no forms to act with
    assert post.status_code == 403
    assert not Message.objects.exists()


# --- a constant number of queries ---------------------------------------------


def grow(deal: Deal, host_access, guest_access, *, issues: int, trades: int,
         messages: int, commitments: int) -> None:  # fmt: skip
    """Fill the room: issues, trades (each commented), messages, commitments,
    concessions, terms, a MESO set, shared positions, people online."""
    for n in range(issues - deal.issues.count()):
        IssueFactory(deal=deal, name=f"Extra issue {n}")
    all_issues = list(deal.issues.all())
    sides = (host_access, guest_access)
    for n in range(trades):
        access = sides[n % 2]
        trade = Trade.objects.create(
            deal=deal,
            party=access.party,
            proposed_by=access.participant,
            give_issue=all_issues[n % len(all_issues)],
            give_value=f"give {n}",
            ask_issue=all_issues[(n + 1) % len(all_issues)],
            ask_value=f"ask {n}",
            status=Trade.Status.OPEN if n % 3 else Trade.Status.DECLINED,
        )
        Message.objects.create(
            deal=deal, author=sides[(n + 1) % 2].participant, body=f"On {n}",
            trade=trade,
        )  # fmt: skip
        Concession.objects.create(
            deal=deal, party=access.party, created_by=access.participant,
            item=f"Item {n}", we_give="x", trade=trade,
        )  # fmt: skip
    for n in range(messages):
        Message.objects.create(
            deal=deal, author=sides[n % 2].participant, body=f"Message {n}"
        )
    for n in range(commitments):
        Commitment.objects.create(
            deal=deal,
            owner_party=sides[n % 2].party,
            owner_name=f"Owner {n}",
            description=f"Commitment {n}",
            due_date=datetime.date(2027, 1, 1) + datetime.timedelta(days=n),
            host_confirmed_at=timezone.now(),
        )
    for issue in all_issues[: len(all_issues) // 2]:
        set_term(deal, issue, f"term of {issue.pk}", host_access)
    for access in sides:
        PriorityEntry.objects.bulk_create(
            [
                PriorityEntry(party=access.party, issue=issue, importance=3,
                              can_give="g", want_get="w", ideal_outcome="i")
                for issue in all_issues
                if not issue.priorities.filter(party=access.party).exists()
            ]
        )  # fmt: skip
        SharedPosition.objects.update_or_create(
            party=access.party,
            defaults={
                "interests": "Ours",
                "ranking": [i.pk for i in all_issues],
                "shared_matrix": {str(i.pk): ["can_give"] for i in all_issues},
            },
        )
        RoomConnection.objects.get_or_create(
            channel_name=f"test.{access.participant.pk}",
            defaults={"participant": access.participant},
        )
    if not deal.meso_sets.exists():
        services.meso_present(
            access=host_access,
            packages=[
                {"name": f"P{n}", "values": {str(i.pk): str(n) for i in all_issues}}
                for n in range(3)
            ],
        )


def count_queries(client: Client, url: str) -> int:
    client.get(url)  # warm caches (session, content types) first
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("stage", [Deal.Stage.MIDGAME, Deal.Stage.CLOSE])
@pytest.mark.parametrize("side", ["host", "guest"])
def test_the_room_page_costs_the_same_queries_whatever_its_size(
    deal, host_access, guest_access, rep_client, guest_client, stage, side
):
    at_stage(deal, Deal.Stage.MIDGAME)  # a MESO set can only be presented then
    client = {"host": rep_client, "guest": guest_client}[side]
    grow(deal, host_access, guest_access, issues=2, trades=1, messages=1,
         commitments=1)  # fmt: skip
    at_stage(deal, stage)
    small = count_queries(client, room_url(deal))
    small_sync = count_queries(client, sync_url(deal))

    at_stage(deal, Deal.Stage.MIDGAME)
    grow(deal, host_access, guest_access, issues=12, trades=20, messages=30,
         commitments=5)  # fmt: skip
    at_stage(deal, stage)
    large = count_queries(client, room_url(deal))
    large_sync = count_queries(client, sync_url(deal))

    assert deal.issues.count() == 12
    assert Trade.objects.filter(deal=deal).count() == 21
    assert large == small
    assert large_sync == small_sync

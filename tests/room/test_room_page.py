"""The room page asks the read model what the viewer may do, and shows the
latest of each growing list with a way to load the earlier ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from negotiation.models import Deal
from room import services
from room.selectors import TRADES_SHOWN
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "room"


def room_page(client, deal: Deal) -> str:
    response = client.get(reverse("live:room", args=[deal.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("stage", "offered"),
    [
        (Deal.Stage.FIRST_MOVE, False),
        (Deal.Stage.MIDGAME, True),
        (Deal.Stage.CLOSE, True),
        (Deal.Stage.IMPLEMENTATION, False),
    ],
)
def test_the_term_form_shows_in_every_stage_its_service_allows(
    deal, rep_client, stage, offered
):
    at_stage(deal, stage)
    assert ('data-action="term.set"' in room_page(rep_client, deal)) is offered


@pytest.mark.parametrize(
    ("stage", "offered"),
    [
        (Deal.Stage.MIDGAME, False),
        (Deal.Stage.CLOSE, True),
        (Deal.Stage.IMPLEMENTATION, True),
    ],
)
def test_the_commitment_form_shows_in_every_stage_its_service_allows(
    deal, guest_client, stage, offered
):
    at_stage(deal, stage)
    page = room_page(guest_client, deal)
    assert ('data-action="commitment.add"' in page) is offered


def test_a_reviewing_manager_is_offered_no_action(deal, manager_client):
    at_stage(deal, Deal.Stage.MIDGAME)
    assert "data-action=" not in room_page(manager_client, deal)


def test_no_room_template_compares_stage_names():
    """Which stage allows what is the services' rule (``state.can``)."""
    offending = {
        path.name: re.findall(r"deal\.stage\s*==\s*['\"]\w+['\"]", path.read_text())
        for path in TEMPLATES.glob("*.html")
    }
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_page_shows_the_latest_trades_and_loads_the_earlier_ones(
    midgame, host_access, rep_client
):
    price, terms = midgame.issues.order_by("position")
    trades = [
        services.trade_propose(
            access=host_access,
            give_issue_id=price.pk,
            give_value=f"offer {n}",
            ask_issue_id=terms.pk,
            ask_value=f"ask {n}",
        )
        for n in range(TRADES_SHOWN + 3)
    ]
    page = room_page(rep_client, midgame)
    shown = [int(pk) for pk in re.findall(r'<li id="trade-(\d+)"', page)]
    assert shown == [t.pk for t in trades[::-1][:TRADES_SHOWN]]
    earlier = re.search(r'hx-get="([^"]+/earlier/trades/\?before=\d+)"', page)
    assert earlier

    response = rep_client.get(earlier.group(1).replace("&amp;", "&"))

    rest = response.content.decode()
    assert [int(pk) for pk in re.findall(r'<li id="trade-(\d+)"', rest)] == [
        t.pk for t in trades[2::-1]
    ]
    # No page is left before these: the button is replaced by an empty one.
    assert '<div id="trades-earlier" class="earlier" hx-swap-oob="true"></div>' in rest


def test_earlier_pages_are_for_the_rooms_viewers_only(midgame, client):
    response = client.get(
        reverse("live:earlier", args=[midgame.pk, "trades"]) + "?before=10"
    )
    assert response.status_code in (302, 404)
    assert "trade" not in response.content.decode()


def test_an_earlier_page_needs_a_cursor_and_a_known_list(midgame, rep_client):
    url = reverse("live:earlier", args=[midgame.pk, "trades"])
    assert rep_client.get(url + "?before=soon").status_code == 400
    unknown = reverse("live:earlier", args=[midgame.pk, "preparation"])
    assert rep_client.get(unknown + "?before=5").status_code == 404

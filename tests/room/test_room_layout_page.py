"""The room page's layout: one open tool per stage, in a stable order, and
the small promises of its cards (numbers, share texts, stage-change buttons)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from negotiation.models import Deal, Party, PriorityEntry
from room import services
from room.selectors import MAIN_REGION
from room.services.rules import TOOL_STAGES
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db

TOOL_ORDER = [
    "setup",
    "positions",
    "trades",
    "packages",
    "concessions",
    "terms",
    "jointcheck",
    "commitments",
    "agreement",
    "checkins",
]
# Region names whose tool (``TOOL_STAGES``) is named differently.
TOOL_OF_REGION = {"positions": "position", "checkins": "check_ins"}


def room_page(client, deal: Deal) -> str:
    response = client.get(reverse("live:room", args=[deal.pk]))
    assert response.status_code == 200
    return response.content.decode()


def tools(page: str) -> list[tuple[str, bool]]:
    """Each tool's region, in page order, and whether it is open."""
    return [
        (region, bool(is_open))
        for region, is_open in re.findall(
            r'<details class="tool" id="tool-\w+" data-region="(\w+)"( open)?>', page
        )
    ]


@pytest.mark.parametrize("stage", list(Deal.Stage.values))
def test_each_stage_opens_its_main_tool_and_keeps_the_order(deal, rep_client, stage):
    at_stage(deal, stage)
    page = room_page(rep_client, deal)
    assert [region for region, _ in tools(page)] == TOOL_ORDER
    assert [region for region, is_open in tools(page) if is_open] == [
        MAIN_REGION[stage]
    ]
    main = MAIN_REGION[stage]
    assert stage in TOOL_STAGES[TOOL_OF_REGION.get(main, main)]


def test_the_waiting_slot_sits_right_under_the_stage_bar(deal, rep_client):
    page = room_page(rep_client, deal)
    stagebar_end = page.index("</section>", page.index('id="region-stagebar"'))
    after = page[stagebar_end + len("</section>") :]
    assert re.match(r'\s*<section id="room-attention"', after)


def test_a_stage_change_is_offered_only_with_a_button(deal, rep_client):
    at_stage(deal, Deal.Stage.IMPLEMENTATION)
    page = room_page(rep_client, deal)
    assert 'id="stage-propose-form"' in page
    assert "← Back to Close" in page
    # Agreed: no stage is left to move to, so there is no form at all.
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.AGREED)
    assert 'id="stage-propose-form"' not in room_page(rep_client, deal)


def test_a_trade_card_shows_the_number_its_button_names(
    deal, host_access, guest_client
):
    at_stage(deal, Deal.Stage.MIDGAME)
    price, terms = deal.issues.order_by("position")
    trade = services.trade_propose(
        access=host_access,
        give_issue_id=price.pk,
        give_value="5% off",
        ask_issue_id=terms.pk,
        ask_value="30 days",
    )
    page = room_page(guest_client, deal)
    assert f"Accept trade #{trade.pk}</button>" in page
    card = page[page.index(f'<li id="trade-{trade.pk}"') :]
    assert re.search(rf'<span class="trade-no"[^>]*>#{trade.pk}</span>', card)


def test_a_share_tick_shows_the_words_it_would_publish(deal, rep_client):
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price = deal.issues.get(name="Price")
    PriorityEntry.objects.create(
        party=deal.parties.get(side=Party.Side.HOST),
        issue=price,
        importance=4,
        want_get="A three-year term at the current rate",
    )
    page = room_page(rep_client, deal)
    label = re.search(
        rf'<label><input type="checkbox" name="share" value="{price.pk}:want_get">'
        r"(.*?)</label>",
        page,
        re.S,
    )
    assert label
    assert "A three-year term at the current rate" in label.group(1)


def test_the_glance_strip_shows_the_term_sheet_and_the_agreement_state(
    deal, host_access, rep_client
):
    at_stage(deal, Deal.Stage.CLOSE)
    price = deal.issues.get(name="Price")
    services.term_set(access=host_access, issue_id=price.pk, version=None, value="99k")
    page = room_page(rep_client, deal)
    glance = page[page.index('id="room-glance"') :]
    glance = glance[: glance.index("</section>")]
    assert re.search(r"<dt>Price</dt><dd>99k</dd>", glance)
    assert "1 issue without an agreed value" in glance


def _list_attrs(page: str, element_id: str) -> dict[str, str]:
    """The data attributes of the list element with this id."""
    tag = re.search(rf'<\w+[^>]*\bid="{element_id}"[^>]*>', page)
    assert tag, element_id
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', tag.group(0)))


def test_capped_lists_tell_their_summaries_what_the_page_leaves_out(
    deal, host_access, guest_client
):
    """The trades, packages and concession log show only their latest rows;
    each says how many older rows there are (open trades apart) and the
    oldest row it shows, so the tool's summary counts the whole list."""
    from room.selectors import CONCESSIONS_SHOWN, MESO_SETS_SHOWN, TRADES_SHOWN

    at_stage(deal, Deal.Stage.MIDGAME)
    price, terms = deal.issues.order_by("position")
    trades = [
        services.trade_propose(
            access=host_access,
            give_issue_id=price.pk,
            give_value=f"{n}% off",
            ask_issue_id=terms.pk,
            ask_value=f"{30 + n} days",
        )
        for n in range(TRADES_SHOWN + 3)
    ]
    # The oldest is withdrawn: 12 of the 13 are open, 2 of them off the page.
    services.trade_withdraw(
        access=host_access, trade_id=trades[0].pk, version=trades[0].version
    )
    for n in range(CONCESSIONS_SHOWN + 2):
        services.concession_add(access=host_access, item=f"Item {n}", we_give="More")
    for n in range(MESO_SETS_SHOWN + 1):
        services.meso_present(
            access=host_access,
            packages=[
                {"name": f"P{n}-{k}", "values": {price.pk: f"{k}%", terms.pk: "30"}}
                for k in (1, 2)
            ],
        )

    page = room_page(guest_client, deal)

    shown_trades = re.findall(r'<li id="trade-(\d+)" class="trade ', page)
    assert len(shown_trades) == TRADES_SHOWN
    assert _list_attrs(page, "trade-list") == {
        "older": "3",
        "older-open": "2",
        "cursor": min(shown_trades, key=int),
    }
    concessions = _list_attrs(page, "concession-rows")
    assert concessions["older"] == "2"
    assert len(re.findall(r'<tr id="concession-\d+"', page)) == CONCESSIONS_SHOWN
    assert _list_attrs(page, "meso-list")["older"] == "1"


def test_short_lists_leave_nothing_out(deal, rep_client):
    at_stage(deal, Deal.Stage.MIDGAME)
    page = room_page(rep_client, deal)
    assert _list_attrs(page, "trade-list") == {"older": "0", "older-open": "0"}
    assert _list_attrs(page, "meso-list") == {"older": "0"}
    assert _list_attrs(page, "concession-rows") == {"older": "0"}

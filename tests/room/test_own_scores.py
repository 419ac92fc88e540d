"""Each side sees its own score next to every package on the table (open
trades, MESO packages, the term sheet), live, and never the other side's."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async as db

from negotiation.access import DealAccess
from negotiation.models import Deal, DealEvent, Scoring
from negotiation.services.preparation import IssueScoreInput, scoring_save
from room import services
from room.coaching import run_detectors
from room.models import Nudge
from room.render import render_events, render_regions
from tests.factories import IssueFactory
from tests.room.sockets import act, receive
from tests.room.sockets import room as room_sockets

pytestmark = pytest.mark.django_db


def score_for(access: DealAccess, *, price_weight: int, reservation: str) -> None:
    """A scoring for ``access``'s side: price worth 0 at 100 and 100 at 200
    (for the host; the other way round for the counterpart), payment terms
    worth 0 at 0 days and 100 at 100 days."""
    price, payment = access.deal.issues.order_by("position")
    rising = access.side == "host"
    price_points = [
        (Decimal(100), 0 if rising else 100),
        (Decimal(200), 100 if rising else 0),
    ]
    scoring_save(
        access=access,
        version=None,
        reservation_score=Decimal(reservation),
        issues={
            price.pk: IssueScoreInput(price_weight, points=price_points),
            payment.pk: IssueScoreInput(
                100 - price_weight, points=[(Decimal(0), 0), (Decimal(100), 100)]
            ),
        },
    )


def newest_event(deal) -> DealEvent:
    return DealEvent.objects.filter(deal=deal).order_by("-seq").first()


def badges(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(
            r'class="own-score-badge[^"]*"[^>]*>(.*?)</span>', html, re.S
        )
    ]


def propose(access: DealAccess, price: str, days: str):
    price_issue, payment = access.deal.issues.order_by("position")
    return services.trade_propose(
        access=access,
        give_issue_id=price_issue.pk,
        give_value=price,
        ask_issue_id=payment.pk,
        ask_value=days,
    )


def test_an_open_trade_shows_the_viewers_score_and_only_to_a_side_with_a_scoring(
    midgame, host_access, guest_access
):
    score_for(host_access, price_weight=60, reservation="70")
    trade = propose(guest_access, "EUR 150", "50 days")

    host_html = render_events(host_access, [newest_event(midgame)])
    guest_html = render_events(guest_access, [newest_event(midgame)])

    # 60 × 50% + 40 × 50% = 50, below the host's 70.
    assert badges(host_html) == ["Your score 50/100 · below your minimum of 70"]
    assert f'id="trade-{trade.pk}-score"' in host_html
    assert badges(guest_html) == []
    assert "minimum" not in guest_html


def test_each_side_sees_its_own_score_and_never_the_others(
    midgame, host_access, guest_access
):
    score_for(host_access, price_weight=60, reservation="43.21")
    score_for(guest_access, price_weight=80, reservation="12.34")
    propose(host_access, "EUR 175", "25 days")
    event = newest_event(midgame)

    host_html = render_events(host_access, [event])
    guest_html = render_events(guest_access, [event])

    # Host: 60 × 75% + 40 × 25% = 55; counterpart: 80 × 25% + 20 × 25% = 25.
    assert badges(host_html) == ["Your score 55/100 · clears your minimum"]
    assert badges(guest_html) == ["Your score 25/100 · clears your minimum"]
    for secret in ("43.21", "12.34"):
        # Neither reservation shows anywhere while it is cleared.
        assert secret not in host_html
        assert secret not in guest_html
    page_for_guest = render_regions(guest_access, ["trades", "terms", "packages"])
    assert "55/100" not in page_for_guest
    assert "43.21" not in page_for_guest


def test_a_term_change_rescores_the_sheet_and_the_open_trades_it_changes(
    midgame, host_access, guest_access
):
    price, payment = midgame.issues.order_by("position")
    volume = IssueFactory(deal=midgame, name="Volume", unit="units", position=2)
    worth = [(Decimal(0), 0), (Decimal(100), 100)]
    scoring_save(
        access=host_access,
        version=None,
        reservation_score=Decimal(60),
        issues={
            price.pk: IssueScoreInput(
                40, points=[(Decimal(100), 0), (Decimal(200), 100)]
            ),
            payment.pk: IssueScoreInput(30, points=worth),
            volume.pk: IssueScoreInput(30, points=worth),
        },
    )
    first, second = (
        services.trade_propose(
            access=guest_access,
            give_issue_id=price.pk,
            give_value=value,
            ask_issue_id=payment.pk,
            ask_value="100 days",
        )
        for value in ("EUR 200", "EUR 100")
    )
    # Sets volume itself: a volume term cannot change its score.
    third = services.trade_propose(
        access=guest_access,
        give_issue_id=price.pk,
        give_value="EUR 150",
        ask_issue_id=volume.pk,
        ask_value="50 units",
    )

    services.term_set(
        access=guest_access, issue_id=volume.pk, version=None, value="100 units"
    )
    host_html = render_events(host_access, [newest_event(midgame)])
    guest_html = render_events(guest_access, [newest_event(midgame)])

    def oob_score(html: str, element_id: str) -> str:
        match = re.search(
            rf'id="{element_id}"[^>]*hx-swap-oob="true"[^>]*>(.*?)</(span|p)>',
            html,
            re.S,
        )
        assert match, element_id
        return " ".join(badges(match.group(0) + "</span>"))

    # The sheet: volume 100 units (30); price and payment open.
    assert "Your score 30/100" in oob_score(host_html, "terms-score")
    assert "2 open, counted as 0" in oob_score(host_html, "terms-score")
    # Each open trade as the sheet would be if it were accepted.
    assert "Your score 100/100 · clears" in oob_score(
        host_html, f"trade-{first.pk}-score"
    )
    assert "Your score 60/100 · clears" in oob_score(
        host_html, f"trade-{second.pk}-score"
    )
    assert f"trade-{third.pk}-score" not in host_html
    assert "terms-score" not in guest_html
    assert "own-score" not in guest_html


def test_a_value_the_scoring_cannot_read_is_said_so(midgame, host_access, guest_access):
    score_for(host_access, price_weight=50, reservation="10")
    propose(guest_access, "between 120 and 150", "100 days")

    html = render_events(host_access, [newest_event(midgame)])

    assert badges(html) == [
        "Your score 50/100 · clears your minimum · 1 not readable, counted as 0"
    ]


def test_meso_packages_carry_the_viewers_score_row(midgame, host_access, guest_access):
    score_for(guest_access, price_weight=50, reservation="50")
    price, payment = midgame.issues.order_by("position")
    services.meso_present(
        access=host_access,
        packages=[
            {"name": "Lean", "values": {price.pk: "EUR 100", payment.pk: "100 days"}},
            {"name": "Rich", "values": {price.pk: "EUR 200", payment.pk: "0 days"}},
        ],
    )
    event = newest_event(midgame)

    guest_html = render_events(guest_access, [event])
    host_html = render_events(host_access, [event])

    # The counterpart prefers a low price: Lean 50 + 50, Rich 0 + 0.
    assert badges(guest_html) == [
        "Your score 100/100 · clears your minimum",
        "Your score 0/100 · below your minimum of 50",
    ]
    assert "own-score-row" not in host_html


def present(access: DealAccess, *packages: tuple[str, str, str]):
    """Present a MESO set of (name, price, payment) packages, then coach on
    it as the socket does after its ack."""
    price, payment = access.deal.issues.order_by("position")
    meso = services.meso_present(
        access=access,
        packages=[
            {"name": name, "values": {price.pk: p, payment.pk: d}}
            for name, p, d in packages
        ],
    )
    run_detectors([newest_event(access.deal)])
    return meso


def uneven(party) -> list[Nudge]:
    return list(Nudge.objects.filter(party=party, kind=Nudge.Kind.UNEVEN_PACKAGES))


def test_a_lopsided_meso_set_warns_its_author_only(midgame, host_access, guest_access):
    score_for(host_access, price_weight=50, reservation="50")
    # On the host's scoring: 50 + 25, 25 + 50, 100 + 0 → 75, 75, 100.
    meso = present(
        host_access,
        ("Lean", "EUR 200", "50 days"),
        ("Mid", "EUR 150", "100 days"),
        ("Rich", "EUR 200", "0 days"),
    )

    [nudge] = uneven(host_access.party)
    assert nudge.subject == f"meso:{meso.pk}"
    assert "25 points apart (Lean 75, Mid 75, Rich 50)" in nudge.message
    assert not uneven(guest_access.party)
    guest_page = render_regions(guest_access, ["coach", "packages"])
    assert "points apart" not in guest_page
    assert "points apart" in render_regions(host_access, ["coach"])


def test_packages_within_a_few_points_raise_nothing(midgame, host_access):
    score_for(host_access, price_weight=50, reservation="50")
    # 50 + 25 = 75, 40 + 40 = 80 (within 5 points of each other).
    present(host_access, ("A", "EUR 200", "50 days"), ("B", "EUR 180", "80 days"))

    assert not uneven(host_access.party)


def test_without_a_scoring_the_author_is_not_judged(midgame, host_access):
    present(host_access, ("A", "EUR 100", "0 days"), ("B", "EUR 200", "100 days"))

    assert not uneven(host_access.party)


# --- over the socket: the scoring a socket keeps, and a new one ---------------------


@pytest.mark.usefixtures("own_channel_layer")
@pytest.mark.django_db(transaction=True)
async def test_a_new_scoring_rescores_its_own_sides_room_live(
    deal, host_access, guest_access, host_cookie, guest_cookie
):
    await db(Deal.objects.filter(pk=deal.pk).update)(stage=Deal.Stage.MIDGAME)
    await db(score_for)(host_access, price_weight=60, reservation="70")
    async with room_sockets(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            guest,
            "trade.propose",
            {
                "give_issue_id": str((await db(first_issue)(deal)).pk),
                "give_value": "EUR 150",
                "ask_issue_id": str((await db(second_issue)(deal)).pk),
                "ask_value": "50 days",
            },
        )
        await receive(guest, "ack")
        event = await receive(host, "event")
        assert badges(event["html"]) == ["Your score 50/100 · below your minimum of 70"]

        while not await guest.receive_nothing(0.3):  # its own update, its coach
            await guest.receive_json_from()

        # The host side saves a new scoring (from its preparation page).
        await db(resave)(host_access, price_weight=20, reservation="40")
        scores = await receive(host, "scores")
        guest_frames = []
        while not await guest.receive_nothing(0.3):
            guest_frames.append(await guest.receive_json_from())
    # The other side hears nothing of it.
    assert guest_frames == []
    # 20 × 50% + 80 × 50% = 50, now above the new minimum of 40.
    assert "Your score 50/100 · clears your minimum" in badges(scores["html"])
    assert 'id="region-trades"' in scores["html"]


def first_issue(deal):
    return deal.issues.order_by("position").first()


def second_issue(deal):
    return deal.issues.order_by("position").last()


def resave(access: DealAccess, *, price_weight: int, reservation: str) -> None:
    Scoring.objects.filter(party=access.party).delete()
    score_for(access, price_weight=price_weight, reservation=reservation)

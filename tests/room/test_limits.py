"""Never below your own limits without knowing it: a binding step that would
leave the term sheet past the side's walk-away figure, its reservation score
or a limit it wrote in its preparation stops with a warning for that side
only, and goes ahead on a second, explicit confirmation, which its review
keeps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from negotiation.models import DealEvent, Party, Preparation, PriorityEntry
from negotiation.services.preparation import IssueScoreInput, scoring_save
from room import actions, services
from room.coaching.limits import (
    IssueLimits,
    SideLimits,
    WrittenLimit,
    breaches,
    side_limits,
    written_limits,
)
from room.models import Nudge, TermSheetEntry, Trade
from tests.room.conftest import agree_cadence, propose

pytestmark = pytest.mark.django_db


# --- reading the limits a side wrote --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "upper", "figure", "wording"),
    [
        ("We can give up to 75 days", True, "75", "up to 75 days"),
        ("at least 500 units a year", False, "500", "at least 500 units"),
        ("No more than EUR 50k, ever", True, "50000", "No more than EUR 50k"),
        ("max. 3%", True, "3", "max. 3%"),
        ("Volume: minimum of 1,200 units", False, "1200", "minimum of 1,200 units"),
        ("not below €104k.", False, "104000", "not below €104k"),
    ],
)
def test_a_written_limit_is_read_with_its_direction_and_figure(
    text, upper, figure, wording
):
    (limit,) = written_limits(text)
    assert (limit.upper, limit.figure, limit.wording) == (
        upper,
        Decimal(figure),
        wording,
    )


@pytest.mark.parametrize(
    "text",
    [
        "about 75 days",  # a wish, not a limit
        "up to two years",  # no figure
        "up to Q3 2027",  # a quarter is not a figure
        "maximum flexibility on 3 points",  # "maximum" not followed by a figure
        "60 days, ideally 45",
        "",
    ],
)
def test_text_that_only_looks_like_a_limit_is_not_one(text):
    assert written_limits(text) == []


def test_both_ends_of_a_range_are_read():
    assert [
        (lim.upper, lim.figure) for lim in written_limits("up to 60, at least 30")
    ] == [
        (True, Decimal(60)),
        (False, Decimal(30)),
    ]


# --- the rule -------------------------------------------------------------------------


def price_limits(walk_away: str, direction: int, *written: WrittenLimit) -> SideLimits:
    return SideLimits(
        {1: IssueLimits(1, "Price", "EUR", written, Decimal(walk_away), direction)}
    )


def test_a_seller_is_warned_below_the_walk_away_and_a_buyer_above_it():
    assert breaches(price_limits("48000", +1), {1: "EUR 45,000"}) == [
        "This puts Price at 45,000 EUR, below your walk-away figure of 48,000 EUR."
    ]
    assert breaches(price_limits("48000", -1), {1: "50k"}) == [
        "This puts Price at 50,000 EUR, above your walk-away figure of 48,000 EUR."
    ]


def test_the_walk_away_itself_and_better_are_fine():
    for value in ("48,000", "48000.00", "52k"):
        assert breaches(price_limits("48000", +1), {1: value}) == []


def test_no_verdict_without_a_direction_or_a_readable_value():
    assert breaches(price_limits("48000", 0), {1: "45,000"}) == []
    assert breaches(price_limits("48000", +1), {1: "between 40 and 50k"}) == []
    assert breaches(price_limits("48000", +1), {}) == []


def test_a_written_limit_is_checked_on_its_own_issue():
    cap = WrittenLimit(upper=True, figure=Decimal(75), wording="up to 75 days")
    limits = SideLimits({2: IssueLimits(2, "Payment terms", "days", (cap,))})
    assert breaches(limits, {2: "90 days"}) == [
        "This puts Payment terms at 90 days, past the limit you wrote for it: "
        "“up to 75 days”."
    ]
    assert breaches(limits, {2: "75 days"}) == []
    assert breaches(limits, {2: "60"}) == []


# --- the side's own preparation -------------------------------------------------------


@pytest.fixture
def seller(deal, issues) -> Preparation:
    """The host sells: walk-away EUR 48,000 on the price, aiming for 55,000,
    and it can give "up to 75 days" of payment terms."""
    price, terms = issues
    host = deal.parties.get(side=Party.Side.HOST)
    prep = Preparation.objects.get(party=host)
    prep.reservation_value = Decimal("48000")
    prep.save()
    PriorityEntry.objects.create(
        party=host, issue=price, importance=5, ideal_outcome="55,000"
    )
    PriorityEntry.objects.create(
        party=host, issue=terms, importance=3, can_give="Payment up to 75 days"
    )
    return prep


def test_side_limits_read_the_walk_away_its_direction_and_the_written_limits(
    deal, issues, seller
):
    price, terms = issues
    limits = side_limits(
        deal.parties.get(side=Party.Side.HOST), list(deal.issues.all())
    )
    assert limits.issues[price.pk].walk_away == Decimal("48000")
    assert limits.issues[price.pk].direction == +1
    assert [lim.wording for lim in limits.issues[terms.pk].written] == ["up to 75 days"]
    # The other side has written nothing: it has no limits.
    assert not side_limits(
        deal.parties.get(side=Party.Side.COUNTERPART), list(deal.issues.all())
    )


# --- binding steps in the room --------------------------------------------------------


def accept_data(trade: Trade, **extra) -> dict:
    return {"trade_id": trade.pk, "version": trade.version, "confirm": "on", **extra}


@pytest.fixture
def low_offer(midgame, issues, guest_access) -> Trade:
    """The counterpart asks for a price of EUR 45,000, below the seller's
    walk-away, for 30 days of payment terms."""
    price, terms = issues
    return propose(guest_access, terms, "30 days", price, "EUR 45,000")


def test_accepting_below_the_walk_away_stops_and_changes_nothing(
    deal, host, seller, low_offer
):
    events = DealEvent.objects.filter(deal=deal).count()

    with pytest.raises(actions.ActionRefused) as stopped:
        actions.perform(host, "trade.accept", accept_data(low_offer))

    assert stopped.value.code == "below_limit"
    assert "below your walk-away figure of 48,000 EUR" in stopped.value.message
    assert stopped.value.resend[0] == "trade.accept"
    low_offer.refresh_from_db()
    assert low_offer.status == Trade.Status.OPEN
    assert not TermSheetEntry.objects.filter(deal=deal).exists()
    assert DealEvent.objects.filter(deal=deal).count() == events
    assert not Nudge.objects.exists()


def test_a_second_confirmation_goes_ahead_and_the_review_keeps_it(
    deal, host, guest_access, seller, low_offer
):
    actions.perform(host, "trade.accept", accept_data(low_offer, confirm_limit="on"))

    low_offer.refresh_from_db()
    assert low_offer.status == Trade.Status.ACCEPTED
    nudge = Nudge.objects.get()
    assert (nudge.party, nudge.kind) == (host.party, Nudge.Kind.BELOW_LIMIT)
    assert "48,000 EUR" in nudge.message
    assert nudge.event == DealEvent.objects.filter(deal=deal).latest("seq")
    assert not Nudge.objects.filter(party=guest_access.party).exists()


def test_accepting_above_the_walk_away_is_not_stopped(
    midgame, issues, host, guest_access, seller
):
    price, terms = issues
    trade = propose(guest_access, terms, "30 days", price, "EUR 50,000")

    actions.perform(host, "trade.accept", accept_data(trade))

    assert fresh_status(trade) == Trade.Status.ACCEPTED
    assert not Nudge.objects.exists()


def fresh_status(trade: Trade) -> str:
    trade.refresh_from_db()
    return trade.status


def test_the_other_side_is_never_stopped_by_a_limit_it_does_not_hold(
    midgame, issues, host, guest_access, seller
):
    """The host offers EUR 45,000 itself (its choice to propose); the
    counterpart accepts: the counterpart's own preparation has no limit."""
    price, terms = issues
    trade = propose(host, price, "EUR 45,000", terms, "30 days")

    actions.perform(guest_access, "trade.accept", accept_data(trade))

    assert fresh_status(trade) == Trade.Status.ACCEPTED


def test_setting_a_term_past_a_written_limit_stops(close, issues, host, seller):
    _, terms = issues

    with pytest.raises(actions.ActionRefused) as stopped:
        actions.perform(host, "term.set", {"issue_id": terms.pk, "value": "90 days"})

    assert stopped.value.code == "below_limit"
    assert "“up to 75 days”" in stopped.value.message
    assert not TermSheetEntry.objects.exists()

    actions.perform(
        host,
        "term.set",
        {"issue_id": terms.pk, "value": "90 days", "confirm_limit": "on"},
    )
    assert TermSheetEntry.objects.get().value == "90 days"


def test_a_step_that_leaves_an_old_breach_alone_is_not_stopped_again(
    close, issues, host, seller
):
    price, terms = issues
    actions.perform(
        host,
        "term.set",
        {"issue_id": price.pk, "value": "45,000", "confirm_limit": "on"},
    )

    actions.perform(host, "term.set", {"issue_id": terms.pk, "value": "60 days"})

    assert TermSheetEntry.objects.get(issue=terms).value == "60 days"


def test_confirming_the_agreement_counts_every_breach_of_the_sheet(
    deal, close, issues, host, guest_access, seller
):
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="45,000")
    services.term_set(access=host, issue_id=terms.pk, version=None, value="60 days")
    agree_cadence(host, guest_access)
    digest = services.agreement_digest(deal)

    with pytest.raises(actions.ActionRefused) as stopped:
        actions.perform(host, "agreement.confirm", {"digest": digest, "confirm": "on"})

    assert stopped.value.code == "below_limit"
    assert not deal.confirmations.exists()
    actions.perform(
        host,
        "agreement.confirm",
        {"digest": digest, "confirm": "on", "confirm_limit": "on"},
    )
    assert deal.confirmations.count() == 1


def test_picking_a_package_below_the_walk_away_stops(
    deal, midgame, issues, host, guest_access, seller
):
    price, terms = issues
    meso = services.meso_present(
        access=guest_access,
        packages=[
            {"name": "Low", "values": {str(price.pk): "45000", str(terms.pk): "30"}},
            {"name": "High", "values": {str(price.pk): "50000", str(terms.pk): "60"}},
        ],
        note="",
    )
    low = meso.packages.get(name="Low")

    with pytest.raises(actions.ActionRefused) as stopped:
        actions.perform(
            host,
            "meso.respond",
            {
                "meso_id": meso.pk,
                "version": meso.version,
                "picked_id": low.pk,
                "confirm": "on",
            },
        )

    assert stopped.value.code == "below_limit"
    assert not TermSheetEntry.objects.exists()


# --- with a private scoring, the reservation score is the test ------------------------


@pytest.fixture
def scored(issues, host, seller):
    """The seller scores price 40k → 0, 60k → 100 (weight 70) and payment
    terms 90 days → 0, 30 days → 100 (weight 30); its minimum is 40."""
    price, terms = issues
    scoring_save(
        access=host,
        version=None,
        reservation_score=Decimal(40),
        issues={
            price.pk: IssueScoreInput(
                70, points=[(Decimal(40000), 0), (Decimal(60000), 100)]
            ),
            terms.pk: IssueScoreInput(
                30, points=[(Decimal(30), 100), (Decimal(90), 0)]
            ),
        },
    )


def test_with_a_scoring_an_open_issue_that_could_still_rescue_the_sheet_is_no_breach(
    close, issues, host, scored
):
    """45,000 is below the walk-away figure, but worth 17.5 of 70: with the
    payment terms still open (up to 30 more), the minimum of 40 can be met."""
    price, _ = issues

    actions.perform(host, "term.set", {"issue_id": price.pk, "value": "45,000"})

    assert TermSheetEntry.objects.get(issue=price).value == "45,000"


def test_with_a_scoring_a_sheet_that_cannot_reach_the_minimum_stops(
    close, issues, host, scored
):
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="45,000")

    with pytest.raises(actions.ActionRefused) as stopped:
        actions.perform(host, "term.set", {"issue_id": terms.pk, "value": "60 days"})

    # 17.5 for the price and 15 for 60 days: 32.5.
    assert "a score of 32, below your minimum of 40" in stopped.value.message


# --- what each side sees --------------------------------------------------------------


def test_the_warning_offers_a_second_confirmation_to_its_side_only(
    deal, host, rep_client, guest_client, seller, low_offer
):
    response = rep_client.post(
        reverse("live:act", args=[deal.pk, "trade.accept"]),
        accept_data(low_offer, client_msg_id="accept-1"),
    )

    page = response.content.decode()
    assert "below your walk-away figure of 48,000 EUR" in page
    assert 'name="confirm_limit" value="on"' in page
    assert 'name="confirm" value="on"' in page
    assert "Go ahead anyway" in page
    other = guest_client.get(reverse("live:room", args=[deal.pk])).content.decode()
    assert "48,000" not in other
    assert "walk-away figure" not in other

"""Detectors that read the room, not one wording: the money issue by its unit,
an issue discussed in the discussion, counters that circle, and a term
written right after the other side only acknowledged the point. Each with
the near-misses that must stay silent."""

from __future__ import annotations

import pytest

from negotiation.models import DealEvent
from room import coaching, services
from room.models import Nudge
from tests.factories import IssueFactory
from tests.room.conftest import add_commitment, propose

pytestmark = pytest.mark.django_db
Kind = Nudge.Kind


def coach(deal) -> None:
    coaching.run_detectors([DealEvent.objects.filter(deal=deal).latest("seq")])


def avoided(deal) -> set[str]:
    nudges = Nudge.objects.filter(deal=deal, kind=Kind.AVOIDING_HARD_ISSUE)
    return set(nudges.values_list("message", flat=True))


@pytest.fixture
def two_side_trades(midgame, host, guest_access):
    """Two trades on volume and support, nothing else touched."""
    volume = IssueFactory(deal=midgame, name="Volume", unit="units", position=5)
    support = IssueFactory(deal=midgame, name="Support", unit="", position=6)

    def trade_twice() -> None:
        propose(host, volume, "+10%", support, "remote")
        coach(midgame)
        propose(guest_access, support, "on site", volume, "+5%")
        coach(midgame)

    return trade_twice


@pytest.mark.parametrize(
    ("name", "unit", "money"),
    [
        ("Discount", "EUR", True),
        ("Base pay", "$", True),
        ("Signing bonus", "euros", True),
        ("Delivery time", "days", False),  # a number, not money
        ("Seats", "licences", False),
    ],
)
def test_the_money_issue_is_known_by_its_unit_not_its_name(
    midgame, two_side_trades, name, unit, money
):
    # The deal's own two issues are Price and Payment terms: rename the price
    # so only the unit can tell.
    midgame.issues.filter(name="Price").update(name=name, unit=unit)

    two_side_trades()

    flagged = any(f"“{name}”" in message for message in avoided(midgame))
    assert flagged is money


def test_an_issue_both_sides_discussed_in_the_discussion_is_not_avoided(
    midgame, host, guest_access, two_side_trades
):
    services.message_post(access=host, body="On price: our list is firm this year.")
    services.message_post(access=guest_access, body="Price is our main concern.")

    two_side_trades()

    assert not any("“Price”" in message for message in avoided(midgame))


def test_an_issue_only_one_side_mentioned_is_still_avoided(
    midgame, host, two_side_trades
):
    services.message_post(access=host, body="We can talk about price later.")

    two_side_trades()

    assert any("“Price”" in message for message in avoided(midgame))


def counter(access, trade, give, give_value, ask, ask_value):
    return services.trade_counter(
        access=access,
        trade_id=trade.pk,
        version=trade.version,
        give_issue_id=give.pk,
        give_value=give_value,
        ask_issue_id=ask.pk,
        ask_value=ask_value,
        rationale="",
    )


def test_counters_going_back_and_forth_are_a_stalemate(
    midgame, issues, host, guest_access
):
    price, terms = issues
    trade = propose(host, price, "100", terms, "30 days")
    sides = [guest_access, host, guest_access]
    offers = [("60 days", "90"), ("95", "45 days"), ("60 days", "90")]
    for access, (give_value, ask_value) in zip(sides, offers, strict=True):
        give, ask = (terms, price) if access is guest_access else (price, terms)
        trade = counter(access, trade, give, give_value, ask, ask_value)
        coach(midgame)

    nudges = Nudge.objects.filter(kind=Kind.STALEMATE)
    assert nudges.count() == 2  # both sides
    assert "4 proposals in a row have countered each other" in nudges[0].message
    assert "The same terms have come back." in nudges[0].message


def test_two_counters_are_negotiation_not_a_stalemate(
    midgame, issues, host, guest_access
):
    price, terms = issues
    trade = propose(host, price, "100", terms, "30 days")
    trade = counter(guest_access, trade, terms, "60 days", price, "90")
    coach(midgame)
    counter(host, trade, price, "95", terms, "45 days")
    coach(midgame)

    assert not Nudge.objects.filter(kind=Kind.STALEMATE).exists()


@pytest.mark.parametrize(
    ("their_message", "nudged"),
    [
        ("I understand why 30 days matters to you.", True),
        ("Makes sense.", True),
        ("I understand, and we agree to 30 days.", False),  # agreed
        ("Yes, 30 days works for us.", False),
        ("What would 45 days cost you?", False),  # a question, not a nod
    ],
)
def test_a_term_written_after_they_only_acknowledged_it(
    close, issues, host, guest_access, their_message, nudged
):
    _, terms = issues
    services.message_post(access=guest_access, body=their_message)

    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")
    coach(close)

    found = Nudge.objects.filter(kind=Kind.EMPATHY_NOT_AGREEMENT, party=host.party)
    assert found.exists() is nudged
    assert not Nudge.objects.filter(
        kind=Kind.EMPATHY_NOT_AGREEMENT, party=guest_access.party
    ).exists()


def test_a_term_after_your_own_acknowledgment_is_yours_to_write(close, issues, host):
    _, terms = issues
    services.message_post(access=host, body="I understand.")

    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")
    coach(close)

    assert not Nudge.objects.filter(kind=Kind.EMPATHY_NOT_AGREEMENT).exists()


# --- a positional counterparty --------------------------------------------------------


def test_three_proposals_asking_the_same_thing_are_a_held_position(
    midgame, issues, host, guest_access
):
    price, terms = issues
    for give_value in ("60 days", "50 days", "45 days"):
        propose(guest_access, terms, give_value, price, "EUR 90k")
        coach(midgame)

    nudge = Nudge.objects.get(kind=Kind.POSITIONAL)
    assert nudge.party == host.party  # the side facing the position is told
    assert "all ask for “EUR 90k” on Price" in nudge.message


def test_asks_that_move_are_trading_not_a_position(midgame, issues, host, guest_access):
    price, terms = issues
    for ask in ("EUR 90k", "EUR 92k", "EUR 95k"):
        propose(guest_access, terms, "60 days", price, ask)
        coach(midgame)

    assert not Nudge.objects.filter(kind=Kind.POSITIONAL).exists()


# --- resistance to accountability -----------------------------------------------------


def test_removing_a_commitment_tells_the_other_side(close, host, guest_access):
    commitment = add_commitment(host)

    services.commitment_remove(
        access=guest_access, commitment_id=commitment.pk, version=1
    )
    coach(close)

    nudge = Nudge.objects.get(kind=Kind.AVOIDING_ACCOUNTABILITY)
    assert nudge.party == host.party
    assert "removed “Dashboards live in every store”" in nudge.message


def test_loosening_your_own_commitment_tells_the_other_side(close, host, guest_access):
    commitment = add_commitment(guest_access, owner_side="counterpart")

    services.commitment_update(
        access=guest_access, commitment_id=commitment.pk, version=1, target="TBD"
    )
    coach(close)

    nudge = Nudge.objects.get(kind=Kind.AVOIDING_ACCOUNTABILITY)
    assert nudge.party == host.party


def test_sharpening_a_commitment_or_editing_the_other_sides_is_not_resistance(
    close, host, guest_access
):
    theirs = add_commitment(guest_access, owner_side="counterpart")
    services.commitment_update(
        access=guest_access, commitment_id=theirs.pk, version=1, target="99%"
    )
    coach(close)
    ours = add_commitment(host, owner_side="host")
    services.commitment_update(
        access=guest_access, commitment_id=ours.pk, version=1, target="TBD"
    )
    coach(close)

    assert not Nudge.objects.filter(kind=Kind.AVOIDING_ACCOUNTABILITY).exists()

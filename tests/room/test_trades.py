"""Midgame: conditional trades and their answers.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from negotiation.models import Deal
from negotiation.services.base import EditConflict
from room import services
from room.models import (
    Concession,
    TermSheetEntry,
    Trade,
)
from tests.factories import make_deal
from tests.room.conftest import (
    at_stage,
    fresh,
    propose,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- Midgame: conditional trades -----------------------------------------------


def test_propose_counter_accept_puts_both_values_on_the_term_sheet(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    with log.expect("trade.proposed"):
        opening = propose(host, price, "-5%", terms, "30 days")
    with log.expect("trade.countered"):
        counter = services.trade_counter(
            access=guest_access,
            trade_id=opening.pk,
            version=opening.version,
            give_issue_id=terms.pk,
            give_value="45 days",
            ask_issue_id=price.pk,
            ask_value="-8%",
            rationale="Our cash cycle",
        )
    opening.refresh_from_db()
    assert opening.status == Trade.Status.COUNTERED
    assert counter.counter_of == opening
    assert counter.party == guest_access.party

    with log.expect("trade.accepted"):
        services.trade_accept(access=host, trade_id=counter.pk, version=1)

    counter.refresh_from_db()
    assert counter.status == Trade.Status.ACCEPTED
    assert counter.decided_by == host.participant
    terms_by_issue = {t.issue_id: t for t in TermSheetEntry.objects.all()}
    assert terms_by_issue[terms.pk].value == "45 days"
    assert terms_by_issue[price.pk].value == "-8%"
    assert {t.source_trade_id for t in terms_by_issue.values()} == {counter.pk}
    # One entry per side in the concession log, give and get swapped.
    guest_entry = Concession.objects.get(trade=counter, party=guest_access.party)
    host_entry = Concession.objects.get(trade=counter, party=host.party)
    assert (guest_entry.we_give, guest_entry.we_get) == (
        "Payment terms: 45 days",
        "Price: -8%",
    )
    assert (host_entry.we_give, host_entry.we_get) == (
        guest_entry.we_get,
        guest_entry.we_give,
    )
    assert Concession.objects.count() == 2
    # The countered original can no longer be accepted.
    with log.refused(match="no longer open"):
        services.trade_accept(access=guest_access, trade_id=opening.pk, version=2)


def test_a_trade_is_accepted_on_the_version_that_was_shown(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused(EditConflict):
        services.trade_accept(access=guest_access, trade_id=trade.pk, version=7)

    assert fresh(trade).status == Trade.Status.OPEN
    assert not TermSheetEntry.objects.exists()
    assert not Concession.objects.exists()


def test_a_side_cannot_accept_decline_or_counter_its_own_trade(
    midgame, issues, host, log
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused(PermissionDenied):
        services.trade_accept(access=host, trade_id=trade.pk, version=1)
    with log.refused(PermissionDenied):
        services.trade_decline(access=host, trade_id=trade.pk, version=1, reason="x")
    with log.refused(PermissionDenied):
        services.trade_counter(
            access=host,
            trade_id=trade.pk,
            version=1,
            give_issue_id=price.pk,
            give_value="-6%",
            ask_issue_id=terms.pk,
            ask_value="20 days",
        )

    assert fresh(trade).status == Trade.Status.OPEN


def test_only_the_proposing_side_withdraws_a_trade(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused(PermissionDenied):
        services.trade_withdraw(access=guest_access, trade_id=trade.pk, version=1)
    with log.expect("trade.withdrawn"):
        services.trade_withdraw(access=host, trade_id=trade.pk, version=1)

    assert fresh(trade).status == Trade.Status.WITHDRAWN


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_a_trade_needs_a_reason(
    midgame, issues, host, guest_access, log, reason
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused() as refusal:
        services.trade_decline(
            access=guest_access, trade_id=trade.pk, version=1, reason=reason
        )
    assert "reason" in refusal.value.message_dict
    assert fresh(trade).status == Trade.Status.OPEN

    with log.expect("trade.declined"):
        services.trade_decline(
            access=guest_access,
            trade_id=trade.pk,
            version=1,
            reason=" Budget is fixed this year ",
        )
    trade.refresh_from_db()
    assert trade.status == Trade.Status.DECLINED
    assert trade.decline_reason == "Budget is fixed this year"


def test_a_trade_names_this_deals_issues_and_both_values(midgame, issues, host, log):
    price, terms = issues
    foreign = make_deal(title="Other").issues.create(name="Volume")

    with log.refused(match="not on this deal's agenda"):
        propose(host, foreign, "+10%", terms, "30 days")
    with log.refused() as refusal:
        propose(host, price, "  ", terms, "")
    assert set(refusal.value.message_dict) == {"give_value", "ask_value"}
    assert not Trade.objects.exists()


@pytest.mark.parametrize("stage", [Stage.SETUP, Stage.FIRST_MOVE, Stage.CLOSE])
def test_trades_happen_in_midgame_only(deal, issues, host, log, stage):
    at_stage(deal, stage)
    price, terms = issues

    with log.refused() as refusal:
        propose(host, price, "-5%", terms, "30 days")

    assert refusal.value.code == "wrong_stage"

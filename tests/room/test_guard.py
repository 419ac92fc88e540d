"""The over-sharing guard runs in the action's transaction: a refused action
leaves nothing behind, its warning included; a confirmed one commits with the
warning recorded for the review."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from negotiation.models import Deal, DealEvent, Party, Preparation
from room import actions
from room.models import Message, Nudge, Trade
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db

FIGURE_TEXT = "Between us: we can go down to 186,500."


@pytest.fixture
def host_walk_away(deal) -> Preparation:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.reservation_value = Decimal("186500")
    prep.save()
    return prep


def test_a_held_message_leaves_no_message_no_event_and_no_warning(
    deal, host_access, host_walk_away
):
    events = DealEvent.objects.filter(deal=deal).count()

    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host_access, "message.post", {"body": FIGURE_TEXT})

    assert held.value.code == "over_sharing"
    assert not Message.objects.exists()
    assert DealEvent.objects.filter(deal=deal).count() == events
    assert not Nudge.objects.exists()


def test_a_confirmed_message_is_sent_with_its_warning_recorded(
    deal, host_access, host_walk_away
):
    actions.perform(
        host_access, "message.post", {"body": FIGURE_TEXT, "confirm_share": "on"}
    )

    message = Message.objects.get()
    nudge = Nudge.objects.get()
    assert nudge.party == host_access.party
    assert nudge.kind == Nudge.Kind.OVER_SHARING
    assert "chose to send it anyway" in nudge.message
    assert DealEvent.objects.filter(deal=deal, kind="message.posted").count() == 1
    assert message.body == FIGURE_TEXT


def test_a_confirmed_share_that_the_service_refuses_records_no_warning(
    deal, host_access, host_walk_away
):
    """Confirmed, but trades belong to Midgame: the refusal takes the warning
    with it (they commit together, or not at all)."""
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price, terms = deal.issues.order_by("position")

    with pytest.raises(actions.ActionRefused) as refused:
        actions.perform(
            host_access,
            "trade.propose",
            {
                "give_issue_id": price.pk,
                "give_value": "186500",
                "ask_issue_id": terms.pk,
                "ask_value": "60 days",
                "confirm_share": "on",
            },
        )

    assert refused.value.code == "wrong_stage"
    assert not Trade.objects.exists()
    assert not Nudge.objects.exists()


def test_an_action_with_no_text_reads_no_preparation(
    deal, host_access, guest_access, host_walk_away
):
    """Withdrawing a trade shares no text: the guard has nothing to check and
    does not read the side's walk-away point. (A binding step does read it,
    for the side's own limits: tests/room/test_limits.py.)"""
    at_stage(deal, Deal.Stage.MIDGAME)
    price, terms = deal.issues.order_by("position")
    trade = actions.perform(
        host_access,
        "trade.propose",
        {
            "give_issue_id": price.pk,
            "give_value": "30 days sooner",
            "ask_issue_id": terms.pk,
            "ask_value": "5% more volume",
        },
    )

    with CaptureQueriesContext(connection) as queries:
        actions.perform(
            host_access,
            "trade.withdraw",
            {"trade_id": trade.pk, "version": trade.version},
        )

    trade.refresh_from_db()
    assert trade.status == Trade.Status.WITHDRAWN
    assert not [q for q in queries if "negotiation_preparation" in q["sql"]]

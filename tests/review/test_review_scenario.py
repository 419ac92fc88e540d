"""The review scenario itself (``tests.scenarios.negotiate``): it ends the way
it says, through the real services and the log."""

from __future__ import annotations

import pytest

from negotiation.models import Deal, DealEvent
from room.models import Trade
from tests.scenarios import negotiate

Stage = Deal.Stage

# --- the scenario itself ------------------------------------------------------------


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


@pytest.mark.django_db
def test_the_scenario_ends_agreed_with_every_term_set_through_the_log():
    done = negotiate()

    assert done.deal.status == Deal.Status.AGREED
    assert done.deal.stage == Stage.IMPLEMENTATION
    terms = {t.issue.name: t.value for t in done.deal.terms.select_related("issue")}
    assert terms == {
        "Price": "201000",
        "Payment terms": "45 days",
        "Onboarding": "Two on-site weeks",
    }
    kinds = list(
        DealEvent.objects.filter(deal=done.deal).values_list("kind", flat=True)
    )
    assert {"meso.answered", "trade.accepted", "term.updated"} <= set(kinds)
    # The direct edit now records the value it wrote (a shared fact).
    edit = DealEvent.objects.get(deal=done.deal, kind="term.updated")
    assert edit.payload == {"issue_id": done.support.pk, "value": "Two on-site weeks"}


@pytest.mark.django_db
def test_the_scenario_can_end_without_a_deal():
    done = negotiate(outcome="no_deal", extra_trades=2)

    assert done.deal.status == Deal.Status.NO_DEAL
    assert done.deal.closed_at is not None
    assert Trade.objects.filter(deal=done.deal, status="declined").count() == 2

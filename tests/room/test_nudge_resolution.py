"""Nudges resolve: when an event ends the situation a nudge warned about, the
nudge is withdrawn from the room (its side's coach panel is told to refresh)
and kept for the review with when it was raised and when it was resolved.
Dismissed nudges stay dismissed; events that do not end the situation leave
the nudge alone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from negotiation.models import DealEvent
from room import actions, coaching, services
from room.coaching import detectors
from room.models import Nudge
from room.services.coaching import nudge_dismiss, nudge_raise
from tests.factories import IssueFactory
from tests.room.conftest import add_commitment, propose

pytestmark = pytest.mark.django_db


def coach(deal) -> None:
    coaching.run_detectors([DealEvent.objects.filter(deal=deal).latest("seq")])


@pytest.fixture
def sent(monkeypatch) -> list:
    messages: list = []
    monkeypatch.setattr(
        detectors, "broadcast", lambda deal_id, message: messages.append(message)
    )
    return messages


@pytest.fixture
def price_untouched(midgame, issues, host, guest_access) -> Nudge:
    """Two trades on volume and support, none on the price: the hard issue
    is avoided, and each side is nudged."""
    volume = IssueFactory(deal=midgame, name="Volume", position=2)
    support = IssueFactory(deal=midgame, name="Support", position=3)
    propose(host, volume, "+10%", support, "remote only")
    coach(midgame)
    propose(guest_access, support, "on site", volume, "+5%")
    coach(midgame)
    return Nudge.objects.get(party=host.party, kind=Nudge.Kind.AVOIDING_HARD_ISSUE)


def test_a_trade_on_the_avoided_issue_resolves_its_nudge_for_both_sides(
    midgame, issues, host, guest_access, price_untouched, sent, rep_client
):
    price, terms = issues
    assert Nudge.objects.filter(resolved_at__isnull=True).count() == 2

    propose(host, price, "EUR 95k", terms, "30 days")
    coach(midgame)

    assert not Nudge.objects.filter(
        kind=Nudge.Kind.AVOIDING_HARD_ISSUE, resolved_at__isnull=True
    ).exists()
    assert {m["side"] for m in sent if m["type"] == "coach.changed"} == {
        "host",
        "counterpart",
    }
    room = rep_client.get(reverse("live:room", args=[midgame.pk])).content.decode()
    assert "has not been discussed yet" not in room
    review_url = reverse("review:review", args=[midgame.pk])
    review = rep_client.get(review_url).content.decode()
    assert "has not been discussed yet" in review
    assert "resolved" in review


def test_a_trade_on_other_issues_leaves_the_nudge(midgame, host, price_untouched, sent):
    volume = midgame.issues.get(name="Volume")
    support = midgame.issues.get(name="Support")

    propose(host, volume, "+12%", support, "hybrid")
    coach(midgame)

    price_untouched.refresh_from_db()
    assert price_untouched.resolved_at is None


def test_a_dismissed_nudge_stays_dismissed_when_it_resolves(
    midgame, issues, host, price_untouched
):
    price, _ = issues
    nudge_dismiss(access=host, nudge_key=price_untouched.key)

    services.term_set(access=host, issue_id=price.pk, version=None, value="95k")
    coach(midgame)

    price_untouched.refresh_from_db()
    assert price_untouched.dismissed_at is not None
    assert price_untouched.resolved_at is not None


def test_a_vague_commitment_made_measurable_resolves_its_nudge(close, host):
    commitment = add_commitment(host, target="best efforts")
    coach(close)
    assert Nudge.objects.filter(kind=Nudge.Kind.VAGUE_COMMITMENT).count() == 2

    services.commitment_update(
        access=host, commitment_id=commitment.pk, version=1, target="TBD"
    )
    coach(close)
    assert not Nudge.objects.filter(
        kind=Nudge.Kind.VAGUE_COMMITMENT, resolved_at__isnull=False
    ).exists()

    services.commitment_update(
        access=host, commitment_id=commitment.pk, version=2, target="95%"
    )
    coach(close)
    assert not Nudge.objects.filter(
        kind=Nudge.Kind.VAGUE_COMMITMENT, resolved_at__isnull=True
    ).exists()


def test_a_concession_taken_back_resolves_its_nudge(midgame, host):
    actions.perform(
        host,
        "concession.add",
        {"item": "Training", "we_give": "Free", "confirm_pitfall": "on"},
    )
    coach(midgame)
    nudge = Nudge.objects.get(kind=Nudge.Kind.CONCEDING)
    concession = midgame.concessions.get()

    services.concession_withdraw(access=host, concession_id=concession.pk, version=1)
    coach(midgame)

    nudge.refresh_from_db()
    assert nudge.resolved_at is not None


def test_one_way_disclosure_resolves_when_the_other_side_shares(
    midgame, issues, host, guest_access
):
    price, terms = issues
    services.position_update(
        access=host, version=None, interests="Cash flow", ranking=[price.pk]
    )
    coach(midgame)
    nudge = Nudge.objects.get(kind=Nudge.Kind.ONE_WAY_DISCLOSURE)

    services.position_update(
        access=guest_access, version=None, interests="", ranking=[terms.pk]
    )
    coach(midgame)

    nudge.refresh_from_db()
    assert nudge.resolved_at is not None


def test_an_accepted_trade_resolves_every_open_stalemate_nudge_and_no_other(
    midgame, issues, host, guest_access, sent
):
    price, terms = issues
    stalemates = [
        nudge_raise(
            party, Nudge.Kind.STALEMATE, subject, message="Stuck.", action="Move."
        )
        for party, subject in [
            (host.party, "circling:1"),
            (guest_access.party, "no-movement"),
        ]
    ]
    conceding = nudge_raise(
        host.party, Nudge.Kind.CONCEDING, "concession:1", message="…", action="…"
    )
    trade = propose(host, price, "10 days sooner", terms, "5% more volume")
    coach(midgame)
    assert Nudge.objects.filter(resolved_at__isnull=True).count() == 3
    sent.clear()

    services.trade_accept(access=guest_access, trade_id=trade.pk, version=trade.version)
    coach(midgame)

    for nudge in [*stalemates, conceding]:
        nudge.refresh_from_db()
    assert all(nudge.resolved_at is not None for nudge in stalemates)
    assert conceding.resolved_at is None
    assert {m["side"] for m in sent if m["type"] == "coach.changed"} == {
        "host",
        "counterpart",
    }

"""The review's "Value created and left": with both sides' consent to the
joint check, the agreement against the exact frontier of both scorings;
without it, the side's own score path only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from negotiation.models import IssueScore, Scoring
from room.models import JointCheckConsent
from tests.scenarios import client_for, client_for_guest, negotiate

pytestmark = pytest.mark.django_db

GUEST_MINIMUM = "31.79"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


def scoring(party, minimum: str, rows) -> None:
    """Written directly: a closed deal's preparation is read-only."""
    scoring = Scoring.objects.create(party=party, reservation_score=Decimal(minimum))
    for issue, weight, points, ratings in rows:
        IssueScore.objects.create(
            scoring=scoring, issue=issue, weight=weight, points=points, ratings=ratings
        )


@pytest.fixture
def done(rep):
    """Agreed at 201,000 EUR, 45 days and two on-site weeks. The host cares
    most about price, the counterpart about long payment terms and support:
    a higher price against longer payment was better for both."""
    deal = negotiate(owner=rep)
    support = {"Remote only": 100, "Two on-site weeks": 60, "Dedicated lead": 0}
    scoring(
        deal.host.party,
        "30",
        [
            (deal.price, 60, [["180000", 0], ["220000", 100]], {}),
            (deal.payment, 20, [["30", 100], ["90", 0]], {}),
            (deal.support, 20, [], support),
        ],
    )
    scoring(
        deal.guest.party,
        GUEST_MINIMUM,
        [
            (deal.price, 20, [["180000", 100], ["220000", 0]], {}),
            (deal.payment, 50, [["30", 0], ["90", 100]], {}),
            (deal.support, 30, [], {k: 100 - v for k, v in support.items()}),
        ],
    )
    return deal


def consent(deal) -> None:
    for party in (deal.host.party, deal.guest.party):
        JointCheckConsent.objects.create(deal=deal.deal, party=party)


def review_page(client, deal) -> str:
    response = client.get(reverse("review:review", args=[deal.deal.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_with_consent_the_agreement_is_set_against_the_frontier(rep, done):
    consent(done)

    page = review_page(client_for(rep), done)

    assert 'class="chart frontier-chart"' in page
    assert "Value was left on the table." in page
    # 58.5 for the host and 34 for the counterpart at the agreement.
    assert "the agreement scores 58 for you and 34 for them" in page
    assert GUEST_MINIMUM not in page


def test_the_counterpart_sees_the_same_picture_from_its_side(done):
    consent(done)

    page = review_page(client_for_guest(done.guest.participant), done)

    assert "the agreement scores 34 for you and 58 for them" in page
    assert "30.00" not in page  # the host's minimum


def test_without_consent_only_the_sides_own_score_path_shows(rep, done):
    JointCheckConsent.objects.create(deal=done.deal, party=done.host.party)

    page = review_page(client_for(rep), done)

    assert "frontier-chart" not in page
    assert 'class="chart score-path"' in page
    assert "only your own scoring is used" in page
    # The path ends at the agreement's score on the host's own scoring.
    assert "it ended at 58 of 100 on your own scoring" in page


def test_a_side_without_a_scoring_is_told_so(rep):
    deal = negotiate(owner=rep)

    page = review_page(client_for(rep), deal)

    assert "did not score packages in its preparation" in page

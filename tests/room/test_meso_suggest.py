"""“Suggest three packages”: a MESO set drawn from the author's own scoring,
equal for the author and varied where the other side said it cares."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from negotiation.selectors import own_scoring
from negotiation.services.preparation import IssueScoreInput, scoring_save
from room.models import SharedPosition

pytestmark = pytest.mark.django_db


def points(*pairs):
    return [(Decimal(value), score) for value, score in pairs]


def score(access, *, price_weight: int, reservation: str = "50") -> None:
    price, payment = access.deal.issues.order_by("position")
    scoring_save(
        access=access,
        version=None,
        reservation_score=Decimal(reservation),
        issues={
            price.pk: IssueScoreInput(
                price_weight, points=points((100, 0), (200, 100))
            ),
            payment.pk: IssueScoreInput(
                100 - price_weight, points=points((0, 100), (90, 0))
            ),
        },
    )


def suggest(client, deal):
    return client.get(reverse("live:meso-suggest", args=[deal.pk]))


def packages(page: str, deal) -> list[dict[int, str]]:
    issues = list(deal.issues.order_by("position"))
    found = []
    for n in "123":
        values = {}
        for issue in issues:
            match = re.search(rf'name="p{n}_{issue.pk}"[^>]*value="([^"]*)"', page)
            values[issue.pk] = html.unescape(match.group(1)) if match else ""
        if any(values.values()):
            found.append(values)
    return found


def test_three_packages_worth_the_same_to_the_author_varied_where_they_care(
    midgame, host_access, guest_access, rep_client
):
    score(host_access, price_weight=50)
    price, payment = midgame.issues.order_by("position")
    SharedPosition.objects.create(
        party=guest_access.party, ranking=[payment.pk, price.pk]
    )

    response = suggest(rep_client, midgame)

    assert response.status_code == 200
    page = response.content.decode()
    found = packages(page, midgame)
    assert len(found) == 3
    scoring = own_scoring(host_access.party)
    totals = [scoring.score(package).total for package in found]
    assert max(totals) - min(totals) <= 4  # each within ±2 of one score
    # Three different packages, varied on payment terms (the issue they
    # ranked first) as far as the author's score band allows.
    assert len({tuple(package.items()) for package in found}) == 3
    days = sorted(int(package[payment.pk].split()[0]) for package in found)
    assert days[-1] - days[0] >= 40
    assert "varied most on the issues they ranked highest" in page
    assert 'id="meso-form"' in page


def test_the_suggestions_never_read_the_other_sides_scoring(
    midgame, host_access, guest_access, rep_client
):
    score(host_access, price_weight=60)
    score(guest_access, price_weight=20, reservation="77.77")
    first = packages(suggest(rep_client, midgame).content.decode(), midgame)

    score_again = own_scoring(guest_access.party)
    assert score_again is not None
    scoring_save(
        access=guest_access,
        version=1,
        reservation_score=Decimal("12.34"),
        issues={
            pk: IssueScoreInput(100 - v.weight, points=list(v.points))
            for pk, v in score_again.issues.items()
        },
    )
    page = suggest(rep_client, midgame).content.decode()

    assert packages(page, midgame) == first
    assert "77.77" not in page
    assert "12.34" not in page
    assert "have not shared a ranking yet" in page


def test_without_a_scoring_it_says_what_to_do(midgame, rep_client):
    page = suggest(rep_client, midgame).content.decode()

    assert "Score every issue in your private preparation" in page
    assert packages(page, midgame) == []


def test_outside_midgame_nothing_is_suggested(deal, host_access, rep_client):
    score(host_access, price_weight=50)

    response = suggest(rep_client, deal)  # the deal is still in Setup

    assert response.status_code == 409

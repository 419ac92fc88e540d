"""The dashboard, its CSV and the review page issue a fixed number of SQL
queries, however many deals, events and trades there are: each is measured at
two sizes and must not grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiation.models import DealEvent, Membership
from tests.factories import MembershipFactory, UserFactory, make_deal
from tests.scenarios import client_for, negotiate

pytestmark = pytest.mark.django_db

# A ceiling as well as a constant: a page that needs far more than this has a
# query per row somewhere, even if both sizes happen to agree.
MAX_DASHBOARD_QUERIES = 20
MAX_REVIEW_QUERIES = 30


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


def count_queries(browser, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(address)
    assert response.status_code == 200, address
    return len(queries)


def grow_team(team, rep, *, closed: int, open_deals: int, extra: int) -> None:
    for index in range(closed):
        negotiate(
            owner=rep, team=team, title=f"Closed {extra}-{index}",
            outcome="agreed" if index % 3 else "no_deal",
            extra_trades=extra, extra_messages=extra,
        )  # fmt: skip
    for index in range(open_deals):
        make_deal(owner=rep, team=team, title=f"Open {extra}-{index}")


@pytest.mark.parametrize(
    "address",
    [
        reverse("review:dashboard"),
        reverse("review:dashboard") + "?status=agreed&q=closed&sort=closed",
        reverse("review:dashboard-csv"),
    ],
)
def test_the_dashboard_queries_do_not_grow_with_the_team(rep, address):
    team = Membership.objects.get(user=rep).team
    manager = MembershipFactory(
        team=team, role=Membership.Role.MANAGER, user=UserFactory()
    ).user
    browser = client_for(manager)

    grow_team(team, rep, closed=2, open_deals=1, extra=0)
    small = count_queries(browser, address)
    grow_team(team, rep, closed=6, open_deals=25, extra=4)
    large = count_queries(browser, address)

    assert small == large
    assert large <= MAX_DASHBOARD_QUERIES


def review_addresses(deal) -> list[str]:
    review = reverse("review:review", args=[deal.pk])
    return [
        review,
        f"{review}?step=12",
        reverse("review:review-summary", args=[deal.pk, "host"]),
        reverse("review:review-markdown", args=[deal.pk, "host"]),
        reverse("review:review-ics", args=[deal.pk]),
    ]


def test_the_review_queries_do_not_grow_with_events_and_trades(rep):
    small = negotiate(owner=rep, title="Small")
    large = negotiate(owner=rep, title="Large", extra_trades=12, extra_messages=30)
    assert (
        DealEvent.objects.filter(deal=large.deal).count()
        > 2 * DealEvent.objects.filter(deal=small.deal).count()
    )
    manager = MembershipFactory(
        team=small.deal.team, role=Membership.Role.MANAGER, user=UserFactory()
    ).user

    for viewer in (client_for(rep), client_for(manager)):
        for small_address, large_address in zip(
            review_addresses(small.deal), review_addresses(large.deal), strict=True
        ):
            few = count_queries(viewer, small_address)
            many = count_queries(viewer, large_address)
            assert few == many, (small_address, few, many)
            assert many <= MAX_REVIEW_QUERIES

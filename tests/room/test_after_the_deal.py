"""Around the agreement and after it: open trades and package sets are
superseded by the agreement; an accepted trade is one row of each side's
concession log; both sides are asked for the post-deal review (insistently
three days on); the review counts commitments confirmed without a measure."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from negotiation.models import Deal
from review.models import PostDealReview
from room import actions, services
from room.models import Concession, MesoSet, Trade
from tests.room.conftest import (
    add_commitment,
    agree_cadence,
    at_stage,
    fresh,
    packages_for,
    propose,
)

pytestmark = pytest.mark.django_db


def page(client, deal: Deal) -> str:
    response = client.get(reverse("live:room", args=[deal.pk]))
    assert response.status_code == 200
    return response.content.decode()


def confirm_agreement(deal, *sides) -> None:
    for side in sides:
        services.agreement_confirm(access=side, digest=services.agreement_digest(deal))


# --- superseded by the agreement -----------------------------------------------


@pytest.fixture
def left_open(midgame, issues, host, guest_access):
    """A trade and a package set nobody answered, then everything for the
    agreement but the confirmations."""
    price, terms = issues
    trade = propose(guest_access, terms, "45 days", price, "90")
    meso = services.meso_present(access=host, packages=packages_for(price, terms))
    at_stage(midgame, Deal.Stage.CLOSE)
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")
    agree_cadence(host, guest_access)
    return trade, meso


def test_the_agreement_supersedes_open_trades_and_packages(
    left_open, midgame, host, guest_access, rep_client, guest_client
):
    trade, meso = left_open
    version = Trade.objects.get(pk=trade.pk).version
    confirm_agreement(midgame, host)
    # One confirmation is not the agreement: nothing is closed yet.
    assert fresh(trade).status == Trade.Status.OPEN
    assert fresh(meso).status == MesoSet.Status.PRESENTED

    confirm_agreement(midgame, guest_access)

    assert fresh(midgame).status == Deal.Status.AGREED
    assert fresh(trade).status == Trade.Status.SUPERSEDED
    assert Trade.objects.get(pk=trade.pk).version == version + 1
    assert fresh(meso).status == MesoSet.Status.SUPERSEDED
    for client in (rep_client, guest_client):
        html = page(client, midgame)
        assert html.count("Superseded by the agreement") == 2


def test_answered_trades_keep_their_status(left_open, midgame, host, guest_access):
    trade, _ = left_open
    declined = Trade.objects.filter(pk=trade.pk)
    declined.update(status=Trade.Status.DECLINED)
    confirm_agreement(midgame, host, guest_access)
    assert fresh(trade).status == Trade.Status.DECLINED


# --- an accepted trade in the concession log -------------------------------------


def test_an_accepted_trade_is_one_row_in_each_sides_log(
    midgame, issues, host, guest_access, rep_client, guest_client
):
    price, terms = issues
    trade = propose(guest_access, terms, "45 days", price, "-8%")
    services.trade_accept(access=host, trade_id=trade.pk, version=trade.version)
    # Logged once per side: each side's own entry, for its own valuations.
    entries = Concession.objects.filter(trade=trade)
    assert sorted(e.party.side for e in entries) == ["counterpart", "host"]
    host_entry = entries.get(party=host.party)
    guest_entry = entries.get(party=guest_access.party)

    host_page = page(rep_client, midgame)
    guest_page = page(guest_client, midgame)
    assert f'id="concession-{host_entry.pk}"' in host_page
    assert f'id="concession-{guest_entry.pk}"' not in host_page
    assert f'id="concession-{guest_entry.pk}"' in guest_page
    assert f'id="concession-{host_entry.pk}"' not in guest_page

    # The counterpart shares its valuation: the host reads it in its own row.
    services.concession_value(
        access=guest_access, concession_id=guest_entry.pk, version=1,
        value_to_us=Decimal("1234.50"), value_to_them=Decimal("2345.60"),
        values_shared=True,
    )  # fmt: skip
    assert "Their view: 1234.50 / 2345.60" in page(rep_client, midgame)


def test_the_other_sides_unshared_valuation_stays_out_of_the_row(
    midgame, issues, host, guest_access, rep_client
):
    price, terms = issues
    trade = propose(guest_access, terms, "45 days", price, "-8%")
    services.trade_accept(access=host, trade_id=trade.pk, version=trade.version)
    guest_entry = Concession.objects.get(trade=trade, party=guest_access.party)
    services.concession_value(
        access=guest_access, concession_id=guest_entry.pk, version=1,
        value_to_us=Decimal("7777.77"), value_to_them=Decimal("8888.88"),
        values_shared=False,
    )  # fmt: skip
    html = page(rep_client, midgame)
    assert "7777.77" not in html
    assert "Their view" not in html


# --- the post-deal review, asked of both sides -----------------------------------


def test_closing_the_deal_asks_both_sides_for_the_post_deal_review(
    deal, guest_access, rep_client, guest_client
):
    assert 'id="debrief-prompt"' not in page(rep_client, deal)
    services.deal_end_no_deal(access=guest_access, reason="Budget frozen.")
    review = reverse("review:review", args=[deal.pk])
    for client in (rep_client, guest_client):
        html = page(client, deal)
        assert 'id="debrief-prompt"' in html
        assert "Write the post-deal review" in html
        assert f'href="{review}#own-review"' in html
        assert "Still to do" not in html
    detail = rep_client.get(reverse("negotiation:deal-detail", args=[deal.pk]))
    assert "Write the post-deal review" in detail.content.decode()


def test_three_days_on_the_prompt_insists_until_the_side_writes_its_review(
    deal, host, guest_access, rep_client, guest_client
):
    services.deal_end_no_deal(access=guest_access, reason="Budget frozen.")
    Deal.objects.filter(pk=deal.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=3, minutes=1)
    )
    for client in (rep_client, guest_client):
        assert "Still to do" in page(client, deal)

    PostDealReview.objects.create(deal=deal, party=host.party)
    host_html = page(rep_client, deal)
    assert "Still to do" not in host_html
    assert "post-deal review is written" in host_html
    # The counterpart has not written its own: still reminded.
    assert "Still to do" in page(guest_client, deal)


def test_two_days_on_is_not_yet_a_reminder(deal, guest_access, rep_client):
    services.deal_end_no_deal(access=guest_access, reason="Budget frozen.")
    Deal.objects.filter(pk=deal.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=2, hours=23)
    )
    assert "Still to do" not in page(rep_client, deal)


# --- commitments confirmed without a measure, counted by the review -------------


def test_the_review_counts_commitments_confirmed_anyway(
    close, issues, host, guest_access, rep_client, guest_client
):
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")
    vague = add_commitment(
        host, description="Best efforts on adoption", metric="", target="TBD",
        due_date=None,
    )  # fmt: skip
    data = {"commitment_id": vague.pk, "version": vague.version, "confirm": "on"}
    for side in (host, guest_access):
        with pytest.raises(actions.ActionRefused) as warned:
            actions.perform(side, "commitment.confirm", data)
        assert warned.value.code == "pitfall"
        actions.perform(side, "commitment.confirm", data | {"confirm_pitfall": "on"})
    measured = add_commitment(host, description="Dashboards in every store")
    for side in (host, guest_access):
        actions.perform(
            side, "commitment.confirm",
            {"commitment_id": measured.pk, "version": 1, "confirm": "on"},
        )  # fmt: skip
    agree_cadence(host, guest_access)
    confirm_agreement(close, host, guest_access)

    review = reverse("review:review", args=[close.pk])
    for client in (rep_client, guest_client):
        html = client.get(review).content.decode()
        assert "1 confirmed commitment cannot be measured" in html
        assert "“Best efforts on adoption”" in html
        assert "“Dashboards in every store”" not in html.split("unmeasured")[1][:400]
        assert "confirmed 1 of them anyway" in html

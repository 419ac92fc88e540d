"""A walk-away figure is never negative; a deadline already past is saved
with a warning, not refused."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from negotiation.models import Deal, Preparation

pytestmark = pytest.mark.django_db


def test_a_negative_walk_away_figure_is_refused_and_nothing_changes(rep_client, deal):
    response = rep_client.post(
        reverse("negotiation:prep-section", args=[deal.pk, "walkaway"]),
        {
            "version": "1",
            "batna": "Renew with Globex",
            "reservation_point": "",
            "reservation_value": "-92000",
            "target_outcome": "",
        },
    )

    assert response.status_code == 422
    assert "cannot be negative" in response.content.decode()
    prep = Preparation.objects.get(party__deal=deal, party__side="host")
    assert (prep.batna, prep.reservation_value, prep.version) == ("", None, 1)


def deal_fields(deal: Deal, deadline: datetime.date) -> dict[str, str]:
    return {
        "version": str(deal.version),
        "title": deal.title,
        "counterpart_organisation": deal.counterpart_organisation,
        "context": deal.context,
        "shared_purpose": deal.shared_purpose,
        "review_cadence": deal.review_cadence,
        "deadline": deadline.isoformat(),
    }


def test_a_past_deadline_is_saved_with_a_warning(rep_client, deal):
    last_week = timezone.localdate() - datetime.timedelta(days=7)

    response = rep_client.post(
        reverse("negotiation:deal-edit", args=[deal.pk]),
        deal_fields(deal, last_week),
        follow=True,
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.deadline == last_week
    assert "has already passed" in response.content.decode()


def test_a_future_deadline_is_saved_without_a_warning(rep_client, deal):
    next_week = timezone.localdate() + datetime.timedelta(days=7)

    response = rep_client.post(
        reverse("negotiation:deal-edit", args=[deal.pk]),
        deal_fields(deal, next_week),
        follow=True,
    )

    deal.refresh_from_db()
    assert deal.deadline == next_week
    assert "has already passed" not in response.content.decode()


def test_a_new_deal_with_a_past_deadline_is_created_with_a_warning(rep_client):
    response = rep_client.post(
        reverse("negotiation:deal-create"),
        {
            "title": "Late entry",
            "counterpart_organisation": "Globex",
            "context": "sales",
            "review_cadence": "monthly",
            "deadline": "2020-01-31",
        },
        follow=True,
    )

    assert Deal.objects.get(title="Late entry").deadline == datetime.date(2020, 1, 31)
    assert "The deadline, 31 Jan 2020, has already passed" in response.content.decode()

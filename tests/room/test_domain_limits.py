"""Dates and amounts the domain rules out: a check-in held after today, and a
concession worth less than nothing. Refused with a clear message; nothing
written, nothing broadcast."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from negotiation.models import Deal
from room import services
from room.models import CheckIn, Commitment, Concession
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db


def test_a_check_in_cannot_be_held_after_today(agreed, ready, host, log):
    at_stage(agreed, Deal.Stage.IMPLEMENTATION)
    statuses = {ready.pk: Commitment.Status.ON_TRACK}
    in_two_days = timezone.localdate() + datetime.timedelta(days=2)

    with log.refused(match="once it has been held") as refusal:
        services.check_in_add(
            access=host, held_on=in_two_days, notes="", statuses=statuses
        )
    assert "held_on" in refusal.value.error_dict
    assert not CheckIn.objects.exists()

    with log.expect("checkin.added"):
        services.check_in_add(
            access=host, held_on=timezone.localdate(), notes="", statuses=statuses
        )


@pytest.mark.parametrize("field", ["value_to_us", "value_to_them"])
def test_a_concession_cannot_be_worth_less_than_nothing(midgame, host, log, field):
    with log.refused(match="cannot be negative") as refusal:
        services.concession_add(
            access=host,
            item="Onboarding",
            we_give="Workshops",
            **{field: Decimal("-1")},
        )
    assert field in refusal.value.error_dict
    assert not Concession.objects.exists()

    with log.expect("concession.added"):
        concession = services.concession_add(
            access=host, item="Onboarding", we_give="Workshops", **{field: Decimal(0)}
        )
    with log.refused(match="cannot be negative"):
        services.concession_value(
            access=host,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("-1200"),
            value_to_them=Decimal("5000"),
            values_shared=False,
        )
    concession.refresh_from_db()
    assert concession.value_to_us in (None, Decimal(0))

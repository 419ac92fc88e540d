"""The concession log: each side values its own entries.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from negotiation.models import Deal
from negotiation.services.base import EditConflict
from room import services

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- the concession log --------------------------------------------------------


def test_a_side_values_its_own_concessions_only(midgame, host, guest_access, log):
    concession = services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops"
    )

    with log.refused(PermissionDenied):
        services.concession_value(
            access=guest_access,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("1"),
            value_to_them=Decimal("99999"),
            values_shared=True,
        )
    with log.expect("concession.valued"):
        services.concession_value(
            access=host,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("1200"),
            value_to_them=Decimal("5000"),
            values_shared=False,
        )
    with log.refused(EditConflict):
        services.concession_value(
            access=host,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("1"),
            value_to_them=None,
            values_shared=True,
        )

    concession.refresh_from_db()
    assert concession.value_to_us == Decimal("1200")
    assert concession.value_to_them == Decimal("5000")
    assert not concession.values_shared
    assert concession.version == 2


def test_a_concession_is_logged_for_the_side_that_logs_it(midgame, guest_access, log):
    with log.expect("concession.added"):
        concession = services.concession_add(
            access=guest_access,
            item=" Pilot ",
            we_give="A reference call",
            value_to_us=Decimal("10"),
        )

    assert concession.party == guest_access.party
    assert concession.created_by == guest_access.participant
    assert concession.item == "Pilot"

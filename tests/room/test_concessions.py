"""The concession log: each side values its own entries.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from negotiation.models import Deal, DealEvent
from negotiation.services.base import EditConflict
from room import services
from room.models import Concession
from tests.room.conftest import propose

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


# --- taking a concession back ---------------------------------------------------------


def test_a_side_takes_back_its_unanswered_concession(deal, midgame, host, log):
    concession = services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops"
    )

    with log.expect("concession.withdrawn"):
        services.concession_withdraw(
            access=host, concession_id=concession.pk, version=concession.version
        )

    assert not Concession.objects.filter(pk=concession.pk).exists()
    # The log keeps what was given and taken back, for the replay.
    event = DealEvent.objects.filter(deal=deal).latest("seq")
    assert event.payload == {"concession_id": concession.pk, "text": "Onboarding"}


def test_once_the_other_side_has_acted_a_concession_stays(
    midgame, host, guest_access, log
):
    concession = services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops"
    )
    services.message_post(access=guest_access, body="Thanks, noted.")

    with log.refused(match="has acted since"):
        services.concession_withdraw(
            access=host, concession_id=concession.pk, version=concession.version
        )

    assert Concession.objects.filter(pk=concession.pk).exists()


def test_the_sides_own_later_actions_do_not_answer_its_concession(midgame, host, log):
    concession = services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops"
    )
    services.message_post(access=host, body="We hope that helps.")

    with log.expect("concession.withdrawn"):
        services.concession_withdraw(
            access=host, concession_id=concession.pk, version=concession.version
        )


def test_only_its_side_takes_a_concession_back_on_its_current_version(
    midgame, host, guest_access, log
):
    concession = services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops"
    )

    with log.refused(PermissionDenied):
        services.concession_withdraw(
            access=guest_access, concession_id=concession.pk, version=1
        )
    with log.refused(EditConflict):
        services.concession_withdraw(
            access=host, concession_id=concession.pk, version=7
        )


def test_a_concession_of_an_accepted_trade_cannot_be_taken_back(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    trade = propose(host, price, "95", terms, "30 days")
    services.trade_accept(access=guest_access, trade_id=trade.pk, version=trade.version)
    concession = Concession.objects.filter(trade=trade, party=host.party).first()
    assert concession is not None

    with log.refused(match="part of an accepted trade"):
        services.concession_withdraw(
            access=host, concession_id=concession.pk, version=concession.version
        )

"""Who may act in the room, and a retried action applied once.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from negotiation.access import (
    deal_access_for_user,
)
from negotiation.models import Deal, DealEvent, Participant
from negotiation.services import base
from negotiation.services import deals as deal_services
from room import services
from room.models import (
    Message,
    Trade,
)
from tests.room.conftest import (
    at_stage,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- who may act ---------------------------------------------------------------


def test_a_manager_reviews_but_cannot_act(deal, team_manager, log):
    manager = deal_access_for_user(team_manager, deal.pk)

    with log.refused(PermissionDenied):
        services.message_post(access=manager, body="From the manager")
    with log.refused(PermissionDenied):
        services.stage_change_propose(access=manager, to_stage=Stage.FIRST_MOVE)


def test_a_revoked_guest_cannot_act_with_an_access_resolved_before(
    deal, guest, guest_access, log
):
    Participant.objects.filter(pk=guest[1].pk).update(revoked_at=timezone.now())
    guest_access.participant.refresh_from_db()

    with log.refused(PermissionDenied):
        services.message_post(access=guest_access, body="Still here?")


def test_a_revoked_guest_is_refused_even_by_an_access_that_has_not_seen_it(
    deal, guest, guest_access, log
):
    """The deal is locked in the same statement that checks the participant,
    so a socket's long-lived copy of the access cannot act after a revoke."""
    Participant.objects.filter(pk=guest[1].pk).update(revoked_at=timezone.now())
    assert guest_access.participant.revoked_at is None  # the stale copy

    with log.refused(PermissionDenied):
        services.message_post(access=guest_access, body="Still here?")
    with log.refused(PermissionDenied):
        deal_services.issue_add(access=guest_access, name="Sneaked in")


def test_a_retried_action_is_applied_once(deal, host, log):
    with log.expect("message.posted"):
        services.message_post(access=host, body="Once", client_msg_id="m-1")

    with log.refused(base.AlreadyApplied) as replay:
        services.message_post(access=host, body="Once", client_msg_id="m-1")

    assert replay.value.event == DealEvent.objects.get(client_msg_id="m-1")
    assert Message.objects.count() == 1


def test_a_retry_is_recognised_even_when_the_action_would_now_be_refused(
    midgame, issues, host, log
):
    price, terms = issues
    trade = {
        "access": host,
        "give_issue_id": price.pk,
        "give_value": "4% off",
        "ask_issue_id": terms.pk,
        "ask_value": "3 years",
        "client_msg_id": "t-1",
    }
    with log.expect("trade.proposed"):
        services.trade_propose(**trade)
    at_stage(midgame, Stage.CLOSE)  # trades are closed now

    with log.refused(base.AlreadyApplied) as replay:
        services.trade_propose(**trade)

    assert replay.value.event.kind == "trade.proposed"
    assert Trade.objects.count() == 1

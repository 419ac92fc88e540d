"""Moving between stages (one side proposes, the other decides), Setup's
shared purpose, and ending without agreement.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from negotiation.access import (
    deal_access_for_user,
)
from negotiation.models import Deal
from negotiation.services.base import EditConflict
from room import services
from room.models import (
    StageChange,
)
from tests.factories import make_deal
from tests.room.conftest import (
    at_stage,
    fresh,
    propose,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- stages --------------------------------------------------------------------


def test_a_stage_changes_when_one_side_proposes_and_the_other_accepts(
    deal, host, guest_access, log
):
    with log.expect("stage.proposed"):
        change = services.stage_change_propose(
            access=host, to_stage=Stage.FIRST_MOVE, note="  Agenda agreed  "
        )
    assert fresh(deal).stage == Stage.SETUP  # nothing moves on a proposal
    version = deal.version

    with log.expect("stage.accepted"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=True
        )

    change.refresh_from_db()
    assert change.status == StageChange.Status.ACCEPTED
    assert change.note == "Agenda agreed"
    assert change.decided_by == guest_access.participant
    assert fresh(deal).stage == Stage.FIRST_MOVE
    assert deal.version == version + 1


def test_only_one_stage_change_waits_at_a_time(deal, host, guest_access, log):
    services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.refused(match="already waiting"):
        services.stage_change_propose(access=guest_access, to_stage=Stage.FIRST_MOVE)


@pytest.mark.parametrize("stage", [Stage.MIDGAME, Stage.CLOSE, Stage.SETUP])
def test_a_deal_moves_one_stage_at_a_time(deal, host, log, stage):
    with log.refused(match="one stage at a time"):
        services.stage_change_propose(access=host, to_stage=stage)


def test_a_deal_can_go_back_one_stage(deal, host, guest_access, log):
    at_stage(deal, Stage.MIDGAME)

    change = services.stage_change_propose(access=guest_access, to_stage="first_move")
    services.stage_change_respond(access=host, change_id=change.pk, accept=True)

    assert fresh(deal).stage == Stage.FIRST_MOVE


def test_the_proposer_cannot_accept_its_own_stage_change(deal, host, log):
    change = services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.refused(PermissionDenied):
        services.stage_change_respond(access=host, change_id=change.pk, accept=True)

    assert fresh(change).status == StageChange.Status.PENDING
    assert fresh(deal).stage == Stage.SETUP


def test_a_declined_stage_change_leaves_the_stage_and_frees_the_way(
    deal, host, guest_access, log
):
    change = services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.expect("stage.declined"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=False
        )
    with log.refused(match="already answered"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=True
        )

    assert fresh(change).status == StageChange.Status.DECLINED
    assert fresh(deal).stage == Stage.SETUP
    with log.expect("stage.proposed"):
        services.stage_change_propose(access=guest_access, to_stage=Stage.FIRST_MOVE)


def test_only_the_proposer_withdraws_a_stage_change(deal, host, guest_access, log):
    change = services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.refused(PermissionDenied):
        services.stage_change_withdraw(access=guest_access, change_id=change.pk)
    with log.expect("stage.withdrawn"):
        services.stage_change_withdraw(access=host, change_id=change.pk)
    with log.refused(match="already answered"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=True
        )

    assert fresh(change).status == StageChange.Status.WITHDRAWN
    assert fresh(deal).stage == Stage.SETUP


def test_a_stage_change_of_another_deal_cannot_be_answered(deal, guest_access, log):
    other = make_deal(title="Other")
    foreign = services.stage_change_propose(
        access=deal_access_for_user(other.owner, other.pk), to_stage=Stage.FIRST_MOVE
    )

    with log.refused(match="does not exist"):
        services.stage_change_respond(
            access=guest_access, change_id=foreign.pk, accept=True
        )

    assert fresh(foreign).status == StageChange.Status.PENDING
    assert fresh(other).stage == Stage.SETUP


# --- Setup ---------------------------------------------------------------------


def test_setup_is_co_edited_and_a_stale_edit_is_refused(deal, host, guest_access, log):
    with log.expect("setup.updated"):
        services.setup_update(
            access=guest_access,
            version=deal.version,
            shared_purpose=" A rollout both boards sign off ",
            ground_rules="Interests, not walk-away points",
        )
    with log.refused(EditConflict):
        services.setup_update(
            access=host, version=deal.version, shared_purpose="Mine", ground_rules=""
        )

    assert fresh(deal).shared_purpose == "A rollout both boards sign off"
    assert deal.ground_rules == "Interests, not walk-away points"


# --- ending without agreement --------------------------------------------------


def test_ending_without_agreement_needs_a_reason_and_makes_the_room_read_only(
    midgame, issues, host, guest_access, log
):
    with log.refused() as refusal:
        services.deal_end_no_deal(access=guest_access, reason="  ")
    assert "reason" in refusal.value.message_dict
    assert fresh(midgame).status == Deal.Status.OPEN

    with log.expect("deal.no_deal"):
        services.deal_end_no_deal(access=guest_access, reason=" The budget was frozen ")

    midgame.refresh_from_db()
    assert midgame.status == Deal.Status.NO_DEAL
    assert midgame.outcome_note == "The budget was frozen"
    assert midgame.closed_at is not None
    price, terms = issues
    for access in (host, guest_access):
        with log.refused(match="read-only"):
            services.message_post(access=access, body="One more thing")
        with log.refused(match="read-only"):
            propose(access, price, "-1%", terms, "29 days")
        with log.refused(match="read-only"):
            services.stage_change_propose(access=access, to_stage=Stage.CLOSE)
        with log.refused(match="read-only"):
            services.deal_end_no_deal(access=access, reason="Again")


def test_a_trade_links_two_different_issues(midgame, host, issues, log):
    issue = issues[0]
    with pytest.raises(ValidationError, match="another issue"):
        services.trade_propose(
            access=host,
            give_issue_id=issue.pk,
            give_value="a",
            ask_issue_id=issue.pk,
            ask_value="b",
        )


def test_after_the_agreement_the_only_way_is_implementation(deal, host, log):
    at_stage(deal, Deal.Stage.CLOSE)
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.AGREED)
    with pytest.raises(ValidationError, match="next is Implementation"):
        services.stage_change_propose(access=host, to_stage=Deal.Stage.MIDGAME)
    with log.expect("stage.proposed"):
        services.stage_change_propose(access=host, to_stage=Deal.Stage.IMPLEMENTATION)

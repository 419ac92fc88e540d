"""Moving between stages (one side proposes, the other decides), ending
without a deal, and the Setup stage's shared purpose and ground rules."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import Deal
from negotiation.services.base import (
    applied_once,
    check_version,
    save_versioned,
    validate,
)
from room.models import StageChange
from room.services.rules import (
    STAGE_ORDER,
    Stage,
    deal_object,
    require_tool,
    room_event,
)


@applied_once
def stage_change_propose(
    *, access: DealAccess, to_stage: str, note: str = "", client_msg_id=None
) -> StageChange:
    """Propose moving to the next (or back to the previous) stage."""
    deal = require_tool(access, "stage")
    if to_stage not in STAGE_ORDER:
        raise ValidationError("Unknown stage.")
    step = STAGE_ORDER.index(to_stage) - STAGE_ORDER.index(deal.stage)
    if step not in (-1, 1):
        raise ValidationError("A deal moves one stage at a time.")
    if deal.status == Deal.Status.AGREED and to_stage != Stage.IMPLEMENTATION:
        raise ValidationError("The agreement is confirmed: next is Implementation.")
    if deal.stage_changes.filter(status=StageChange.Status.PENDING).exists():
        raise ValidationError("A stage change is already waiting for an answer.")
    change = StageChange(
        deal=deal,
        from_stage=deal.stage,
        to_stage=to_stage,
        party=access.party,
        proposed_by=access.participant,
        note=note.strip(),
    )
    validate(change)
    change.save()
    room_event(access, deal, "stage.proposed", client_msg_id, change_id=change.pk)
    return change


def _pending_change(deal: Deal, access: DealAccess, change_id, *, own: bool):
    """A stage change still waiting for an answer, checked for whose it is."""
    change = deal_object(StageChange, deal, change_id, access.party, own=own)
    if change.status != StageChange.Status.PENDING:
        raise ValidationError("That stage change was already answered.")
    return change


@applied_once
def stage_change_respond(
    *, access: DealAccess, change_id: int, accept: bool, client_msg_id=None
) -> StageChange:
    """The other side accepts (the deal moves) or declines a stage change."""
    deal = require_tool(access, "stage")
    change = _pending_change(deal, access, change_id, own=False)
    if change.from_stage != deal.stage:
        raise ValidationError("The deal has moved on since this was proposed.")
    change.status = (
        StageChange.Status.ACCEPTED if accept else StageChange.Status.DECLINED
    )
    change.decided_by = access.participant
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    if accept:
        deal.stage = change.to_stage
        save_versioned(deal, fields=["stage"])
    kind = "stage.accepted" if accept else "stage.declined"
    room_event(access, deal, kind, client_msg_id, change_id=change.pk, stage=deal.stage)
    return change


@applied_once
def stage_change_withdraw(
    *, access: DealAccess, change_id: int, client_msg_id=None
) -> StageChange:
    deal = require_tool(access, "stage")
    change = _pending_change(deal, access, change_id, own=True)
    change.status = StageChange.Status.WITHDRAWN
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_at"])
    room_event(access, deal, "stage.withdrawn", client_msg_id, change_id=change.pk)
    return change


@applied_once
def deal_end_no_deal(*, access: DealAccess, reason: str, client_msg_id=None) -> Deal:
    """Either side can end the negotiation without agreement, saying why."""
    deal = require_tool(access, "end")
    if not reason.strip():
        raise ValidationError({"reason": "Say why there is no deal."})
    deal.status = Deal.Status.NO_DEAL
    deal.outcome_note = reason.strip()
    deal.closed_at = timezone.now()
    save_versioned(deal, fields=["status", "outcome_note", "closed_at"])
    room_event(access, deal, "deal.no_deal", client_msg_id)
    return deal


@applied_once
def setup_update(
    *,
    access: DealAccess,
    version: int,
    shared_purpose: str,
    ground_rules: str,
    client_msg_id=None,
) -> Deal:
    """Both sides co-edit the shared purpose and ground rules during Setup."""
    deal = require_tool(access, "setup")
    check_version(deal, version)
    deal.shared_purpose = shared_purpose.strip()
    deal.ground_rules = ground_rules.strip()
    save_versioned(deal, fields=["shared_purpose", "ground_rules"])
    room_event(access, deal, "setup.updated", client_msg_id)
    return deal

"""The review cadence and first check-in, agreed in the room: one side
proposes, the other accepts or declines, as with a stage change. The agreed
one is written on the deal (``review_cadence``, ``first_check_in``), where
the check-in schedule, its calendar file and the reminders read it."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import Deal
from negotiation.services.base import applied_once, save_versioned
from room.models import CadenceProposal
from room.schedule import CADENCE_DAYS
from room.services.rules import deal_object, require_tool, room_event

# The first check-in is planned, not open-ended: within a year.
FIRST_CHECK_IN_MAX_DAYS = 366


def cadence_label(cadence: str) -> str:
    return dict(Deal._meta.get_field("review_cadence").choices).get(cadence, cadence)


def _payload(proposal: CadenceProposal) -> dict:
    """The shared facts the replay tells: the cadence and the first date."""
    return {
        "proposal_id": proposal.pk,
        "cadence": proposal.cadence,
        "first_check_in": proposal.first_check_in.isoformat(),
    }


@applied_once
def cadence_propose(
    *,
    access: DealAccess,
    cadence: str,
    first_check_in: datetime.date,
    client_msg_id=None,
) -> CadenceProposal:
    """Propose how often both sides review the commitments, from which date."""
    deal = require_tool(access, "cadence")
    if cadence not in CADENCE_DAYS:
        raise ValidationError({"cadence": "Choose weekly, every two weeks, "
                               "monthly or quarterly."})  # fmt: skip
    today = timezone.localdate()
    if first_check_in < today:
        raise ValidationError(
            {"first_check_in": "The first check-in is still to come: pick today "
             "or a later date."}
        )  # fmt: skip
    if first_check_in > today + datetime.timedelta(days=FIRST_CHECK_IN_MAX_DAYS):
        raise ValidationError(
            {"first_check_in": "Pick a first check-in within the next year."}
        )
    if deal.cadence_proposals.filter(status=CadenceProposal.Status.PENDING).exists():
        raise ValidationError("A review cadence is already waiting for an answer.")
    proposal = CadenceProposal.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        cadence=cadence,
        first_check_in=first_check_in,
    )
    room_event(access, deal, "cadence.proposed", client_msg_id, **_payload(proposal))
    return proposal


def _pending(deal: Deal, access: DealAccess, proposal_id, *, own: bool):
    proposal = deal_object(CadenceProposal, deal, proposal_id, access.party, own=own)
    if proposal.status != CadenceProposal.Status.PENDING:
        raise ValidationError("That review cadence was already answered.")
    return proposal


@applied_once
def cadence_respond(
    *, access: DealAccess, proposal_id: int, accept: bool, client_msg_id=None
) -> CadenceProposal:
    """The other side accepts (it becomes the deal's cadence) or declines."""
    deal = require_tool(access, "cadence")
    proposal = _pending(deal, access, proposal_id, own=False)
    proposal.status = (
        CadenceProposal.Status.ACCEPTED if accept else CadenceProposal.Status.DECLINED
    )
    proposal.decided_by = access.participant
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_by", "decided_at"])
    if accept:
        deal.review_cadence = proposal.cadence
        deal.first_check_in = proposal.first_check_in
        save_versioned(deal, fields=["review_cadence", "first_check_in"])
    kind = "cadence.accepted" if accept else "cadence.declined"
    room_event(access, deal, kind, client_msg_id, **_payload(proposal))
    return proposal


@applied_once
def cadence_withdraw(
    *, access: DealAccess, proposal_id: int, client_msg_id=None
) -> CadenceProposal:
    deal = require_tool(access, "cadence")
    proposal = _pending(deal, access, proposal_id, own=True)
    proposal.status = CadenceProposal.Status.WITHDRAWN
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_at"])
    room_event(access, deal, "cadence.withdrawn", client_msg_id, **_payload(proposal))
    return proposal

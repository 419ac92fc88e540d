"""Midgame: conditional trades ("if we give X, can you give Y?") and their answers."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import Deal
from negotiation.services.base import (
    applied_once,
    check_version,
    save_versioned,
)
from room.models import Concession, Trade
from room.services.rules import (
    agenda_issues,
    deal_object,
    require_tool,
    room_event,
    set_term,
)


def _trade_fields(deal: Deal, give_issue_id, give_value, ask_issue_id, ask_value):
    give_issue, ask_issue = agenda_issues(deal, give_issue_id, ask_issue_id)
    if give_issue.pk == ask_issue.pk:
        raise ValidationError(
            {"ask_issue": "Ask for something on another issue: a trade links two."}
        )
    give_value, ask_value = (give_value or "").strip(), (ask_value or "").strip()
    errors = {}
    if not give_value:
        errors["give_value"] = "Say what your side would give."
    if not ask_value:
        errors["ask_value"] = "Say what you ask for in return."
    if errors:
        raise ValidationError(errors)
    return give_issue, give_value, ask_issue, ask_value


@applied_once
def trade_propose(
    *,
    access: DealAccess,
    give_issue_id: int,
    give_value: str,
    ask_issue_id: int,
    ask_value: str,
    rationale: str = "",
    client_msg_id=None,
) -> Trade:
    """ "If we give X on issue A, can you give Y on issue B?" (non-binding)."""
    deal = require_tool(access, "trades")
    give_issue, give_value, ask_issue, ask_value = _trade_fields(
        deal, give_issue_id, give_value, ask_issue_id, ask_value
    )
    trade = Trade.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        give_issue=give_issue,
        give_value=give_value,
        ask_issue=ask_issue,
        ask_value=ask_value,
        rationale=rationale.strip(),
    )
    room_event(access, deal, "trade.proposed", client_msg_id, trade_id=trade.pk)
    return trade


def _open_trade(deal: Deal, access: DealAccess, trade_id, version, *, own: bool):
    trade = deal_object(Trade, deal, trade_id, access.party, own=own)
    if trade.status != Trade.Status.OPEN:
        status = trade.get_status_display().lower()
        raise ValidationError(f"That trade is no longer open (it was {status}).")
    check_version(trade, version)
    return trade


@applied_once
def trade_accept(
    *, access: DealAccess, trade_id: int, version: int, client_msg_id=None
) -> Trade:
    """Binding: the other side agrees. Both values go on the draft term sheet
    and each side's concession log gets its entry."""
    deal = require_tool(access, "trades")
    trade = _open_trade(deal, access, trade_id, version, own=False)
    trade.status = Trade.Status.ACCEPTED
    trade.decided_by = access.participant
    trade.decided_at = timezone.now()
    save_versioned(trade, fields=["status", "decided_by", "decided_at"])
    set_term(deal, trade.give_issue, trade.give_value, access, trade)
    set_term(deal, trade.ask_issue, trade.ask_value, access, trade)
    proposer, acceptor = trade.party, access.party
    trigger = "Accepted conditional trade"
    Concession.objects.bulk_create(
        [
            Concession(
                deal=deal, party=proposer, created_by=trade.proposed_by,
                item=f"{trade.give_issue.name} for {trade.ask_issue.name}",
                we_give=f"{trade.give_issue.name}: {trade.give_value}",
                we_get=f"{trade.ask_issue.name}: {trade.ask_value}",
                trigger=trigger, trade=trade,
            ),
            Concession(
                deal=deal, party=acceptor, created_by=access.participant,
                item=f"{trade.ask_issue.name} for {trade.give_issue.name}",
                we_give=f"{trade.ask_issue.name}: {trade.ask_value}",
                we_get=f"{trade.give_issue.name}: {trade.give_value}",
                trigger=trigger, trade=trade,
            ),
        ]
    )  # fmt: skip
    room_event(access, deal, "trade.accepted", client_msg_id, trade_id=trade.pk)
    return trade


@applied_once
def trade_decline(
    *,
    access: DealAccess,
    trade_id: int,
    version: int,
    reason: str,
    client_msg_id=None,
) -> Trade:
    deal = require_tool(access, "trades")
    trade = _open_trade(deal, access, trade_id, version, own=False)
    if not reason.strip():
        raise ValidationError({"reason": "Say why, so the other side can adjust."})
    trade.status = Trade.Status.DECLINED
    trade.decline_reason = reason.strip()
    trade.decided_by = access.participant
    trade.decided_at = timezone.now()
    save_versioned(
        trade, fields=["status", "decline_reason", "decided_by", "decided_at"]
    )
    room_event(access, deal, "trade.declined", client_msg_id, trade_id=trade.pk)
    return trade


@applied_once
def trade_withdraw(
    *, access: DealAccess, trade_id: int, version: int, client_msg_id=None
) -> Trade:
    deal = require_tool(access, "trades")
    trade = _open_trade(deal, access, trade_id, version, own=True)
    trade.status = Trade.Status.WITHDRAWN
    trade.decided_by = access.participant
    trade.decided_at = timezone.now()
    save_versioned(trade, fields=["status", "decided_by", "decided_at"])
    room_event(access, deal, "trade.withdrawn", client_msg_id, trade_id=trade.pk)
    return trade


@applied_once
def trade_counter(
    *,
    access: DealAccess,
    trade_id: int,
    version: int,
    give_issue_id: int,
    give_value: str,
    ask_issue_id: int,
    ask_value: str,
    rationale: str = "",
    client_msg_id=None,
) -> Trade:
    """Answer a trade with a modified one; the original is marked countered."""
    deal = require_tool(access, "trades")
    original = _open_trade(deal, access, trade_id, version, own=False)
    give_issue, give_value, ask_issue, ask_value = _trade_fields(
        deal, give_issue_id, give_value, ask_issue_id, ask_value
    )
    original.status = Trade.Status.COUNTERED
    original.decided_by = access.participant
    original.decided_at = timezone.now()
    save_versioned(original, fields=["status", "decided_by", "decided_at"])
    counter = Trade.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        give_issue=give_issue,
        give_value=give_value,
        ask_issue=ask_issue,
        ask_value=ask_value,
        rationale=rationale.strip(),
        counter_of=original,
    )
    room_event(
        access, deal, "trade.countered", client_msg_id,
        trade_id=counter.pk, original_id=original.pk,
    )  # fmt: skip
    return counter

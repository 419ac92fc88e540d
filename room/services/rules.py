"""Who may act in the room, in which stage: the checks every room service runs first."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from negotiation.access import DealAccess
from negotiation.models import Deal, DealEvent, Issue, Party
from negotiation.services.base import (
    append_event,
    lock_deal,
    save_versioned,
)
from room.models import TermSheetEntry

Stage = Deal.Stage


STAGE_ORDER = list(Stage.values)


# Which stages each tool works in. Discussion works in every stage.
TOOL_STAGES: dict[str, set[str]] = {
    "setup": {Stage.SETUP},
    "agenda": {Stage.SETUP},
    "position": {Stage.FIRST_MOVE, Stage.MIDGAME},
    "trades": {Stage.MIDGAME},
    "packages": {Stage.MIDGAME},
    "concessions": {Stage.MIDGAME, Stage.CLOSE},
    "terms": {Stage.MIDGAME, Stage.CLOSE},
    "commitments": {Stage.CLOSE, Stage.IMPLEMENTATION},
    "agreement": {Stage.CLOSE},
    "check_ins": {Stage.IMPLEMENTATION},
    # The review cadence is agreed before the agreement (which requires it)
    # and can be agreed anew while the deal is implemented.
    "cadence": {Stage.CLOSE, Stage.IMPLEMENTATION},
    # In Implementation, once agreed: post-settlement improvements.
    "jointcheck": {Stage.MIDGAME, Stage.CLOSE, Stage.IMPLEMENTATION},
}


# What still happens once both sides confirmed the agreement.
AFTER_AGREEMENT_TOOLS = {
    "stage",
    "check_ins",
    "discussion",
    "coach",
    "jointcheck",
    "cadence",
}


def acting_party(access: DealAccess) -> Party:
    if access.party is None or access.participant is None:
        raise PermissionDenied("Only the deal's participants can act in the room.")
    if access.participant.revoked_at is not None:
        raise PermissionDenied("Your access to this deal was revoked.")
    return access.party


# The tool each room action uses: what the room's page asks
# (``RoomState.can``) before it offers a form, from the same table the
# services enforce (``require_tool``).
ACTION_TOOLS: dict[str, str] = {
    "setup.update": "setup",
    "issue.add": "agenda",
    "stage.propose": "stage",
    "stage.respond": "stage",
    "stage.withdraw": "stage",
    "deal.no_deal": "end",
    "position.update": "position",
    "trade.propose": "trades",
    "trade.accept": "trades",
    "trade.decline": "trades",
    "trade.withdraw": "trades",
    "trade.counter": "trades",
    "message.post": "discussion",
    "meso.present": "packages",
    "meso.respond": "packages",
    "concession.add": "concessions",
    "concession.value": "concessions",
    "concession.withdraw": "concessions",
    "term.set": "terms",
    "commitment.add": "commitments",
    "commitment.update": "commitments",
    "commitment.remove": "commitments",
    "commitment.confirm": "commitments",
    "agreement.confirm": "agreement",
    "checkin.add": "check_ins",
    "cadence.propose": "cadence",
    "cadence.respond": "cadence",
    "cadence.withdraw": "cadence",
    # "Pause and revisit" works in every stage of an open negotiation.
    "pause.propose": "pause",
    "pause.accept": "pause",
    "pause.counter": "pause",
    "culture.set": "coach",
    "nudge.dismiss": "coach",
    "jointcheck.allow": "jointcheck",
    "jointcheck.withdraw": "jointcheck",
    "jointcheck.run": "jointcheck",
    "jointcheck.accept": "jointcheck",
}


def tool_refusal(deal: Deal, tool: str) -> ValidationError | None:
    """Why ``tool`` cannot be used on the deal as it is now, or None if it can.

    The one statement of the stage and status rules: the services raise it,
    the room's page asks it before offering a form.
    """
    if deal.status == Deal.Status.NO_DEAL:
        return ValidationError("This deal ended without agreement: it is read-only.")
    if deal.status == Deal.Status.AGREED and tool not in AFTER_AGREEMENT_TOOLS:
        return ValidationError("The agreement is confirmed: its terms are locked.")
    if tool in TOOL_STAGES and deal.stage not in TOOL_STAGES[tool]:
        stages = " or ".join(
            Stage(s).label for s in STAGE_ORDER if s in TOOL_STAGES[tool]
        )
        return ValidationError(
            f"That can only be done in {stages}; the deal is in "
            f"{Stage(deal.stage).label}.",
            code="wrong_stage",
        )
    return None


def require_tool(access: DealAccess, tool: str) -> Deal:
    """Lock the deal and check the actor, the deal's status and the stage.

    Returns the locked, fresh deal row. Must run inside the caller's atomic.
    """
    acting_party(access)
    deal = lock_deal(access)
    refusal = tool_refusal(deal, tool)
    if refusal is not None:
        raise refusal
    return deal


def room_event(
    access: DealAccess,
    deal: Deal,
    kind: str,
    client_msg_id: str | None,
    **payload: Any,
) -> DealEvent:
    return append_event(
        deal=deal,
        kind=kind,
        actor=access.participant,
        payload=payload,
        client_msg_id=client_msg_id or None,
    )


def agenda_issue(deal: Deal, issue_id: int) -> Issue:
    return agenda_issues(deal, issue_id)[0]


def agenda_issues(deal: Deal, *issue_ids: int) -> list[Issue]:
    """These issues of the deal's agenda, in the order asked, in one read."""
    try:
        ids = [int(pk) for pk in issue_ids]
    except (ValueError, TypeError):
        ids = []
    found = {i.pk: i for i in Issue.objects.filter(deal=deal, pk__in=set(ids))}
    if not ids or any(pk not in found for pk in ids):
        raise ValidationError("That issue is not on this deal's agenda.")
    return [found[pk] for pk in ids]


def deal_object(model, deal: Deal, pk: int, party: Party, *, own: bool):
    """Fetch one of this deal's objects, locked, checking whose it is."""
    try:
        obj = model.objects.select_for_update().get(pk=pk, deal=deal)
    except (model.DoesNotExist, ValueError, TypeError):
        raise ValidationError("That item does not exist in this deal.") from None
    owner_id = getattr(obj, "party_id", None)
    if own and owner_id != party.pk:
        raise PermissionDenied("Only the side that made it can do that.")
    if not own and owner_id == party.pk:
        raise PermissionDenied("Only the other side can answer that.")
    return obj


def set_term(deal: Deal, issue: Issue, value: str, access: DealAccess, trade=None):
    entry, created = TermSheetEntry.objects.select_for_update().get_or_create(
        issue=issue, defaults={"deal": deal, "value": value, "source_trade": trade,
                               "updated_by": access.participant},
    )  # fmt: skip
    if not created:
        entry.value = value
        entry.source_trade = trade
        entry.updated_by = access.participant
        save_versioned(entry, fields=["value", "source_trade", "updated_by"])
    return entry

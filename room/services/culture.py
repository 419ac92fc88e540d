"""How the other side communicates and decides, as a side reads it.

A part of the side's private preparation (its counterparty map), recorded
from the room: the coach's lines adapt to it. Private like the rest of the
preparation: no event in the shared log, nothing for the other side; the
broadcast that refreshes the side's coach names the side only.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from negotiation.access import DealAccess
from negotiation.models import Participant, Preparation
from negotiation.services.base import broadcast, check_version, save_versioned

STYLES = {value for value, _ in Preparation._meta.get_field("their_style").choices}
DECISIONS = {
    value for value, _ in Preparation._meta.get_field("their_decisions").choices
}


@transaction.atomic
def culture_set(
    *,
    access: DealAccess,
    version: int,
    their_style: str = "",
    their_decisions: str = "",
    client_msg_id: str | None = None,
) -> Preparation:
    """Record (or clear, with "") the other side's communication style and
    way of deciding in the viewer's own preparation."""
    party, participant = access.party, access.participant
    if party is None or participant is None or not access.can_prepare:
        raise PermissionDenied("Only a negotiating side records its reading.")
    if not Participant.objects.filter(
        pk=participant.pk, party=party, revoked_at__isnull=True
    ).exists():
        raise PermissionDenied("Your access to this deal was revoked.")
    errors = {}
    if their_style and their_style not in STYLES:
        errors["their_style"] = "Choose direct or high-context, or leave it open."
    if their_decisions and their_decisions not in DECISIONS:
        errors["their_decisions"] = (
            "Choose hierarchical, by consensus or one person, or leave it open."
        )
    if errors:
        raise ValidationError(errors)
    preparation = Preparation.objects.select_for_update().get(party=party)
    check_version(preparation, version)
    preparation.their_style = their_style
    preparation.their_decisions = their_decisions
    save_versioned(preparation, fields=["their_style", "their_decisions"])
    side = party.side
    transaction.on_commit(
        lambda: broadcast(party.deal_id, {"type": "coach.changed", "side": side})
    )
    return preparation

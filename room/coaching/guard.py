"""The over-sharing guard's record: a warning the side confirmed past, kept
for its review. The check itself is ``negotiation.disclosure``; the room's
actions run it in their transaction (``room.actions.perform``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from negotiation.models import (
    Party,
)
from negotiation.services.base import broadcast
from room.models import (
    Nudge,
)
from room.services.coaching import nudge_raise


def record_oversharing(*, party: Party, reason: str, confirmed: bool) -> None:
    """Keep the warning for the review (once per side a day)."""
    subject = f"guard:{timezone.localdate().isoformat()}"
    created = nudge_raise(
        party,
        Nudge.Kind.OVER_SHARING,
        subject,
        message=reason + (" You chose to send it anyway." if confirmed else ""),
        action="Share enough for trust, not all: describe the interest behind "
        "the number instead.",
    )
    if created:
        side = party.side
        transaction.on_commit(
            lambda: broadcast(party.deal_id, {"type": "coach.changed", "side": side})
        )


# --- detectors ----------------------------------------------------------------------

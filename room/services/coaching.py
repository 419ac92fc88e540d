"""A side's private coaching: raising a nudge once per situation, dismissing it.

Only the side concerned ever sees a nudge; the broadcast that tells its sockets
to refresh names the side, never what the nudge says.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import DealEvent, Participant, Party
from negotiation.services.base import broadcast
from room.models import Nudge


def nudge_raise(
    party: Party,
    kind: str,
    subject: str,
    *,
    message: str,
    action: str,
    event: DealEvent | None = None,
) -> Nudge | None:
    """Create the nudge unless this side already had it for this subject;
    returns it, or None if it was there already."""
    if Nudge.objects.filter(party=party, kind=kind, subject=subject).exists():
        return None
    try:
        with transaction.atomic():
            return Nudge.objects.create(
                deal_id=party.deal_id,
                party=party,
                kind=kind,
                subject=subject,
                message=message,
                corrective_action=action,
                event=event,
            )
    except IntegrityError:  # raised concurrently by another process
        return None


@transaction.atomic
def nudge_dismiss(
    *, access: DealAccess, nudge_key: str, client_msg_id: str | None = None
) -> Nudge:
    """Hide one of the viewer's side's nudges (it stays on record for the
    review). Private to the side: no event, nothing for the other side.

    The access may have been resolved before a revocation: the room's
    services check that under the deal's lock, and a nudge is not the deal's,
    so the check is made here.
    """
    party, participant = access.party, access.participant
    if party is None or participant is None:
        raise PermissionDenied("Only the deal's participants have a coach.")
    if not Participant.objects.filter(
        pk=participant.pk, party=party, revoked_at__isnull=True
    ).exists():
        raise PermissionDenied("Your access to this deal was revoked.")
    nudge = Nudge.objects.select_for_update().filter(key=nudge_key, party=party).first()
    if nudge is None:
        raise ValidationError("That nudge does not exist.")
    if nudge.dismissed_at is None:
        nudge.dismissed_at = timezone.now()
        nudge.dismissed_by = participant
        nudge.save(update_fields=["dismissed_at", "dismissed_by"])
        side = party.side
        transaction.on_commit(
            lambda: broadcast(party.deal_id, {"type": "coach.changed", "side": side})
        )
    return nudge

"""Who is in the room: a logged-in host-side user, or a guest of the counterpart.

Guests have no account. Joining through a share link stores their participant
id in the (server-side) Django session, keyed by deal; every request and every
websocket frame resolves it again here, so a revoked guest is refused at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404

from negotiation.access import DealAccess, deal_access_for_user
from negotiation.models import Deal, Participant, Party

GUESTS_SESSION_KEY = "parley_guests"
PENDING_INVITE_SESSION_KEY = "parley_pending_invite"


def remember_guest(session, participant: Participant) -> None:
    guests = dict(session.get(GUESTS_SESSION_KEY, {}))
    guests[str(participant.party.deal_id)] = participant.pk
    session[GUESTS_SESSION_KEY] = guests


def guest_participant_id(session: Mapping[str, Any] | None, deal_id: int) -> int | None:
    if not session:
        return None
    return session.get(GUESTS_SESSION_KEY, {}).get(str(deal_id))


def room_access(user, session, deal_id: int) -> DealAccess:
    """Resolve the viewer's access to a deal's room, or raise Http404.

    A logged-in user with access to the deal acts for the host side (or
    reviews, as a manager). Otherwise the session's guest for this deal acts
    for the counterpart side, unless their link was revoked.
    """
    if user is not None and user.is_authenticated:
        try:
            return deal_access_for_user(user, deal_id)
        except Http404:
            pass
    participant_id = guest_participant_id(session, deal_id)
    if participant_id is None:
        raise Http404("No such deal.")
    guest = (
        Participant.objects.select_related("party__deal__team", "party__deal__owner")
        .filter(
            pk=participant_id,
            party__deal_id=deal_id,
            party__side=Party.Side.COUNTERPART,
            revoked_at__isnull=True,
        )
        .first()
    )
    if guest is None:
        raise Http404("No such deal.")
    deal: Deal = guest.party.deal
    parties = {p.side: p for p in deal.parties.all()}
    return DealAccess(
        deal=deal,
        host_party=parties[Party.Side.HOST],
        counterpart_party=guest.party,
        party=guest.party,
        participant=guest,
        is_manager=False,
    )

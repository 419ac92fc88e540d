"""What every page's header needs to know about a guest of the room."""

from __future__ import annotations

from django.http import HttpRequest

from negotiation.access import GUESTS_SESSION_KEY
from negotiation.models import Participant


def guest(request: HttpRequest) -> dict:
    """For a browser that joined a room as a guest (and has no account
    signed in): ``guest_browser``, and ``guest``, the participant it is in
    the deal of the page (or in its latest room), with party and deal.

    No query for anyone else: the session is read only for anonymous users,
    and nothing is looked up without a guest entry in it.
    """
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if session is None or (user is not None and user.is_authenticated):
        return {}
    guests = session.get(GUESTS_SESSION_KEY) or {}
    if not guests:
        return {}
    match = getattr(request, "resolver_match", None)
    deal_id = str(match.kwargs.get("deal_id", "")) if match else ""
    participant_id = guests.get(deal_id) or list(guests.values())[-1]
    participant = (
        Participant.objects.select_related("party__deal")
        .filter(pk=participant_id, revoked_at__isnull=True)
        .first()
    )
    return {"guest_browser": True, "guest": participant}

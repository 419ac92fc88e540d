"""Who is in the room now, across server processes: one row per open socket.

A row is removed when its socket closes; ``seen_at`` is refreshed by the
client's heartbeat, so rows left behind by a crashed process age out
(``room.selectors.PRESENCE_WINDOW``). Joining and leaving tell the room's
sockets to render the presence list again; a heartbeat changes nothing shown.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from negotiation.models import Participant
from negotiation.services.base import broadcast
from room.models import RoomConnection


def presence_join(
    *, deal_id: int, participant: Participant, channel_name: str
) -> RoomConnection:
    """Record an open socket of a participant of the deal (a reconnect reuses
    its row)."""
    with transaction.atomic():
        connection, _ = RoomConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"participant": participant}
        )
    _presence_changed(deal_id)
    return connection


def presence_leave(*, deal_id: int, channel_name: str) -> None:
    """Forget a socket that closed."""
    deleted, _ = RoomConnection.objects.filter(channel_name=channel_name).delete()
    if deleted:
        _presence_changed(deal_id)


def presence_seen(*, channel_name: str) -> None:
    """The socket's heartbeat: it is still there."""
    RoomConnection.objects.filter(channel_name=channel_name).update(
        seen_at=timezone.now()
    )


def _presence_changed(deal_id: int) -> None:
    broadcast(deal_id, {"type": "presence.changed"})

"""Who is in the room now, across server processes: one row per open socket.

A row is removed when its socket closes; ``seen_at`` is refreshed by the
client's heartbeat, so rows left behind by a crashed process age out
(``room.selectors.PRESENCE_WINDOW``). Joining and leaving tell the room's
sockets to render the presence list again; a heartbeat changes nothing shown.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from negotiation.models import Deal, Participant
from negotiation.services.base import broadcast
from room.models import RoomConnection, RoomVisit


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


# --- visits: where each participant left the room ("while you were away") ---


def visit_present(*, participant: Participant, deal: Deal) -> None:
    """The participant has the room open now (a page load). A first visit
    starts at the log's end: there is nothing to summarise yet."""
    RoomVisit.objects.update_or_create(
        participant=participant,
        defaults={"present_at": timezone.now()},
        create_defaults={"present_at": timezone.now(), "seen_seq": deal.last_seq},
    )


def visit_left(*, participant_id: int, seen_seq: int) -> None:
    """A socket of the participant closed, having shown them the room up to
    ``seen_seq``: the next summary starts after it."""
    with transaction.atomic():
        visit, created = RoomVisit.objects.select_for_update().get_or_create(
            participant_id=participant_id,
            defaults={"seen_seq": seen_seq, "present_at": timezone.now()},
        )
        if not created:
            visit.seen_seq = max(visit.seen_seq, seen_seq)
            visit.present_at = timezone.now()
            visit.save(update_fields=["seen_seq", "present_at"])


def visit_seen(*, participant: Participant, deal: Deal, seq: int) -> None:
    """The participant read the summary of what happened up to ``seq`` (at
    most the log's end): it is not shown again, nor its cards as unread."""
    seq = max(0, min(seq, deal.last_seq))
    with transaction.atomic():
        visit, created = RoomVisit.objects.select_for_update().get_or_create(
            participant=participant, defaults={"seen_seq": seq}
        )
        if not created and seq > visit.seen_seq:
            visit.seen_seq = seq
            visit.save(update_fields=["seen_seq"])

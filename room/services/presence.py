"""Who is in the room now, across server processes: one row per open socket.

A row is removed when its socket closes; ``seen_at`` is refreshed by the
client's heartbeat, so rows left behind by a crashed process stop counting
after ``room.selectors.PRESENCE_WINDOW`` and are deleted by the next socket
that joins the deal (and by ``manage.py presence_prune``). Joining and leaving
tell the room's sockets to render the presence list again; a heartbeat changes
nothing shown.

The rows are also how a participant's open sockets are counted across
processes: joining beyond the limit forgets the participant's oldest sockets
and returns their channels, for the caller to close.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from negotiation.models import Deal, Participant
from negotiation.services.base import broadcast
from room.models import RoomConnection, RoomVisit
from room.selectors import PRESENCE_WINDOW


def presence_join(
    *,
    deal_id: int,
    participant: Participant,
    channel_name: str,
    limit: int | None = None,
) -> list[str]:
    """Record an open socket of a participant of the deal (a reconnect reuses
    its row), and delete the deal's stale rows.

    With a ``limit``, the participant keeps at most that many sockets: the
    oldest beyond it are forgotten, and their channel names returned so the
    caller can close them.
    """
    stale = timezone.now() - PRESENCE_WINDOW
    with transaction.atomic():
        # One participant's joins, one at a time (a no-op on SQLite, which
        # has one writer anyway), so two racing joins agree on the oldest.
        Participant.objects.select_for_update().filter(pk=participant.pk).exists()
        # One statement (INSERT … ON CONFLICT), where update_or_create()
        # takes four (a savepoint, a locking read, the write, the release).
        now = timezone.now()
        RoomConnection.objects.bulk_create(
            [
                RoomConnection(
                    participant=participant,
                    channel_name=channel_name,
                    connected_at=now,
                    seen_at=now,
                )
            ],
            update_conflicts=True,
            unique_fields=["channel_name"],
            update_fields=["participant", "seen_at"],
        )
        RoomConnection.objects.filter(
            participant__party__deal_id=deal_id, seen_at__lt=stale
        ).delete()
        evicted: list[str] = []
        if limit is not None:
            rows = list(
                RoomConnection.objects.filter(participant=participant)
                .order_by("-connected_at", "-pk")
                .values_list("pk", "channel_name")[limit:]
            )
            RoomConnection.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
            evicted = [name for _, name in rows]
    # The joining socket renders its own arrival; the message says which it is.
    _presence_changed(deal_id, joined=channel_name)
    return evicted


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


def presence_prune() -> int:
    """Delete every row whose socket has not been heard from within the
    presence window (its process died); returns how many."""
    deleted, _ = RoomConnection.objects.filter(
        seen_at__lt=timezone.now() - PRESENCE_WINDOW
    ).delete()
    return deleted


def _presence_changed(deal_id: int, joined: str | None = None) -> None:
    message = {"type": "presence.changed"}
    if joined is not None:
        message["joined"] = joined
    broadcast(deal_id, message)


# --- visits: where each participant left the room ("while you were away") ---


def visit_present(*, participant: Participant, deal: Deal) -> RoomVisit:
    """The participant has the room open now (a page load). A first visit
    starts at the log's end: there is nothing to summarise yet. Returns the
    visit (whether they hid the orientation, for the page)."""
    visit, _ = RoomVisit.objects.update_or_create(
        participant=participant,
        defaults={"present_at": timezone.now()},
        create_defaults={"present_at": timezone.now(), "seen_seq": deal.last_seq},
    )
    return visit


def visit_orientation_dismiss(*, participant: Participant, deal: Deal) -> None:
    """The participant hid the room's orientation: it stays hidden for them,
    in any browser. Only their own visit changes; a repeat changes nothing."""
    with transaction.atomic():
        visit, created = RoomVisit.objects.select_for_update().get_or_create(
            participant=participant,
            defaults={
                "seen_seq": deal.last_seq,
                "orientation_dismissed_at": timezone.now(),
            },
        )
        if not created and visit.orientation_dismissed_at is None:
            visit.orientation_dismissed_at = timezone.now()
            visit.save(update_fields=["orientation_dismissed_at"])


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

"""Shared building blocks of the services: versions, the event log, broadcast."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction

from negotiation.models import Deal, DealEvent, Participant


class EditConflict(ValidationError):
    """An edit was made on a version that is no longer current.

    ``current`` is the object as it stands now, so the editor can see what
    changed before trying again. Nothing was written.
    """

    def __init__(self, current: models.Model) -> None:
        super().__init__(
            "Someone saved a newer version while you were editing. Your changes "
            "were not saved: review the current values below and apply them again.",
            code="stale_version",
        )
        self.current = current


def check_version(obj: models.Model, expected: int | None) -> None:
    """Refuse the edit unless ``expected`` is the object's current version.

    An edit that names no version at all is refused too: it cannot prove it
    was made on what is stored now.

    ``obj`` must have been read under ``select_for_update`` in the caller's
    transaction, so no other edit can slip in between the check and the save.
    """
    if expected != obj.version:
        raise EditConflict(obj)


def save_versioned(obj: models.Model, *, fields: list[str]) -> None:
    """Validate ``obj`` and save ``fields`` with the version bumped."""
    obj.full_clean()
    obj.version += 1
    update_fields = [*fields, "version"]
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)


# The seq of the last event this thread appended: a caller acknowledging an
# action reads it here instead of asking the database again.
last_appended_seq: ContextVar[int | None] = ContextVar(
    "last_appended_seq", default=None
)


def group_name(deal_id: int) -> str:
    return f"deal.{deal_id}"


def append_event(
    *,
    deal: Deal,
    kind: str,
    actor: Participant | None,
    payload: dict[str, Any] | None = None,
    client_msg_id: str | None = None,
) -> DealEvent:
    """Append to the deal's log and broadcast the event after commit.

    The next ``seq`` comes from one ``UPDATE … RETURNING``, which holds the
    deal's row lock until the caller's transaction (the caller is inside
    ``transaction.atomic``) commits: the log stays gapless under concurrency.
    The broadcast carries ids and ``seq`` only: each socket renders its own
    side's view from them.
    """
    deal.last_seq = next_seq(deal.pk)
    last_appended_seq.set(deal.last_seq)
    event = DealEvent.objects.create(
        deal=deal,
        seq=deal.last_seq,
        actor=actor,
        kind=kind,
        payload=payload or {},
        client_msg_id=client_msg_id,
    )
    message = {
        "type": "deal.event",
        "seq": event.seq,
        "kind": kind,
        "event_id": event.pk,
    }
    transaction.on_commit(lambda: broadcast(deal.pk, message))
    return event


def next_seq(deal_id: int) -> int:
    table = connection.ops.quote_name(Deal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s "
            "RETURNING last_seq",
            [deal_id],
        )
        return cursor.fetchone()[0]


def broadcast(deal_id: int, message: dict[str, Any]) -> None:
    broadcast_to(group_name(deal_id), message)


def broadcast_to(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)

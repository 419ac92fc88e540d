"""Shared building blocks of the services: versions, the event log, broadcast."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import models, transaction

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

    Takes the deal's row lock to hand out the next ``seq`` without gaps; the
    caller is already inside ``transaction.atomic``. The broadcast carries ids
    and ``seq`` only: each socket renders its own side's view from them.
    """
    locked = Deal.objects.select_for_update().only("pk", "last_seq").get(pk=deal.pk)
    locked.last_seq += 1
    Deal.objects.filter(pk=deal.pk).update(last_seq=locked.last_seq)
    deal.last_seq = locked.last_seq
    event = DealEvent.objects.create(
        deal=deal,
        seq=locked.last_seq,
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


def broadcast(deal_id: int, message: dict[str, Any]) -> None:
    broadcast_to(group_name(deal_id), message)


def broadcast_to(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)

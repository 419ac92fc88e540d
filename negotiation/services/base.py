"""Shared building blocks of the services: versions, the event log, broadcast."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import connection, models, transaction

from common import outage
from negotiation.access import DealAccess
from negotiation.events import EventKind
from negotiation.fixed_sql import Columns, column, table
from negotiation.models import Deal, DealEvent, Participant, Party


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


def validate(obj: models.Model, *, fields: Iterable[str] | None = None) -> None:
    """``full_clean``, without the reads a service does not need.

    Django proves each foreign key by reading its row again. A service sets
    its foreign keys from rows it read itself, under the deal's lock, so a
    foreign key whose object is set on ``obj`` is not read again; one set as
    a bare id, or to None (which must still be allowed), is checked as
    ``full_clean`` checks it. For an update, ``fields`` names the fields it
    changes, and only those are checked field by field. ``clean``, the
    unique checks and the constraints run as ``full_clean`` runs them.

    An accepted trade, sender and receiver together: 51 queries before, 37
    after (the trade and its two term rows each proved their foreign keys
    again); a concession 16 → 13.
    """
    skip = {
        f.name
        for f in obj._meta.concrete_fields
        if (f.is_relation and f.is_cached(obj) and f.get_cached_value(obj) is not None)
        or (fields is not None and f.name not in fields)
    }
    errors: dict = {}
    for check in (lambda: obj.clean_fields(exclude=skip), obj.clean):
        try:
            check()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    failed = {name for name in errors if name != NON_FIELD_ERRORS}
    for check in (obj.validate_unique, obj.validate_constraints):
        try:
            check(exclude=failed)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def require_not_negative(**amounts: Decimal | None) -> None:
    """Refuse amounts below zero where the domain has none (a walk-away
    figure, what a concession is worth); a missing amount is fine."""
    errors = {
        name: "This amount cannot be negative: enter 0 or more."
        for name, amount in amounts.items()
        if amount is not None and amount < 0
    }
    if errors:
        raise ValidationError(errors)


def save_versioned(obj: models.Model, *, fields: list[str]) -> None:
    """Validate ``obj`` and save ``fields`` with the version bumped."""
    validate(obj, fields=fields)
    obj.version += 1
    update_fields = [*fields, "version"]
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)


def lock_deal(access: DealAccess) -> Deal:
    """The deal's row, read fresh and locked until the caller's transaction
    ends (the caller is inside ``transaction.atomic``).

    The same statement checks that the acting participant is still in the
    room, so an action is authorized against the deal as it is now (stage,
    status) and a revoked guest is refused even on a socket opened before the
    revocation.
    """
    return _fetch_deal(access, "lock")


def current_deal(access: DealAccess) -> Deal:
    """The deal's row as it is now, unlocked, if the acting participant is
    still in the room (else ``PermissionDenied``): ``lock_deal``'s check, for
    a read such as a socket's render."""
    return _fetch_deal(access, "read")


def _fetch_deal(access: DealAccess, mode: str) -> Deal:
    participant_id = access.participant.pk if access.participant is not None else None
    sql = _deal_sql(mode, by_participant=participant_id is not None)
    params = (
        [access.deal.pk] if participant_id is None else [access.deal.pk, participant_id]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise PermissionDenied("Your access to this deal was revoked.")
    return _DEAL_COLUMNS.instance(row)


_DEAL_COLUMNS = Columns(Deal)


@functools.cache
def _deal_sql(mode: str, *, by_participant: bool) -> str:
    """The statement behind ``lock_deal`` and ``current_deal`` (``mode`` is
    ``lock`` or ``read``), written once per shape (``negotiation.fixed_sql``):
    it runs for every action in the room, and for a socket's render after an
    event that can change access.

    Measured in-process on PostgreSQL (``bench/room_actions.py --parts``):
    the lock in its transaction 0.56 ms, against 1.31 ms for the same query
    through the ORM (an ``Exists`` subquery compiled on every call); the read
    0.20 against 0.91 ms.
    """
    deal = table(Deal)
    where = f"{deal}.{column(Deal, 'id')} = %s"
    if by_participant:
        where += (
            f" AND EXISTS (SELECT 1 FROM {table(Participant)} p"
            f" JOIN {table(Party)} y ON y.{column(Party, 'id')}"
            f" = p.{column(Participant, 'party')}"
            f" WHERE y.{column(Party, 'deal')} = {deal}.{column(Deal, 'id')}"
            f" AND p.{column(Participant, 'id')} = %s"
            f" AND p.{column(Participant, 'revoked_at')} IS NULL)"
        )
    lock = ""
    if mode == "lock" and connection.features.has_select_for_update:
        lock = " FOR UPDATE"
    return f"SELECT {_DEAL_COLUMNS.select} FROM {deal} WHERE {where}{lock}"


class AlreadyApplied(Exception):
    """The action's ``client_msg_id`` was applied before; nothing was written."""

    def __init__(self, event: DealEvent) -> None:
        super().__init__(f"Already applied as event {event.seq}.")
        self.event = event


def applied_once(service: Callable[..., Any]) -> Callable[..., Any]:
    """Run a service that appends to the log in one transaction, once per
    ``client_msg_id``.

    The log's unique ``(deal, client_msg_id)`` constraint is what stops a
    retried action: its event insert conflicts and everything the retry wrote
    rolls back. Only when the action fails, for that or any other reason
    (the stage may have moved on since the first try), is the log asked
    whether the id was applied before; if it was, the caller gets
    ``AlreadyApplied`` and acknowledges the retry instead of reporting an
    error. A first attempt pays no lookup.
    """

    @functools.wraps(service)
    def run(*args: Any, access, client_msg_id: str | None = None, **kwargs: Any):
        try:
            with transaction.atomic():
                return service(
                    *args, access=access, client_msg_id=client_msg_id, **kwargs
                )
        except Exception:
            if client_msg_id:
                previous = DealEvent.objects.filter(
                    deal_id=access.deal.pk, client_msg_id=client_msg_id
                ).first()
                if previous is not None:
                    raise AlreadyApplied(previous) from None
            raise

    return run


@dataclass
class Delivery:
    """Who sends the broadcasts of the actions run inside ``delivered_by``,
    and the events those actions committed, in order."""

    send: Callable[[str, dict[str, Any]], None]
    events: list[DealEvent] = field(default_factory=list)


_delivery: ContextVar[Delivery | None] = ContextVar("parley_delivery", default=None)


@contextmanager
def delivered_by(send: Callable[[str, dict[str, Any]], None]) -> Iterator[Delivery]:
    """Hand the broadcasts made inside to ``send`` instead of waiting on the
    channel layer, and collect the events committed inside.

    The websocket consumer runs its actions in here: ``send`` starts the group
    send on the consumer's event loop without blocking the database thread,
    and the socket renders its own update from the collected events instead
    of reading them back.

    Measured in-process on PostgreSQL (``bench/room_actions.py``, the
    realistic mix, back to back): the sender's server time per action p50
    2.9 → 5.4 ms without it (the events read back, the group send awaited
    from the database thread).
    """
    delivery = Delivery(send)
    token = _delivery.set(delivery)
    try:
        yield delivery
    finally:
        _delivery.reset(token)


def group_name(deal_id: int) -> str:
    return f"deal.{deal_id}"


def append_event(
    *,
    deal: Deal,
    kind: EventKind | str,
    actor: Participant | None,
    payload: dict[str, Any] | None = None,
    client_msg_id: str | None = None,
) -> DealEvent:
    """Append to the deal's log and broadcast the event after commit.

    The next ``seq`` comes from an ``UPDATE … RETURNING`` of the deal's row,
    which holds the row lock until the caller's transaction (the caller is
    inside ``transaction.atomic``) commits: the log stays gapless under
    concurrency. The broadcast carries ids and ``seq`` only: each socket
    renders its own side's view from them.
    """
    kind = EventKind(kind)  # a kind missing from the vocabulary fails here
    deal.last_seq = next_seq(deal.pk)
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
        "kind": kind.value,
        "event_id": event.pk,
        "actor_id": actor.pk if actor is not None else None,
        # The ids the event refers to (a message, a trade…): enough for a
        # socket that has every earlier event to render this one without
        # reading it back. Nothing else of the payload leaves the database.
        "ids": {
            key: value
            for key, value in event.payload.items()
            if key.endswith("_id") and isinstance(value, int)
        },
    }
    transaction.on_commit(lambda: _committed(event, message))
    return event


def _committed(event: DealEvent, message: dict[str, Any]) -> None:
    delivery = _delivery.get()
    if delivery is not None:
        delivery.events.append(event)
    broadcast(event.deal_id, message)


def next_seq(deal_id: int) -> int:
    seq = column(Deal, "last_seq")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(Deal)} SET {seq} = {seq} + 1"
            f" WHERE {column(Deal, 'id')} = %s RETURNING {seq}",
            [deal_id],
        )
        return cursor.fetchone()[0]


def broadcast(deal_id: int, message: dict[str, Any]) -> None:
    broadcast_to(group_name(deal_id), message)


def broadcast_to(group: str, message: dict[str, Any]) -> None:
    delivery = _delivery.get()
    if delivery is not None:
        delivery.send(group, message)
        return
    layer = get_channel_layer()
    if layer is not None:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception as error:
            # Saved all the same: open sockets catch up from the log with
            # their next event, heartbeat or reconnect.
            if not outage.is_connection_error(error):
                raise
            outage.redis.failed(error, "broadcasting an event")

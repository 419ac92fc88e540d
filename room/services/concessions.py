"""The concession log: what a side gave, for what, and what it was worth."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from negotiation.access import DealAccess
from negotiation.events import EventKind
from negotiation.models import DealEvent
from negotiation.services.base import (
    applied_once,
    check_version,
    require_not_negative,
    save_versioned,
    validate,
)
from room.models import Concession
from room.services.rules import deal_object, require_tool, room_event


@applied_once
def concession_add(
    *,
    access: DealAccess,
    item: str,
    we_give: str,
    we_get: str = "",
    value_to_us: Decimal | None = None,
    value_to_them: Decimal | None = None,
    values_shared: bool = False,
    trigger: str = "",
    client_msg_id=None,
) -> Concession:
    require_not_negative(value_to_us=value_to_us, value_to_them=value_to_them)
    deal = require_tool(access, "concessions")
    concession = Concession(
        deal=deal,
        party=access.party,
        created_by=access.participant,
        item=item.strip(),
        we_give=we_give.strip(),
        we_get=we_get.strip(),
        value_to_us=value_to_us,
        value_to_them=value_to_them,
        values_shared=values_shared,
        trigger=trigger.strip(),
    )
    validate(concession)
    concession.save()
    room_event(
        access, deal, "concession.added", client_msg_id, concession_id=concession.pk
    )
    return concession


@applied_once
def concession_value(
    *,
    access: DealAccess,
    concession_id: int,
    version: int,
    value_to_us: Decimal | None,
    value_to_them: Decimal | None,
    values_shared: bool,
    client_msg_id=None,
) -> Concession:
    """A side values its own entries (and decides whether to show the values)."""
    require_not_negative(value_to_us=value_to_us, value_to_them=value_to_them)
    deal = require_tool(access, "concessions")
    concession = deal_object(Concession, deal, concession_id, access.party, own=True)
    check_version(concession, version)
    concession.value_to_us = value_to_us
    concession.value_to_them = value_to_them
    concession.values_shared = values_shared
    save_versioned(concession, fields=["value_to_us", "value_to_them", "values_shared"])
    room_event(
        access, deal, "concession.valued", client_msg_id, concession_id=concession.pk
    )
    return concession


@applied_once
def concession_withdraw(
    *, access: DealAccess, concession_id: int, version: int, client_msg_id=None
) -> None:
    """A side takes back its own concession while it is unanswered: the other
    side has not acted in the room since it was logged, and it is not part of
    an accepted trade. The log keeps that it was given and withdrawn."""
    deal = require_tool(access, "concessions")
    concession = deal_object(Concession, deal, concession_id, access.party, own=True)
    check_version(concession, version)
    if concession.trade_id is not None:
        raise ValidationError(
            "This concession is part of an accepted trade: it cannot be taken back."
        )
    logged = (
        DealEvent.objects.filter(
            deal=deal,
            kind=EventKind.CONCESSION_ADDED,
            payload__concession_id=concession.pk,
        )
        .values_list("seq", flat=True)
        .first()
    )
    answered = (
        DealEvent.objects.filter(deal=deal, seq__gt=logged or 0)
        .exclude(actor__party=access.party)
        .exclude(actor__isnull=True)
        .exists()
    )
    if answered:
        raise ValidationError(
            "The other side has acted since you logged it: discuss it with "
            "them instead of taking it back."
        )
    item = concession.item
    concession.delete()
    room_event(
        access, deal, "concession.withdrawn", client_msg_id,
        concession_id=concession_id, text=item,
    )  # fmt: skip

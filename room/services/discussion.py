"""The room's discussion: never binding."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from negotiation.access import DealAccess
from negotiation.services.base import (
    applied_once,
    validate,
)
from room.models import Message, Trade
from room.services.rules import require_tool, room_event

MESSAGE_MAX_LENGTH = 4000


@applied_once
def message_post(
    *,
    access: DealAccess,
    body: str,
    kind: str = Message.Kind.NOTE,
    trade_id: int | None = None,
    client_msg_id=None,
) -> Message:
    """Non-binding discussion: a note, a question, or a comment on a trade."""
    deal = require_tool(access, "discussion")
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ValidationError({"body": "Keep messages under 4,000 characters."})
    trade = None
    if trade_id not in (None, ""):
        trade = Trade.objects.filter(pk=trade_id, deal=deal).first()
        if trade is None:
            raise ValidationError("That trade does not exist in this deal.")
    message = Message(
        deal=deal, author=access.participant, kind=kind, body=body, trade=trade
    )
    validate(message)
    message.save()
    room_event(access, deal, "message.posted", client_msg_id, message_id=message.pk)
    return message

""" "Pause and revisit": a side proposes a date to resume (and why); the other
side agrees or proposes another date, which replaces the first. Both sides
see it and the review's replay tells it."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.services.base import applied_once
from room.models import Pause
from room.services.rules import deal_object, require_tool, room_event

PAUSE_MAX_DAYS = 366


def _check_date(resume_on: datetime.date) -> None:
    today = timezone.localdate()
    if resume_on <= today:
        raise ValidationError(
            {"resume_on": "A pause ends on a later day: pick a date after today."}
        )
    if resume_on > today + datetime.timedelta(days=PAUSE_MAX_DAYS):
        raise ValidationError({"resume_on": "Pick a date within the next year."})


def _payload(pause: Pause) -> dict:
    return {
        "pause_id": pause.pk,
        "resume_on": pause.resume_on.isoformat(),
        "note": pause.note,
    }


@applied_once
def pause_propose(
    *,
    access: DealAccess,
    resume_on: datetime.date,
    note: str = "",
    client_msg_id=None,
) -> Pause:
    """Propose to stop here and come back on ``resume_on``."""
    deal = require_tool(access, "pause")
    _check_date(resume_on)
    if deal.pauses.filter(status=Pause.Status.PENDING).exists():
        raise ValidationError("A pause is already waiting for an answer.")
    pause = Pause.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        resume_on=resume_on,
        note=note.strip(),
    )
    room_event(access, deal, "pause.proposed", client_msg_id, **_payload(pause))
    return pause


def _pending(deal, access: DealAccess, pause_id) -> Pause:
    pause = deal_object(Pause, deal, pause_id, access.party, own=False)
    if pause.status != Pause.Status.PENDING:
        raise ValidationError("That pause was already answered.")
    return pause


@applied_once
def pause_accept(*, access: DealAccess, pause_id: int, client_msg_id=None) -> Pause:
    """The other side agrees to resume on the proposed date."""
    deal = require_tool(access, "pause")
    pause = _pending(deal, access, pause_id)
    pause.status = Pause.Status.ACCEPTED
    pause.decided_by = access.participant
    pause.decided_at = timezone.now()
    pause.save(update_fields=["status", "decided_by", "decided_at"])
    room_event(access, deal, "pause.accepted", client_msg_id, **_payload(pause))
    return pause


@applied_once
def pause_counter(
    *,
    access: DealAccess,
    pause_id: int,
    resume_on: datetime.date,
    note: str = "",
    client_msg_id=None,
) -> Pause:
    """The other side proposes another date; it waits for the first side."""
    deal = require_tool(access, "pause")
    original = _pending(deal, access, pause_id)
    _check_date(resume_on)
    if resume_on == original.resume_on:
        raise ValidationError(
            {"resume_on": "That is the date proposed: accept it instead."}
        )
    original.status = Pause.Status.COUNTERED
    original.decided_by = access.participant
    original.decided_at = timezone.now()
    original.save(update_fields=["status", "decided_by", "decided_at"])
    pause = Pause.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        resume_on=resume_on,
        note=note.strip(),
        counter_of=original,
    )
    room_event(
        access, deal, "pause.countered", client_msg_id,
        original_id=original.pk, **_payload(pause),
    )  # fmt: skip
    return pause

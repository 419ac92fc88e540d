"""Close and Implementation: the term sheet, commitments, the agreement, check-ins."""

from __future__ import annotations

import datetime
import hashlib
import json

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import Deal, Party
from negotiation.services.base import (
    applied_once,
    check_version,
    save_versioned,
    validate,
)
from room.models import (
    AgreementConfirmation,
    CheckIn,
    CheckInItem,
    Commitment,
    MesoSet,
    TermSheetEntry,
    Trade,
)
from room.services.rules import agenda_issue, require_tool, room_event, set_term


@applied_once
def term_set(
    *,
    access: DealAccess,
    issue_id: int,
    version: int | None,
    value: str,
    client_msg_id=None,
) -> TermSheetEntry:
    """Edit the term sheet's value for one issue (refused if stale)."""
    deal = require_tool(access, "terms")
    issue = agenda_issue(deal, issue_id)
    if not value.strip():
        raise ValidationError({"value": "Enter the agreed value."})
    entry = TermSheetEntry.objects.select_for_update().filter(issue=issue).first()
    if entry is not None:
        check_version(entry, version)
    elif version is not None:
        raise ValidationError("That term was removed meanwhile.")
    entry = set_term(deal, issue, value.strip(), access)
    room_event(
        access, deal, "term.updated", client_msg_id,
        issue_id=issue.pk, value=entry.value,
    )  # fmt: skip
    return entry


COMMITMENT_FIELDS = (
    "owner_name", "description", "metric", "target", "due_date", "contingency",
)  # fmt: skip


def _confirmation_field(party: Party) -> str:
    return (
        "host_confirmed_at"
        if party.side == Party.Side.HOST
        else "counterpart_confirmed_at"
    )


@applied_once
def commitment_add(
    *,
    access: DealAccess,
    owner_side: str,
    owner_name: str,
    description: str,
    metric: str = "",
    target: str = "",
    due_date: datetime.date | None = None,
    contingency: str = "",
    client_msg_id=None,
) -> Commitment:
    """Record a commitment (not binding yet: each side confirms it explicitly)."""
    deal = require_tool(access, "commitments")
    owner_party = deal.parties.filter(side=owner_side).first()
    if owner_party is None:
        raise ValidationError({"owner_side": "Choose which side owns it."})
    commitment = Commitment(
        deal=deal,
        owner_party=owner_party,
        owner_name=owner_name.strip(),
        description=description.strip(),
        metric=metric.strip(),
        target=target.strip(),
        due_date=due_date,
        contingency=contingency.strip(),
    )
    validate(commitment)
    commitment.save()
    room_event(
        access, deal, "commitment.added", client_msg_id, commitment_id=commitment.pk
    )
    return commitment


@applied_once
def commitment_update(
    *, access: DealAccess, commitment_id: int, version: int, client_msg_id=None,
    **changes,
) -> Commitment:  # fmt: skip
    """Edit a commitment. Both confirmations are withdrawn: a changed promise
    binds nobody until each side confirms the new wording explicitly."""
    deal = require_tool(access, "commitments")
    if set(changes) - set(COMMITMENT_FIELDS):
        raise ValidationError("Unknown commitment fields.")
    commitment = _commitment(deal, commitment_id)
    check_version(commitment, version)
    for field, value in changes.items():
        setattr(commitment, field, value.strip() if isinstance(value, str) else value)
    commitment.host_confirmed_at = commitment.counterpart_confirmed_at = None
    save_versioned(
        commitment,
        fields=[*changes, "host_confirmed_at", "counterpart_confirmed_at"],
    )
    room_event(
        access, deal, "commitment.updated", client_msg_id, commitment_id=commitment.pk
    )
    return commitment


@applied_once
def commitment_remove(
    *, access: DealAccess, commitment_id: int, version: int, client_msg_id=None
) -> None:
    """Take a commitment off the list, until both sides have confirmed it (a
    confirmed one is part of what both agreed: edit it instead, which asks
    both to confirm again)."""
    deal = require_tool(access, "commitments")
    commitment = _commitment(deal, commitment_id)
    check_version(commitment, version)
    if commitment.is_confirmed:
        raise ValidationError(
            "Both sides confirmed this commitment: edit it instead, and both "
            "confirm the new wording."
        )
    description = commitment.description
    commitment.delete()
    room_event(
        access, deal, "commitment.removed", client_msg_id,
        commitment_id=commitment_id, text=description,
    )  # fmt: skip


def _commitment(deal: Deal, commitment_id) -> Commitment:
    try:
        return Commitment.objects.select_for_update().get(pk=commitment_id, deal=deal)
    except (Commitment.DoesNotExist, ValueError, TypeError):
        raise ValidationError("That commitment does not exist in this deal.") from None


@applied_once
def commitment_confirm(
    *, access: DealAccess, commitment_id: int, version: int, client_msg_id=None
) -> Commitment:
    """Binding: this side confirms the commitment exactly as it stands."""
    deal = require_tool(access, "commitments")
    commitment = _commitment(deal, commitment_id)
    check_version(commitment, version)
    field = _confirmation_field(access.party)
    if getattr(commitment, field) is None:
        setattr(commitment, field, timezone.now())
        commitment.save(update_fields=[field])
    room_event(
        access, deal, "commitment.confirmed", client_msg_id,
        commitment_id=commitment.pk,
    )  # fmt: skip
    return commitment


def agreement_digest(deal: Deal) -> str:
    """A fingerprint of the term sheet and commitments, to confirm against."""
    terms = list(
        TermSheetEntry.objects.filter(deal=deal)
        .order_by("issue_id")
        .values_list("issue_id", "value")
    )
    commitments = list(
        Commitment.objects.filter(deal=deal)
        .order_by("pk")
        .values_list("pk", "version", "host_confirmed_at", "counterpart_confirmed_at")
    )
    # The agreed review cadence is part of what both sides sign off (read
    # like the terms, from the database, not from a possibly older row).
    cadence = list(
        Deal.objects.filter(pk=deal.pk, first_check_in__isnull=False).values_list(
            "review_cadence", "first_check_in"
        )
    )
    blob = json.dumps([terms, commitments, cadence], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@applied_once
def agreement_confirm(
    *, access: DealAccess, digest: str, client_msg_id=None
) -> AgreementConfirmation:
    """Binding: this side confirms the agreement it was shown (``digest``).

    When both sides have confirmed the same digest the deal is agreed.
    """
    deal = require_tool(access, "agreement")
    current = agreement_digest(deal)
    if digest != current:
        raise ValidationError(
            "The agreement changed since you opened it. Review it again before "
            "confirming.",
            code="stale_version",
        )
    issues_without_terms = deal.issues.filter(term__isnull=True).count()
    if issues_without_terms:
        raise ValidationError("Every issue needs an agreed value first.")
    unconfirmed = [c for c in deal.commitments.all() if not c.is_confirmed]
    if unconfirmed:
        raise ValidationError("Both sides must confirm every commitment first.")
    if deal.first_check_in is None:
        raise ValidationError(
            "Agree the review cadence first: one side proposes how often you "
            "will review the commitments and the first check-in date, and the "
            "other side accepts."
        )
    AgreementConfirmation.objects.filter(deal=deal).exclude(digest=current).delete()
    confirmation, _ = AgreementConfirmation.objects.update_or_create(
        deal=deal,
        party=access.party,
        defaults={
            "digest": current,
            "confirmed_by": access.participant,
            "confirmed_at": timezone.now(),
        },
    )
    if deal.confirmations.filter(digest=current).count() == 2:
        deal.status = Deal.Status.AGREED
        deal.closed_at = timezone.now()
        save_versioned(deal, fields=["status", "closed_at"])
        _supersede_open_offers(deal)
    room_event(access, deal, "agreement.confirmed", client_msg_id, party=access.side)
    return confirmation


def _supersede_open_offers(deal: Deal) -> None:
    """Trades and package sets nobody answered are closed by the agreement:
    nothing can answer them any more, and the room says why."""
    now = timezone.now()
    Trade.objects.filter(deal=deal, status=Trade.Status.OPEN).update(
        status=Trade.Status.SUPERSEDED, decided_at=now, version=F("version") + 1
    )
    MesoSet.objects.filter(deal=deal, status=MesoSet.Status.PRESENTED).update(
        status=MesoSet.Status.SUPERSEDED, version=F("version") + 1
    )


@applied_once
def check_in_add(
    *,
    access: DealAccess,
    held_on: datetime.date,
    notes: str,
    statuses: dict[int, str],
    client_msg_id=None,
) -> CheckIn:
    """Record a check-in and the status of each commitment at that point.

    A check-in is recorded once held: a date after today is refused. "Today"
    is the latest date anywhere on Earth (UTC+14), so nobody recording one on
    their own today is refused because of a time zone.
    """
    latest_today = (timezone.now() + datetime.timedelta(hours=14)).date()
    if held_on > latest_today:
        raise ValidationError(
            {
                "held_on": "A check-in is recorded once it has been held: "
                "enter today's date or an earlier one."
            }
        )
    deal = require_tool(access, "check_ins")
    commitments = {c.pk: c for c in deal.commitments.select_for_update()}
    valid = set(Commitment.Status.values)
    items = []
    for raw_pk, status in statuses.items():
        try:
            commitment = commitments[int(raw_pk)]
        except (KeyError, ValueError, TypeError):
            raise ValidationError("That commitment is not part of this deal.") from None
        if status not in valid:
            raise ValidationError("Choose a status for each commitment.")
        items.append((commitment, status))
    check_in = CheckIn.objects.create(
        deal=deal, held_on=held_on, notes=notes.strip(), created_by=access.participant
    )
    CheckInItem.objects.bulk_create(
        [CheckInItem(check_in=check_in, commitment=c, status=s) for c, s in items]
    )
    for commitment, status in items:
        commitment.status = status
    Commitment.objects.bulk_update([c for c, _ in items], ["status"])
    room_event(access, deal, "checkin.added", client_msg_id, check_in_id=check_in.pk)
    return check_in

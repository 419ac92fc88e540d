"""Share links: create, redeem, join, revoke."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from negotiation.access import DealAccess, forget_guest
from negotiation.models import Participant, Party
from negotiation.services.base import append_event, broadcast_to
from room.models import GuestEmail, Invite, hash_token, new_token


class InviteRefused(Exception):
    """A share link that cannot admit anyone; ``reason`` says why, for the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def participant_group(participant_id: int) -> str:
    return f"participant.{participant_id}"


@transaction.atomic
def invite_create(
    *, access: DealAccess, label: str = "", valid_days: int | None = None
) -> tuple[Invite, str]:
    """Create a share link for the counterpart side. Returns the invite and its
    token: the only time the token exists outside the visitor's browser."""
    if not access.can_edit_deal:
        raise PermissionDenied("Only the host side can invite the counterpart.")
    days = valid_days or settings.PARLEY_INVITE_DAYS
    if not 1 <= days <= 90:
        raise ValidationError({"valid_days": "Choose between 1 and 90 days."})
    token = new_token()
    invite = Invite(
        deal=access.deal,
        label=label.strip(),
        token_hash=hash_token(token),
        created_by=access.participant.user if access.participant else None,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    invite.full_clean()
    invite.save()
    return invite, token


def invite_for_token(token: str) -> Invite:
    """The invite a token opens, or ``InviteRefused`` saying why not."""
    invite = (
        Invite.objects.select_related("deal")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invite is None:
        raise InviteRefused("unknown")
    if invite.revoked_at is not None:
        raise InviteRefused("revoked")
    if invite.participant_id is not None:
        raise InviteRefused("used")
    if invite.is_expired:
        raise InviteRefused("expired")
    return invite


@transaction.atomic
def invite_redeem(*, token: str) -> Invite:
    """Exchange the token for a pending join (kept in the visitor's session)."""
    invite = invite_for_token(token)
    Invite.objects.filter(pk=invite.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return invite


@transaction.atomic
def guest_join(*, invite_id: int, display_name: str, email: str = "") -> Participant:
    """Turn a pending invite into a counterpart participant (no account).
    ``email``, if given, is kept for the guest's own side only: to tell them
    when the room waits for them (``room.services.waiting``)."""
    invite = Invite.objects.select_for_update().select_related("deal").get(pk=invite_id)
    if invite.revoked_at is not None:
        raise InviteRefused("revoked")
    if invite.participant_id is not None:
        raise InviteRefused("used")
    if invite.is_expired:
        raise InviteRefused("expired")
    display_name = display_name.strip()
    if not display_name:
        raise ValidationError({"display_name": "Tell the other side who you are."})
    party = invite.deal.parties.get(side=Party.Side.COUNTERPART)
    participant = Participant(party=party, display_name=display_name)
    participant.full_clean()
    participant.save()
    if email.strip():
        contact = GuestEmail(participant=participant, email=email.strip())
        contact.full_clean()
        contact.save()
    invite.participant = participant
    invite.save(update_fields=["participant"])
    append_event(
        deal=invite.deal,
        kind="participant.joined",
        actor=participant,
        payload={"participant_id": participant.pk},
    )
    return participant


@transaction.atomic
def invite_revoke(*, access: DealAccess, invite_id: int) -> Invite:
    """Revoke a link. A guest who joined through it loses access at once:
    their open sockets are told to close after commit."""
    # Any host-side participant, even after the deal closed: removing a guest
    # must always be possible.
    if access.side != Party.Side.HOST or access.participant is None:
        raise PermissionDenied("Only the host side can revoke links.")
    try:
        invite = Invite.objects.select_for_update().get(pk=invite_id, deal=access.deal)
    except Invite.DoesNotExist:
        raise ValidationError("That link does not exist.") from None
    if invite.revoked_at is None:
        now = timezone.now()
        invite.revoked_at = now
        invite.save(update_fields=["revoked_at"])
        if invite.participant_id:
            Participant.objects.filter(pk=invite.participant_id).update(revoked_at=now)
            group = participant_group(invite.participant_id)
            transaction.on_commit(
                lambda: broadcast_to(group, {"type": "access.revoked"})
            )
        append_event(
            deal=access.deal,
            kind="invite.revoked",
            actor=access.participant,
            payload={"invite_id": invite.pk},
        )
    return invite


def guest_leave(*, session, deal_id: int) -> int | None:
    """This browser leaves the deal's room: its session forgets the guest,
    and the guest's open sockets resolve their access again (and close).
    The participant stays in the room's history; the host can invite them
    again with a fresh link. Returns the participant id it held, if any."""
    participant_id = forget_guest(session, deal_id)
    if participant_id is not None:
        broadcast_to(participant_group(participant_id), {"type": "access.changed"})
    return participant_id

"""Who may see and do what, in one place: accounts and guests alike.

A ``DealAccess`` answers, for one viewer and one deal: may they open it, which
side do they act for, may they edit, and whose private preparation may they
read. Views ask for it first; a viewer with no access gets a 404 so that the
existence of other people's deals is not revealed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from common.errors import Gone
from negotiation.models import Deal, Membership, Participant, Party

GUESTS_SESSION_KEY = "parley_guests"
PENDING_INVITE_SESSION_KEY = "parley_pending_invite"


class AccessEnded(Gone):
    """A guest whose access to the room ended (the host revoked their link).

    An ``Http404`` still, so every caller that refuses a missing deal refuses
    this too; the error pages tell the guest plainly, with status 410
    (``common.errors``).
    """


@dataclass(frozen=True)
class DealAccess:
    deal: Deal
    host_party: Party
    counterpart_party: Party
    # The side the viewer negotiates for, or None for a reviewing manager.
    party: Party | None
    participant: Participant | None
    is_manager: bool

    @property
    def side(self) -> str | None:
        return self.party.side if self.party else None

    @property
    def can_edit_deal(self) -> bool:
        """Deal facts and the agenda are set up by the host side."""
        return self.side == Party.Side.HOST and self.deal.is_open

    @property
    def can_edit_agenda(self) -> bool:
        """The host side maps the issues; in Setup both sides co-edit them."""
        if self.party is None or not self.deal.is_open:
            return False
        return self.side == Party.Side.HOST or self.deal.stage == Deal.Stage.SETUP

    @property
    def can_prepare(self) -> bool:
        """Only a side's own participants edit that side's preparation."""
        return self.party is not None and self.deal.is_open

    def can_read_private(self, party: Party) -> bool:
        """A side's private preparation: its own participants, and for the host
        side the managers of the deal's team. Never the other side."""
        if self.party is not None and self.party.pk == party.pk:
            return True
        return self.is_manager and party.side == Party.Side.HOST

    def private_party(self) -> Party:
        """The party whose preparation this viewer works on (or reviews)."""
        if self.party is not None:
            return self.party
        if self.is_manager:
            return self.host_party
        raise PermissionDenied


def is_team_manager(user: AbstractBaseUser | AnonymousUser, team_id: int) -> bool:
    return (
        user.is_authenticated
        and Membership.objects.filter(
            user=user, team_id=team_id, role=Membership.Role.MANAGER
        ).exists()
    )


def deal_access_for_user(
    user: AbstractBaseUser | AnonymousUser, deal_id: int
) -> DealAccess:
    """Resolve a logged-in user's access to a deal, or raise Http404."""
    if not user.is_authenticated:
        raise Http404("No such deal.")
    deal = (
        Deal.objects.visible_to(user)
        .select_related("team", "owner")
        .filter(pk=deal_id)
        .first()
    )
    if deal is None:
        raise Http404("No such deal.")
    parties = {p.side: p for p in deal.parties.all()}
    host_party = parties[Party.Side.HOST]
    # Accounts only ever negotiate for the host side; counterparts are guests.
    participant = Participant.objects.filter(party=host_party, user=user).first()
    is_host_member = participant is not None or deal.owner_id == user.pk
    party = host_party if is_host_member else None
    return DealAccess(
        deal=deal,
        host_party=host_party,
        counterpart_party=parties[Party.Side.COUNTERPART],
        party=party,
        participant=participant,
        is_manager=is_team_manager(user, deal.team_id),
    )


# --- Guests of the counterpart side ---------------------------------------
# Guests have no account. Joining through a share link stores their
# participant id in the (server-side) Django session, keyed by deal; every
# request and every websocket frame resolves it again here, so a revoked guest
# is refused at once.


def remember_guest(session, participant: Participant) -> None:
    guests = dict(session.get(GUESTS_SESSION_KEY, {}))
    guests[str(participant.party.deal_id)] = participant.pk
    session[GUESTS_SESSION_KEY] = guests


def forget_guest(session, deal_id: int) -> int | None:
    """Take this browser's guest of the deal out of its session; returns
    the participant id it held."""
    guests = dict(session.get(GUESTS_SESSION_KEY, {}))
    participant_id = guests.pop(str(deal_id), None)
    session[GUESTS_SESSION_KEY] = guests
    return participant_id


def guest_participant_id(session: Mapping[str, Any] | None, deal_id: int) -> int | None:
    if not session:
        return None
    return session.get(GUESTS_SESSION_KEY, {}).get(str(deal_id))


def room_access(user, session, deal_id: int) -> DealAccess:
    """Resolve the viewer's access to a deal's room, or raise Http404.

    A logged-in user with access to the deal acts for the host side (or
    reviews, as a manager). Otherwise the session's guest for this deal acts
    for the counterpart side, unless their link was revoked.
    """
    if user is not None and user.is_authenticated:
        try:
            return deal_access_for_user(user, deal_id)
        except Http404:
            pass
    participant_id = guest_participant_id(session, deal_id)
    if participant_id is None:
        raise Http404("No such deal.")
    guest = (
        Participant.objects.select_related("party__deal__team", "party__deal__owner")
        .filter(
            pk=participant_id,
            party__deal_id=deal_id,
            party__side=Party.Side.COUNTERPART,
        )
        .first()
    )
    if guest is None:
        raise Http404("No such deal.")
    if guest.revoked_at is not None:
        raise AccessEnded("Your access to this room ended.")
    deal: Deal = guest.party.deal
    parties = {p.side: p for p in deal.parties.all()}
    return DealAccess(
        deal=deal,
        host_party=parties[Party.Side.HOST],
        counterpart_party=guest.party,
        party=guest.party,
        participant=guest,
        is_manager=False,
    )


def login_or_guest_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but also lets in the session's guest of the
    counterpart side for the deal in the URL (``deal_id``).

    This only decides who gets past the door: the view must still resolve the
    viewer's access with ``room_access``, which refuses a
    revoked guest (404) and picks the side.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        deal_id = kwargs.get("deal_id")
        is_guest = (
            deal_id is not None
            and guest_participant_id(request.session, deal_id) is not None
        )
        if request.user.is_authenticated or is_guest:
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path())

    return wrapper

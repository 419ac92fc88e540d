"""Who may see and do what, in one place.

A ``DealAccess`` answers, for one viewer and one deal: may they open it, which
side do they act for, may they edit, and whose private preparation may they
read. Views ask for it first; a viewer with no access gets a 404 so that the
existence of other people's deals is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from negotiation.models import Deal, Membership, Participant, Party


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

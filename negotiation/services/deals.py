"""Writes for teams, deals and the issues on a deal's agenda."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max

from negotiation.access import DealAccess
from negotiation.disclosure import check_shared_text
from negotiation.models import (
    Deal,
    Issue,
    Membership,
    Participant,
    Party,
    Preparation,
    Team,
    new_join_code,
)
from negotiation.services.base import (
    append_event,
    applied_once,
    check_version,
    lock_deal,
    save_versioned,
)
from negotiation.services.preparation import copy_anchor_ranges

DEAL_FIELDS = (
    "title",
    "context",
    "counterpart_organisation",
    "counterpart_contact",
    "shared_purpose",
    "deadline",
)
# The deal's texts the other side reads in the room.
SHARED_DEAL_TEXT = ("title", "shared_purpose")
ISSUE_FIELDS = (
    "name",
    "description",
    "kind",
    "unit",
    "range_min",
    "range_max",
    "options",
    "flexibility",
)


@transaction.atomic
def team_create(*, name: str, founder: AbstractBaseUser) -> Team:
    """Create a team; its founder manages it (and can negotiate deals too)."""
    team = Team(name=name.strip())
    team.full_clean()
    team.save()
    Membership.objects.create(team=team, user=founder, role=Membership.Role.MANAGER)
    return team


@transaction.atomic
def membership_add(
    *, team: Team, user: AbstractBaseUser, role: str = Membership.Role.REP
) -> Membership:
    membership = Membership(team=team, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


def _display_name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def deal_create(
    *,
    owner: AbstractBaseUser,
    team: Team,
    title: str,
    counterpart_organisation: str,
    context: str = Deal.Context.SALES,
    counterpart_contact: str = "",
    shared_purpose: str = "",
    deadline: datetime.date | None = None,
    host_organisation: str = "",
) -> Deal:
    """Create a deal with both sides, their empty preparations, and the owner
    as the host side's first participant."""
    if not Membership.objects.filter(team=team, user=owner).exists():
        raise PermissionDenied("You can only create deals for your own team.")
    deal = Deal(
        team=team,
        owner=owner,
        title=title,
        context=context,
        counterpart_organisation=counterpart_organisation,
        counterpart_contact=counterpart_contact,
        shared_purpose=shared_purpose,
        deadline=deadline,
    )
    deal.full_clean()
    deal.save()
    host = Party.objects.create(
        deal=deal, side=Party.Side.HOST, organisation=host_organisation or team.name
    )
    counterpart = Party.objects.create(
        deal=deal, side=Party.Side.COUNTERPART, organisation=counterpart_organisation
    )
    Preparation.objects.bulk_create(
        [Preparation(party=host), Preparation(party=counterpart)]
    )
    actor = Participant.objects.create(
        party=host, user=owner, display_name=_display_name(owner)
    )
    append_event(deal=deal, kind="deal.created", actor=actor)
    return deal


def _lock_as_deal_editor(access: DealAccess) -> Deal:
    """Lock the deal and check, against it as it is now, that this viewer
    may change its shared facts."""
    deal = lock_deal(access)
    if not dataclasses.replace(access, deal=deal).can_edit_deal:
        raise PermissionDenied("Only the host side can change this deal while open.")
    return deal


def _lock_as_agenda_editor(access: DealAccess) -> Deal:
    """Lock the deal and check, against it as it is now (the stage may have
    moved on), that this viewer may change the agenda."""
    deal = lock_deal(access)
    if not dataclasses.replace(access, deal=deal).can_edit_agenda:
        raise PermissionDenied(
            "The agenda can be changed by the host side, or by both sides in Setup."
        )
    return deal


@applied_once
def deal_update(
    *,
    access: DealAccess,
    version: int,
    confirm_share: bool = False,
    client_msg_id: str | None = None,
    **changes,
) -> Deal:
    """Change the deal's shared facts. Refused if ``version`` is stale, and
    held back (``OversharingRefused``) when a shared text gives away the
    editing side's walk-away point, unless the side confirms."""
    unknown = set(changes) - set(DEAL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown deal fields: {', '.join(sorted(unknown))}")
    deal = _lock_as_deal_editor(access)
    check_version(deal, version)
    check_shared_text(
        access.party,
        [v for k, v in changes.items() if k in SHARED_DEAL_TEXT],
        confirmed=confirm_share,
    )
    for field, value in changes.items():
        setattr(deal, field, value)
    save_versioned(deal, fields=list(changes))
    if "counterpart_organisation" in changes:
        Party.objects.filter(deal=deal, side=Party.Side.COUNTERPART).update(
            organisation=deal.counterpart_organisation
        )
    append_event(
        deal=deal,
        kind="deal.updated",
        actor=access.participant,
        payload={"fields": sorted(changes)},
        client_msg_id=client_msg_id,
    )
    return deal


@applied_once
def issue_add(
    *,
    access: DealAccess,
    name: str,
    kind: str = Issue.Kind.NUMERIC,
    description: str = "",
    unit: str = "",
    range_min: Decimal | None = None,
    range_max: Decimal | None = None,
    options: list[str] | None = None,
    flexibility: str = Issue.Flexibility.FLEXIBLE,
    confirm_share: bool = False,
    client_msg_id: str | None = None,
) -> Issue:
    """Put a new issue on the deal's agenda, after the existing ones.

    The agenda is shared: a name or description that gives away the adding
    side's walk-away point is refused (``OversharingRefused``) unless the
    side confirms (``confirm_share``)."""
    deal = _lock_as_agenda_editor(access)
    check_shared_text(
        access.party,
        [name, description, unit, *(options or [])],
        confirmed=confirm_share,
    )
    last = deal.issues.aggregate(last=Max("position"))["last"]
    issue = Issue(
        deal=deal,
        name=name.strip(),
        kind=kind,
        description=description,
        unit=unit,
        range_min=range_min,
        range_max=range_max,
        options=options or [],
        flexibility=flexibility,
        position=0 if last is None else last + 1,
    )
    issue.full_clean()
    issue.save()
    append_event(
        deal=deal,
        kind="issue.added",
        actor=access.participant,
        payload={"issue_id": issue.pk},
        client_msg_id=client_msg_id,
    )
    return issue


@applied_once
def issue_update(
    *,
    access: DealAccess,
    issue_id: int,
    version: int,
    confirm_share: bool = False,
    client_msg_id: str | None = None,
    **changes,
) -> Issue:
    """Edit an issue of this deal. Refused if ``version`` is stale; held back
    like ``issue_add`` when its text gives away the walk-away point."""
    deal = _lock_as_agenda_editor(access)
    unknown = set(changes) - set(ISSUE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown issue fields: {', '.join(sorted(unknown))}")
    check_shared_text(
        access.party,
        [
            *(changes.get(k) or "" for k in ("name", "description", "unit")),
            *(changes.get("options") or []),
        ],
        confirmed=confirm_share,
    )
    issue = Issue.objects.select_for_update().filter(deal=deal).get(pk=issue_id)
    check_version(issue, version)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    for field, value in changes.items():
        setattr(issue, field, value)
    save_versioned(issue, fields=list(changes))
    if "name" in changes:
        copy_anchor_ranges(deal.parties.values_list("pk", flat=True))
    append_event(
        deal=deal,
        kind="issue.updated",
        actor=access.participant,
        payload={"issue_id": issue.pk, "fields": sorted(changes)},
        client_msg_id=client_msg_id,
    )
    return issue


@applied_once
def issue_remove(
    *,
    access: DealAccess,
    issue_id: int,
    version: int,
    client_msg_id: str | None = None,
) -> None:
    """Take an issue off the agenda (with both sides' matrix rows for it)."""
    deal = _lock_as_agenda_editor(access)
    issue = Issue.objects.select_for_update().filter(deal=deal).get(pk=issue_id)
    check_version(issue, version)
    issue.delete()
    copy_anchor_ranges(deal.parties.values_list("pk", flat=True))
    append_event(
        deal=deal,
        kind="issue.removed",
        actor=access.participant,
        payload={"issue_id": issue_id},
        client_msg_id=client_msg_id,
    )


@transaction.atomic
def issue_move(*, access: DealAccess, issue_id: int, direction: int) -> list[Issue]:
    """Move an issue one place up (-1) or down (+1) on the agenda."""
    deal = _lock_as_agenda_editor(access)
    if direction not in (-1, 1):
        raise ValidationError("An issue moves one place up or down.")
    issues = list(
        Issue.objects.select_for_update().filter(deal=deal).order_by("position", "pk")
    )
    index = next((i for i, issue in enumerate(issues) if issue.pk == issue_id), None)
    if index is None:
        raise Issue.DoesNotExist
    target = index + direction
    if 0 <= target < len(issues):
        issues[index], issues[target] = issues[target], issues[index]
        for position, issue in enumerate(issues):
            issue.position = position
        Issue.objects.bulk_update(issues, ["position"])
        append_event(
            deal=deal,
            kind="issue.reordered",
            actor=access.participant,
            payload={"issue_ids": [issue.pk for issue in issues]},
        )
    return issues


@transaction.atomic
def team_rotate_join_code(*, team_id: int) -> Team:
    team = Team.objects.select_for_update().get(pk=team_id)
    team.join_code = new_join_code()
    team.save(update_fields=["join_code"])
    return team

"""Writes of the playbooks app: practice deals opened from scenario cards, and
the plays a team writes for itself.

Loading the method's content is ``playbooks.loader``'s job (a command and a
data migration), not a service: no user triggers it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from negotiation.access import DealAccess, is_team_manager
from negotiation.models import Deal, Issue, Membership, Party, Preparation, Team
from negotiation.services import deals as deal_services
from negotiation.services import preparation as prep_services
from negotiation.services.base import check_version, save_versioned
from playbooks.models import (
    PRACTICE_SIDE_SECTIONS,
    ScenarioCard,
    TeamPlay,
    practice_spec_errors,
)

TEAM_PLAY_FIELDS = ("title", "context", "stage", "body")


@transaction.atomic
def practice_deal_open(
    *, scenario: ScenarioCard, owner: AbstractBaseUser, team: Team
) -> Deal:
    """Open a practice deal from ``scenario`` for ``owner`` on ``team``.

    The deal is an ordinary deal of the team, titled "Practice: …", with the
    scenario's issues on the agenda and both sides' preparation filled in: the
    host side's for the rep, the counterpart side's as a brief for whoever
    joins through a share link to play the other side. It goes through the
    same services as a deal a rep builds by hand.
    """
    spec = scenario.practice
    errors = practice_spec_errors(spec)
    if not spec or errors:
        raise ValidationError(errors or "This scenario has no practice deal yet.")
    deadline = None
    if spec.get("deadline_days"):
        deadline = timezone.localdate() + datetime.timedelta(
            days=int(spec["deadline_days"])
        )
    deal = deal_services.deal_create(
        owner=owner,
        team=team,
        title=scenario.practice_title,
        context=scenario.context,
        counterpart_organisation=spec["counterpart_organisation"],
        counterpart_contact=spec.get("counterpart_contact", ""),
        shared_purpose=spec.get("shared_purpose", ""),
        deadline=deadline,
        host_organisation=spec.get("host_organisation", ""),
    )
    parties = {party.side: party for party in deal.parties.all()}
    host, counterpart = parties[Party.Side.HOST], parties[Party.Side.COUNTERPART]
    host_access = DealAccess(
        deal=deal,
        host_party=host,
        counterpart_party=counterpart,
        party=host,
        participant=host.participants.get(user=owner),
        is_manager=False,
    )
    for issue in spec["issues"]:
        deal_services.issue_add(access=host_access, **_issue_fields(issue))
    issues = {issue.name.lower(): issue for issue in deal.issues.all()}
    # Nobody plays the counterpart yet: its brief is written without a
    # participant (private preparation appends no event, so needs no actor).
    counterpart_access = DealAccess(
        deal=deal,
        host_party=host,
        counterpart_party=counterpart,
        party=counterpart,
        participant=None,
        is_manager=False,
    )
    for access, side in ((host_access, "host"), (counterpart_access, "counterpart")):
        _prepare(access, issues, spec.get(side) or {})
    return deal


def _issue_fields(issue: dict[str, Any]) -> dict[str, Any]:
    fields = dict(issue)
    for bound in ("range_min", "range_max"):
        if fields.get(bound) is not None:
            fields[bound] = Decimal(str(fields[bound]))
    fields.setdefault("kind", Issue.Kind.NUMERIC)
    return fields


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _prepare(access: DealAccess, issues: dict[str, Issue], side: dict) -> None:
    for section in PRACTICE_SIDE_SECTIONS:
        changes = {
            name: side[name]
            for name in prep_services.PREPARATION_SECTIONS[section]
            if name in side
        }
        if not changes:
            continue
        if "reservation_value" in changes:
            changes["reservation_value"] = _decimal(changes["reservation_value"])
        version = Preparation.objects.get(party=access.party).version
        prep_services.preparation_update(
            access=access, section=section, version=version, **changes
        )
    for row in side.get("priorities", []):
        prep_services.priority_set(
            access=access,
            issue_id=issues[row["issue"].lower()].pk,
            version=None,
            importance=row["importance"],
            can_give=row.get("can_give", ""),
            want_get=row.get("want_get", ""),
            ideal_outcome=row.get("ideal_outcome", ""),
        )
    for row in side.get("anchors", []):
        prep_services.anchor_set(
            access=access,
            issue_id=issues[row["issue"].lower()].pk,
            version=None,
            low=_decimal(row.get("low")),
            high=_decimal(row.get("high")),
            opening_position=row.get("opening_position", ""),
            benchmark=row.get("benchmark", ""),
        )
    for row in side.get("evidence", []):
        prep_services.evidence_add(
            access=access,
            kind=row.get("kind", "benchmark"),
            title=row["title"],
            detail=row.get("detail", ""),
            url=row.get("url", ""),
        )


def can_edit_play(user: AbstractBaseUser, play: TeamPlay) -> bool:
    """Its author, and the managers of its team."""
    return play.created_by_id == user.pk or is_team_manager(user, play.team_id)


@transaction.atomic
def team_play_create(
    *,
    author: AbstractBaseUser,
    team: Team,
    title: str,
    body: str,
    context: str = "",
    stage: str = "",
) -> TeamPlay:
    """Add a play to ``team``'s own playbook; only its members may."""
    if not Membership.objects.filter(team=team, user=author).exists():
        raise PermissionDenied("You can only add plays to your own team.")
    play = TeamPlay(
        team=team,
        created_by=author,
        title=title.strip(),
        body=body.strip(),
        context=context,
        stage=stage,
    )
    play.full_clean()
    play.save()
    return play


def _locked_play(actor: AbstractBaseUser, play_id: int) -> TeamPlay:
    play = TeamPlay.objects.select_for_update().get(pk=play_id)
    if not Membership.objects.filter(team_id=play.team_id, user=actor).exists():
        # Other teams must not learn that the play exists.
        raise TeamPlay.DoesNotExist
    if not can_edit_play(actor, play):
        raise PermissionDenied("Only its author or a team manager can change a play.")
    return play


@transaction.atomic
def team_play_update(
    *, actor: AbstractBaseUser, play_id: int, version: int, **changes
) -> TeamPlay:
    """Edit a play. Refused if ``version`` is stale."""
    unknown = set(changes) - set(TEAM_PLAY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown play fields: {', '.join(sorted(unknown))}")
    play = _locked_play(actor, play_id)
    check_version(play, version)
    for field, value in changes.items():
        setattr(play, field, value.strip() if field in ("title", "body") else value)
    save_versioned(play, fields=list(changes))
    return play


@transaction.atomic
def team_play_delete(*, actor: AbstractBaseUser, play_id: int) -> None:
    _locked_play(actor, play_id).delete()

"""Writes to a side's private preparation.

Only the side's own participants may write here (``DealAccess.can_prepare``);
a manager reviews but does not edit. Private edits append no ``DealEvent``:
the deal's log is replayed to both sides, and these facts belong to one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.disclosure import check_shared_text, shared_cells
from negotiation.models import (
    AnchorEntry,
    EvidenceItem,
    Issue,
    IssueScore,
    Participant,
    Party,
    Preparation,
    PriorityEntry,
    Scoring,
)
from negotiation.scoring.values import SCORE_MAX
from negotiation.services.base import (
    EditConflict,
    broadcast,
    check_version,
    require_not_negative,
    save_versioned,
    validate,
)

# How the other side communicates and decides, as this side reads it: the
# room's coach adapts its lines to it (``room.coaching.culture``).
CULTURE_FIELDS = ("their_style", "their_decisions")

# The parts of ``Preparation`` each section of the preparation pages edits.
PREPARATION_SECTIONS: dict[str, tuple[str, ...]] = {
    "walkaway": (
        "batna",
        "reservation_point",
        "reservation_value",
        "target_outcome",
        "sensitive_figures",
    ),
    "counterparty": (
        "their_constraints",
        "their_decision_path",
        "their_pressures",
        "their_success",
        *CULTURE_FIELDS,
    ),
    # The same reading of their culture, from the room's coach panel.
    "culture": CULTURE_FIELDS,
    "readiness": (
        "zero_sum_signals",
        "sensitive_data_at_stake",
        "crisis_deadline",
        "readiness_notes",
    ),
}


STYLES = {value for value, _ in Preparation._meta.get_field("their_style").choices}
DECISIONS = {
    value for value, _ in Preparation._meta.get_field("their_decisions").choices
}


def _check_culture(changes: Mapping[str, object]) -> None:
    """A reading of their culture is one of the known ones, or open ("")."""
    errors = {}
    if changes.get("their_style") and changes["their_style"] not in STYLES:
        errors["their_style"] = "Choose direct or high-context, or leave it open."
    if changes.get("their_decisions") and changes["their_decisions"] not in DECISIONS:
        errors["their_decisions"] = (
            "Choose hierarchical, by consensus or one person, or leave it open."
        )
    if errors:
        raise ValidationError(errors)


def _own_party(access: DealAccess) -> Party:
    if not access.can_prepare or access.party is None:
        raise PermissionDenied("Only your own side can edit its preparation.")
    return access.party


def _own_issue(access: DealAccess, issue_id: int) -> Issue:
    try:
        return Issue.objects.get(pk=issue_id, deal=access.deal)
    except Issue.DoesNotExist:
        raise ValidationError("That issue is not on this deal's agenda.") from None


@transaction.atomic
def preparation_update(
    *, access: DealAccess, section: str, version: int, **changes
) -> Preparation:
    """Save one section of the viewer's own side's preparation.

    A changed reading of the other side's culture refreshes the side's coach
    in the room: the broadcast names the side only, and no event goes to the
    shared log."""
    party = _own_party(access)
    allowed = PREPARATION_SECTIONS.get(section)
    if allowed is None or set(changes) - set(allowed):
        raise ValidationError("Unknown preparation fields.")
    require_not_negative(reservation_value=changes.get("reservation_value"))
    _check_culture(changes)
    preparation = Preparation.objects.select_for_update().get(party=party)
    check_version(preparation, version)
    culture_changed = any(
        getattr(preparation, field) != changes[field]
        for field in CULTURE_FIELDS
        if field in changes
    )
    for field, value in changes.items():
        setattr(preparation, field, value)
    fields = list(changes)
    if section == "readiness":
        preparation.readiness_reviewed_at = timezone.now()
        fields.append("readiness_reviewed_at")
    save_versioned(preparation, fields=fields)
    if culture_changed:
        deal_id, side = party.deal_id, party.side
        transaction.on_commit(
            lambda: broadcast(deal_id, {"type": "coach.changed", "side": side})
        )
    return preparation


@transaction.atomic
def culture_set(
    *,
    access: DealAccess,
    version: int,
    their_style: str = "",
    their_decisions: str = "",
    client_msg_id: str | None = None,
) -> Preparation:
    """Record (or clear, with "") the other side's communication style and
    way of deciding in the viewer's own preparation, from the room's coach
    panel (the counterparty map page saves them with the rest of the map).

    A socket may outlive its participant's access, so a revoked participant
    is refused here, against the database."""
    party, participant = access.party, access.participant
    if party is None or participant is None or not access.can_prepare:
        raise PermissionDenied("Only a negotiating side records its reading.")
    if not Participant.objects.filter(
        pk=participant.pk, party=party, revoked_at__isnull=True
    ).exists():
        raise PermissionDenied("Your access to this deal was revoked.")
    return preparation_update(
        access=access,
        section="culture",
        version=version,
        their_style=their_style,
        their_decisions=their_decisions,
    )


@transaction.atomic
def priority_set(
    *,
    access: DealAccess,
    issue_id: int,
    version: int | None,
    importance: int,
    can_give: str = "",
    want_get: str = "",
    ideal_outcome: str = "",
    confirm_share: bool = False,
) -> PriorityEntry:
    """Create or edit the matrix row for one issue.

    ``version`` is None when the editor saw no row yet; if someone else created
    it meanwhile, that is a conflict like any other stale edit. A cell the
    side shows the other side (its shared position) is shared text: a new
    wording that gives its walk-away point away is refused
    (``OversharingRefused``) unless the side confirms (``confirm_share``).
    """
    party = _own_party(access)
    issue = _own_issue(access, issue_id)
    entry = (
        PriorityEntry.objects.select_for_update()
        .filter(party=party, issue=issue)
        .first()
    )
    values = {
        "importance": importance,
        "can_give": can_give,
        "want_get": want_get,
        "ideal_outcome": ideal_outcome,
    }
    shared = shared_cells(party).get(str(issue.pk), ())
    check_shared_text(
        party,
        [
            values[column]
            for column in shared
            if column in values and values[column] != getattr(entry, column, "")
        ],
        confirmed=confirm_share,
    )
    if entry is None:
        entry = PriorityEntry(party=party, issue=issue, **values)
        entry.full_clean()
        entry.save()
        return entry
    if version is None:
        raise EditConflict(entry)
    check_version(entry, version)
    for field, value in values.items():
        setattr(entry, field, value)
    save_versioned(entry, fields=list(values))
    return entry


@transaction.atomic
def anchor_set(
    *,
    access: DealAccess,
    issue_id: int,
    version: int | None,
    low: Decimal | None = None,
    high: Decimal | None = None,
    opening_position: str = "",
    benchmark: str = "",
) -> AnchorEntry:
    """Create or edit the anchor worksheet's row for one issue."""
    party = _own_party(access)
    issue = _own_issue(access, issue_id)
    entry = (
        AnchorEntry.objects.select_for_update().filter(party=party, issue=issue).first()
    )
    values = {
        "low": low,
        "high": high,
        "opening_position": opening_position,
        "benchmark": benchmark,
    }
    if entry is None:
        entry = AnchorEntry(party=party, issue=issue, **values)
        entry.full_clean()
        entry.save()
    else:
        if version is None:
            raise EditConflict(entry)
        check_version(entry, version)
        for field, value in values.items():
            setattr(entry, field, value)
        save_versioned(entry, fields=list(values))
    copy_anchor_ranges([party.pk])
    return entry


@transaction.atomic
def evidence_add(
    *,
    access: DealAccess,
    kind: str,
    title: str,
    detail: str = "",
    url: str = "",
    internal: bool = False,
) -> EvidenceItem:
    party = _own_party(access)
    item = EvidenceItem(
        party=party,
        kind=kind,
        title=title,
        detail=detail,
        url=url,
        internal=internal,
    )
    item.full_clean()
    item.save()
    if item.internal:
        _copy_internal_evidence(party)
    return item


@transaction.atomic
def evidence_remove(*, access: DealAccess, evidence_id: int) -> None:
    party = _own_party(access)
    deleted, _ = EvidenceItem.objects.filter(pk=evidence_id, party=party).delete()
    if not deleted:
        raise ValidationError("That evidence item does not exist.")
    _copy_internal_evidence(party)


def _copy_internal_evidence(party: Party) -> None:
    """Keep the preparation's copy of the side's internal evidence, which the
    over-sharing guard reads, in step with the evidence pack."""
    Preparation.objects.filter(party=party).update(
        internal_evidence=[
            [title, detail]
            for title, detail in EvidenceItem.objects.filter(
                party=party, internal=True
            ).values_list("title", "detail")
        ]
    )


def copy_anchor_ranges(party_ids: Iterable[int]) -> None:
    """Keep the preparation's copy of each side's opening ranges, which the
    over-sharing guard reads, in step with its anchor worksheet: after any
    change to an anchor row, or to the name or presence of an issue."""
    party_ids = list(party_ids)
    ranges: dict[int, list[list[str]]] = {pk: [] for pk in party_ids}
    rows = AnchorEntry.objects.filter(
        party_id__in=party_ids, low__isnull=False, high__isnull=False
    ).values_list("party_id", "issue__name", "low", "high")
    for party_id, issue_name, low, high in rows:
        ranges[party_id].append([issue_name, str(low), str(high)])
    for party_id, copy in ranges.items():
        Preparation.objects.filter(party_id=party_id).update(anchor_ranges=copy)


@dataclasses.dataclass(frozen=True)
class IssueScoreInput:
    """One issue of a scoring as the side typed it."""

    weight: int
    points: list[tuple[Decimal, int]] = dataclasses.field(default_factory=list)
    ratings: dict[str, int] = dataclasses.field(default_factory=dict)


@transaction.atomic
def scoring_save(
    *,
    access: DealAccess,
    version: int | None,
    reservation_score: Decimal | None,
    issues: Mapping[int, IssueScoreInput],
) -> Scoring:
    """Save the side's whole scoring at once: every issue of the agenda, with
    weights adding up to 100, and the reservation score.

    All of it or nothing: a weight, a value function or a rating that does not
    hold refuses the save and leaves the stored scoring as it was. ``version``
    is None when the editor saw no scoring yet.
    """
    party = _own_party(access)
    scoring = Scoring.objects.select_for_update().filter(party=party).first()
    if scoring is not None:
        if version is None:
            raise EditConflict(scoring)
        check_version(scoring, version)
    agenda = {issue.pk: issue for issue in Issue.objects.filter(deal=access.deal)}
    if set(issues) != set(agenda):
        raise ValidationError(
            "The agenda changed while you were scoring. Your scoring was not "
            "saved: check the issues as they stand now and save again."
        )
    total = sum(entry.weight for entry in issues.values())
    if total != SCORE_MAX:
        raise ValidationError(
            f"The weights add up to {total}. Make them add up to {SCORE_MAX}, "
            "so each one reads as a share of what the deal is worth to you."
        )
    rows = [
        IssueScore(
            issue=agenda[issue_id],
            weight=entry.weight,
            points=[[str(value), score] for value, score in entry.points],
            ratings=dict(entry.ratings),
        )
        for issue_id, entry in issues.items()
    ]
    for row in rows:
        validate(row, fields=["weight", "points", "ratings"])
    if scoring is None:
        scoring = Scoring(party=party, reservation_score=reservation_score)
        validate(scoring)
        scoring.save()
    else:
        scoring.reservation_score = reservation_score
        save_versioned(scoring, fields=["reservation_score"])
        scoring.issue_scores.all().delete()
    for row in rows:
        row.scoring = scoring
    IssueScore.objects.bulk_create(rows)
    # The side's open room sockets keep its scoring: tell them to read it
    # again. The message names the party only, nothing of the scoring.
    deal_id, party_id = access.deal.pk, party.pk
    transaction.on_commit(
        lambda: broadcast(deal_id, {"type": "scoring.changed", "party_id": party_id})
    )
    return scoring

"""Writes made in the live room, by either side.

Every function here is one room action: it checks who acts (side, stage,
ownership of the object), validates, writes in one transaction, appends one
``DealEvent`` and broadcasts after commit. ``applied_once`` runs each one:
a retry of an action with the same ``client_msg_id`` writes nothing and
raises ``AlreadyApplied``. HTTP views and the websocket consumer call the
same functions.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import (
    AgreementConfirmation,
    CheckIn,
    CheckInItem,
    Commitment,
    Concession,
    Deal,
    DealEvent,
    Issue,
    MesoSet,
    Message,
    Package,
    Party,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
)
from negotiation.services.base import (
    append_event,
    applied_once,
    check_version,
    lock_deal,
    save_versioned,
)

Stage = Deal.Stage
STAGE_ORDER = list(Stage.values)

# Which stages each tool works in. Discussion works in every stage.
TOOL_STAGES: dict[str, set[str]] = {
    "setup": {Stage.SETUP},
    "agenda": {Stage.SETUP},
    "position": {Stage.FIRST_MOVE, Stage.MIDGAME},
    "trades": {Stage.MIDGAME},
    "packages": {Stage.MIDGAME},
    "concessions": {Stage.MIDGAME, Stage.CLOSE},
    "terms": {Stage.MIDGAME, Stage.CLOSE},
    "commitments": {Stage.CLOSE, Stage.IMPLEMENTATION},
    "agreement": {Stage.CLOSE},
    "check_ins": {Stage.IMPLEMENTATION},
}


# What still happens once both sides confirmed the agreement.
AFTER_AGREEMENT_TOOLS = {"stage", "check_ins", "discussion"}


def _participant_side(access: DealAccess) -> Party:
    if access.party is None or access.participant is None:
        raise PermissionDenied("Only the deal's participants can act in the room.")
    if access.participant.revoked_at is not None:
        raise PermissionDenied("Your access to this deal was revoked.")
    return access.party


def _require(access: DealAccess, tool: str) -> Deal:
    """Lock the deal and check the actor, the deal's status and the stage.

    Returns the locked, fresh deal row. Must run inside the caller's atomic.
    """
    _participant_side(access)
    deal = lock_deal(access)
    if deal.status == Deal.Status.NO_DEAL:
        raise ValidationError("This deal ended without agreement: it is read-only.")
    if deal.status == Deal.Status.AGREED and tool not in AFTER_AGREEMENT_TOOLS:
        raise ValidationError("The agreement is confirmed: its terms are locked.")
    if tool in TOOL_STAGES and deal.stage not in TOOL_STAGES[tool]:
        stages = " or ".join(
            Stage(s).label for s in STAGE_ORDER if s in TOOL_STAGES[tool]
        )
        raise ValidationError(
            f"That can only be done in {stages}; the deal is in "
            f"{Stage(deal.stage).label}.",
            code="wrong_stage",
        )
    return deal


def _event(
    access: DealAccess,
    deal: Deal,
    kind: str,
    client_msg_id: str | None,
    **payload: Any,
) -> DealEvent:
    return append_event(
        deal=deal,
        kind=kind,
        actor=access.participant,
        payload=payload,
        client_msg_id=client_msg_id or None,
    )


def _issue(deal: Deal, issue_id: int) -> Issue:
    try:
        return Issue.objects.get(pk=issue_id, deal=deal)
    except (Issue.DoesNotExist, ValueError, TypeError):
        raise ValidationError("That issue is not on this deal's agenda.") from None


def _other_side_object(model, deal: Deal, pk: int, party: Party, *, own: bool):
    """Fetch one of this deal's objects, locked, checking whose it is."""
    try:
        obj = model.objects.select_for_update().get(pk=pk, deal=deal)
    except (model.DoesNotExist, ValueError, TypeError):
        raise ValidationError("That item does not exist in this deal.") from None
    owner_id = getattr(obj, "party_id", None)
    if own and owner_id != party.pk:
        raise PermissionDenied("Only the side that made it can do that.")
    if not own and owner_id == party.pk:
        raise PermissionDenied("Only the other side can answer that.")
    return obj


# --- Stages ------------------------------------------------------------------


@applied_once
def stage_change_propose(
    *, access: DealAccess, to_stage: str, note: str = "", client_msg_id=None
) -> StageChange:
    """Propose moving to the next (or back to the previous) stage."""
    deal = _require(access, "stage")
    if to_stage not in STAGE_ORDER:
        raise ValidationError("Unknown stage.")
    step = STAGE_ORDER.index(to_stage) - STAGE_ORDER.index(deal.stage)
    if step not in (-1, 1):
        raise ValidationError("A deal moves one stage at a time.")
    if deal.status == Deal.Status.AGREED and to_stage != Stage.IMPLEMENTATION:
        raise ValidationError("The agreement is confirmed: next is Implementation.")
    if deal.stage_changes.filter(status=StageChange.Status.PENDING).exists():
        raise ValidationError("A stage change is already waiting for an answer.")
    change = StageChange(
        deal=deal,
        from_stage=deal.stage,
        to_stage=to_stage,
        party=access.party,
        proposed_by=access.participant,
        note=note.strip(),
    )
    change.full_clean()
    change.save()
    _event(access, deal, "stage.proposed", client_msg_id, change_id=change.pk)
    return change


def _pending_change(deal: Deal, access: DealAccess, change_id, *, own: bool):
    """A stage change still waiting for an answer, checked for whose it is."""
    change = _other_side_object(StageChange, deal, change_id, access.party, own=own)
    if change.status != StageChange.Status.PENDING:
        raise ValidationError("That stage change was already answered.")
    return change


@applied_once
def stage_change_respond(
    *, access: DealAccess, change_id: int, accept: bool, client_msg_id=None
) -> StageChange:
    """The other side accepts (the deal moves) or declines a stage change."""
    deal = _require(access, "stage")
    change = _pending_change(deal, access, change_id, own=False)
    if change.from_stage != deal.stage:
        raise ValidationError("The deal has moved on since this was proposed.")
    change.status = (
        StageChange.Status.ACCEPTED if accept else StageChange.Status.DECLINED
    )
    change.decided_by = access.participant
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at"])
    if accept:
        deal.stage = change.to_stage
        deal.version += 1
        deal.save(update_fields=["stage", "version", "updated_at"])
    kind = "stage.accepted" if accept else "stage.declined"
    _event(access, deal, kind, client_msg_id, change_id=change.pk, stage=deal.stage)
    return change


@applied_once
def stage_change_withdraw(
    *, access: DealAccess, change_id: int, client_msg_id=None
) -> StageChange:
    deal = _require(access, "stage")
    change = _pending_change(deal, access, change_id, own=True)
    change.status = StageChange.Status.WITHDRAWN
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_at"])
    _event(access, deal, "stage.withdrawn", client_msg_id, change_id=change.pk)
    return change


@applied_once
def deal_end_no_deal(*, access: DealAccess, reason: str, client_msg_id=None) -> Deal:
    """Either side can end the negotiation without agreement, saying why."""
    deal = _require(access, "end")
    if not reason.strip():
        raise ValidationError({"reason": "Say why there is no deal."})
    deal.status = Deal.Status.NO_DEAL
    deal.outcome_note = reason.strip()
    deal.closed_at = timezone.now()
    deal.version += 1
    deal.save(
        update_fields=["status", "outcome_note", "closed_at", "version", "updated_at"]
    )
    _event(access, deal, "deal.no_deal", client_msg_id)
    return deal


# --- Setup -------------------------------------------------------------------


@applied_once
def setup_update(
    *,
    access: DealAccess,
    version: int,
    shared_purpose: str,
    ground_rules: str,
    client_msg_id=None,
) -> Deal:
    """Both sides co-edit the shared purpose and ground rules during Setup."""
    deal = _require(access, "setup")
    check_version(deal, version)
    deal.shared_purpose = shared_purpose.strip()
    deal.ground_rules = ground_rules.strip()
    save_versioned(deal, fields=["shared_purpose", "ground_rules"])
    _event(access, deal, "setup.updated", client_msg_id)
    return deal


# --- First Move: interests, ranking, shared matrix ------------------------------


@applied_once
def position_update(
    *,
    access: DealAccess,
    version: int | None,
    interests: str,
    ranking: list[int],
    shared_matrix: dict[str, list[str]] | None = None,
    client_msg_id=None,
) -> SharedPosition:
    """Save what this side shows the other: interests, ranking, matrix columns.

    Only columns in ``SharedPosition.SHAREABLE_MATRIX_FIELDS`` can be shared;
    walk-away points and importance scores cannot be shared at all.
    """
    deal = _require(access, "position")
    issue_ids = set(deal.issues.values_list("pk", flat=True))
    try:
        ranking = [int(pk) for pk in ranking]
    except (TypeError, ValueError):
        raise ValidationError({"ranking": "The ranking lists issues."}) from None
    if len(set(ranking)) != len(ranking) or not set(ranking) <= issue_ids:
        raise ValidationError({"ranking": "Rank each issue of this deal at most once."})
    matrix: dict[str, list[str]] = {}
    for key, columns in (shared_matrix or {}).items():
        if not str(key).isdigit() or int(key) not in issue_ids:
            raise ValidationError("That issue is not on this deal's agenda.")
        bad = set(columns) - set(SharedPosition.SHAREABLE_MATRIX_FIELDS)
        if bad:
            raise ValidationError(
                "Only what you can give, what you want and the ideal outcome "
                "can be shared. Walk-away points never leave your side."
            )
        if columns:
            matrix[str(int(key))] = sorted(set(columns))
    position, created = SharedPosition.objects.select_for_update().get_or_create(
        party=access.party
    )
    if not created:
        check_version(position, version)
    position.interests = interests.strip()
    position.ranking = ranking
    position.shared_matrix = matrix
    if created:
        position.full_clean()
        position.save()
    else:
        save_versioned(position, fields=["interests", "ranking", "shared_matrix"])
    _event(access, deal, "position.updated", client_msg_id, party=access.side)
    return position


# --- Midgame: conditional trades ---------------------------------------------


def _trade_fields(deal: Deal, give_issue_id, give_value, ask_issue_id, ask_value):
    give_issue = _issue(deal, give_issue_id)
    ask_issue = _issue(deal, ask_issue_id)
    if give_issue.pk == ask_issue.pk:
        raise ValidationError(
            {"ask_issue": "Ask for something on another issue: a trade links two."}
        )
    give_value, ask_value = (give_value or "").strip(), (ask_value or "").strip()
    errors = {}
    if not give_value:
        errors["give_value"] = "Say what your side would give."
    if not ask_value:
        errors["ask_value"] = "Say what you ask for in return."
    if errors:
        raise ValidationError(errors)
    return give_issue, give_value, ask_issue, ask_value


@applied_once
def trade_propose(
    *,
    access: DealAccess,
    give_issue_id: int,
    give_value: str,
    ask_issue_id: int,
    ask_value: str,
    rationale: str = "",
    client_msg_id=None,
) -> Trade:
    """ "If we give X on issue A, can you give Y on issue B?" (non-binding)."""
    deal = _require(access, "trades")
    give_issue, give_value, ask_issue, ask_value = _trade_fields(
        deal, give_issue_id, give_value, ask_issue_id, ask_value
    )
    trade = Trade.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        give_issue=give_issue,
        give_value=give_value,
        ask_issue=ask_issue,
        ask_value=ask_value,
        rationale=rationale.strip(),
    )
    _event(access, deal, "trade.proposed", client_msg_id, trade_id=trade.pk)
    return trade


def _open_trade(deal: Deal, access: DealAccess, trade_id, version, *, own: bool):
    trade = _other_side_object(Trade, deal, trade_id, access.party, own=own)
    if trade.status != Trade.Status.OPEN:
        status = trade.get_status_display().lower()
        raise ValidationError(f"That trade is no longer open (it was {status}).")
    check_version(trade, version)
    return trade


def _set_term(deal: Deal, issue: Issue, value: str, access: DealAccess, trade=None):
    entry, created = TermSheetEntry.objects.select_for_update().get_or_create(
        issue=issue, defaults={"deal": deal, "value": value, "source_trade": trade,
                               "updated_by": access.participant},
    )  # fmt: skip
    if not created:
        entry.value = value
        entry.source_trade = trade
        entry.updated_by = access.participant
        save_versioned(entry, fields=["value", "source_trade", "updated_by"])
    return entry


@applied_once
def trade_accept(
    *, access: DealAccess, trade_id: int, version: int, client_msg_id=None
) -> Trade:
    """Binding: the other side agrees. Both values go on the draft term sheet
    and each side's concession log gets its entry."""
    deal = _require(access, "trades")
    trade = _open_trade(deal, access, trade_id, version, own=False)
    trade.status = Trade.Status.ACCEPTED
    trade.decided_by = access.participant
    trade.decided_at = timezone.now()
    save_versioned(trade, fields=["status", "decided_by", "decided_at"])
    _set_term(deal, trade.give_issue, trade.give_value, access, trade)
    _set_term(deal, trade.ask_issue, trade.ask_value, access, trade)
    proposer, acceptor = trade.party, access.party
    trigger = "Accepted conditional trade"
    Concession.objects.bulk_create(
        [
            Concession(
                deal=deal, party=proposer, created_by=trade.proposed_by,
                item=f"{trade.give_issue.name} for {trade.ask_issue.name}",
                we_give=f"{trade.give_issue.name}: {trade.give_value}",
                we_get=f"{trade.ask_issue.name}: {trade.ask_value}",
                trigger=trigger, trade=trade,
            ),
            Concession(
                deal=deal, party=acceptor, created_by=access.participant,
                item=f"{trade.ask_issue.name} for {trade.give_issue.name}",
                we_give=f"{trade.ask_issue.name}: {trade.ask_value}",
                we_get=f"{trade.give_issue.name}: {trade.give_value}",
                trigger=trigger, trade=trade,
            ),
        ]
    )  # fmt: skip
    _event(access, deal, "trade.accepted", client_msg_id, trade_id=trade.pk)
    return trade


@applied_once
def trade_decline(
    *,
    access: DealAccess,
    trade_id: int,
    version: int,
    reason: str,
    client_msg_id=None,
) -> Trade:
    deal = _require(access, "trades")
    trade = _open_trade(deal, access, trade_id, version, own=False)
    if not reason.strip():
        raise ValidationError({"reason": "Say why, so the other side can adjust."})
    trade.status = Trade.Status.DECLINED
    trade.decline_reason = reason.strip()
    trade.decided_by = access.participant
    trade.decided_at = timezone.now()
    save_versioned(
        trade, fields=["status", "decline_reason", "decided_by", "decided_at"]
    )
    _event(access, deal, "trade.declined", client_msg_id, trade_id=trade.pk)
    return trade


@applied_once
def trade_withdraw(
    *, access: DealAccess, trade_id: int, version: int, client_msg_id=None
) -> Trade:
    deal = _require(access, "trades")
    trade = _open_trade(deal, access, trade_id, version, own=True)
    trade.status = Trade.Status.WITHDRAWN
    trade.decided_by = access.participant
    trade.decided_at = timezone.now()
    save_versioned(trade, fields=["status", "decided_by", "decided_at"])
    _event(access, deal, "trade.withdrawn", client_msg_id, trade_id=trade.pk)
    return trade


@applied_once
def trade_counter(
    *,
    access: DealAccess,
    trade_id: int,
    version: int,
    give_issue_id: int,
    give_value: str,
    ask_issue_id: int,
    ask_value: str,
    rationale: str = "",
    client_msg_id=None,
) -> Trade:
    """Answer a trade with a modified one; the original is marked countered."""
    deal = _require(access, "trades")
    original = _open_trade(deal, access, trade_id, version, own=False)
    give_issue, give_value, ask_issue, ask_value = _trade_fields(
        deal, give_issue_id, give_value, ask_issue_id, ask_value
    )
    original.status = Trade.Status.COUNTERED
    original.decided_by = access.participant
    original.decided_at = timezone.now()
    save_versioned(original, fields=["status", "decided_by", "decided_at"])
    counter = Trade.objects.create(
        deal=deal,
        party=access.party,
        proposed_by=access.participant,
        give_issue=give_issue,
        give_value=give_value,
        ask_issue=ask_issue,
        ask_value=ask_value,
        rationale=rationale.strip(),
        counter_of=original,
    )
    _event(
        access, deal, "trade.countered", client_msg_id,
        trade_id=counter.pk, original_id=original.pk,
    )  # fmt: skip
    return counter


# --- Midgame: packages and MESO -------------------------------------------------


def _package_values(deal: Deal, values: dict) -> dict[str, str]:
    issue_ids = {str(pk) for pk in deal.issues.values_list("pk", flat=True)}
    cleaned = {str(k): str(v).strip() for k, v in (values or {}).items()}
    if set(cleaned) - issue_ids:
        raise ValidationError("A package can only hold this deal's issues.")
    missing = issue_ids - {k for k, v in cleaned.items() if v}
    if missing:
        raise ValidationError("A package needs a value for every issue.")
    return cleaned


@applied_once
def meso_present(
    *,
    access: DealAccess,
    packages: list[dict[str, Any]],
    note: str = "",
    counter_of_id: int | None = None,
    client_msg_id=None,
) -> MesoSet:
    """Present several equivalent packages at once (MESO): usually three.

    ``packages`` are ``{"name": str, "values": {issue_id: value}}``. A single
    package is allowed too, as a counter to one of the other side's packages.
    """
    deal = _require(access, "packages")
    if not 1 <= len(packages) <= 5:
        raise ValidationError("Present between one and five packages.")
    counter_of = None
    if counter_of_id is not None:
        counter_of = Package.objects.filter(pk=counter_of_id, deal=deal).first()
        if counter_of is None or counter_of.party_id == access.party.pk:
            raise ValidationError("You can only counter the other side's package.")
    names = [str(p.get("name", "")).strip() for p in packages]
    if any(not name for name in names) or len(set(names)) != len(names):
        raise ValidationError("Give each package its own name.")
    meso = MesoSet.objects.create(
        deal=deal, party=access.party, created_by=access.participant, note=note.strip()
    )
    Package.objects.bulk_create(
        [
            Package(
                deal=deal,
                party=access.party,
                created_by=access.participant,
                name=name,
                values=_package_values(deal, spec.get("values", {})),
                meso_set=meso,
                counter_of=counter_of,
            )
            for name, spec in zip(names, packages, strict=True)
        ]
    )
    _event(access, deal, "meso.presented", client_msg_id, meso_id=meso.pk)
    return meso


@applied_once
def meso_respond(
    *,
    access: DealAccess,
    meso_id: int,
    version: int,
    preference: list[int] | None = None,
    picked_id: int | None = None,
    client_msg_id=None,
) -> MesoSet:
    """The other side ranks the packages, and may pick one (binding: its values
    become the draft term sheet)."""
    deal = _require(access, "packages")
    meso = _other_side_object(MesoSet, deal, meso_id, access.party, own=False)
    if meso.status == MesoSet.Status.WITHDRAWN:
        raise ValidationError("That set was withdrawn.")
    check_version(meso, version)
    package_ids = set(meso.packages.values_list("pk", flat=True))
    try:
        preference = [int(pk) for pk in (preference or [])]
        picked_id = int(picked_id) if picked_id not in (None, "") else None
    except (TypeError, ValueError):
        raise ValidationError("Rank or pick packages of this set.") from None
    if not set(preference) <= package_ids or len(set(preference)) != len(preference):
        raise ValidationError("Rank each package of this set once.")
    if picked_id is not None and picked_id not in package_ids:
        raise ValidationError("Pick one of this set's packages.")
    if not preference and picked_id is None:
        raise ValidationError("Rank the packages or pick one.")
    meso.preference = preference
    meso.status = MesoSet.Status.ANSWERED
    meso.answered_by = access.participant
    fields = ["preference", "status", "answered_by"]
    if picked_id is not None:
        meso.picked_id = picked_id
        fields.append("picked")
        picked = meso.packages.get(pk=picked_id)
        # An issue added after the packages were presented has no value in
        # them: it stays open on the term sheet.
        for issue in deal.issues.filter(pk__in=[int(k) for k in picked.values]):
            _set_term(deal, issue, picked.values[str(issue.pk)], access)
    save_versioned(meso, fields=fields)
    _event(access, deal, "meso.answered", client_msg_id, meso_id=meso.pk)
    return meso


# --- Concession log ------------------------------------------------------------


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
    deal = _require(access, "concessions")
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
    concession.full_clean()
    concession.save()
    _event(access, deal, "concession.added", client_msg_id, concession_id=concession.pk)
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
    deal = _require(access, "concessions")
    concession = _other_side_object(
        Concession, deal, concession_id, access.party, own=True
    )
    check_version(concession, version)
    concession.value_to_us = value_to_us
    concession.value_to_them = value_to_them
    concession.values_shared = values_shared
    save_versioned(concession, fields=["value_to_us", "value_to_them", "values_shared"])
    _event(
        access, deal, "concession.valued", client_msg_id, concession_id=concession.pk
    )
    return concession


# --- Close: term sheet, commitments, agreement --------------------------------


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
    deal = _require(access, "terms")
    issue = _issue(deal, issue_id)
    if not value.strip():
        raise ValidationError({"value": "Enter the agreed value."})
    entry = TermSheetEntry.objects.select_for_update().filter(issue=issue).first()
    if entry is not None:
        check_version(entry, version)
    elif version is not None:
        raise ValidationError("That term was removed meanwhile.")
    entry = _set_term(deal, issue, value.strip(), access)
    _event(
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
    deal = _require(access, "commitments")
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
    commitment.full_clean()
    commitment.save()
    _event(access, deal, "commitment.added", client_msg_id, commitment_id=commitment.pk)
    return commitment


@applied_once
def commitment_update(
    *, access: DealAccess, commitment_id: int, version: int, client_msg_id=None,
    **changes,
) -> Commitment:  # fmt: skip
    """Edit a commitment. Both confirmations are withdrawn: a changed promise
    binds nobody until each side confirms the new wording explicitly."""
    deal = _require(access, "commitments")
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
    _event(
        access, deal, "commitment.updated", client_msg_id, commitment_id=commitment.pk
    )
    return commitment


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
    deal = _require(access, "commitments")
    commitment = _commitment(deal, commitment_id)
    check_version(commitment, version)
    field = _confirmation_field(access.party)
    if getattr(commitment, field) is None:
        setattr(commitment, field, timezone.now())
        commitment.save(update_fields=[field])
    _event(
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
    blob = json.dumps([terms, commitments], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@applied_once
def agreement_confirm(
    *, access: DealAccess, digest: str, client_msg_id=None
) -> AgreementConfirmation:
    """Binding: this side confirms the agreement it was shown (``digest``).

    When both sides have confirmed the same digest the deal is agreed.
    """
    deal = _require(access, "agreement")
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
        deal.version += 1
        deal.save(update_fields=["status", "closed_at", "version", "updated_at"])
    _event(access, deal, "agreement.confirmed", client_msg_id, party=access.side)
    return confirmation


# --- Implementation: check-ins ---------------------------------------------------


@applied_once
def check_in_add(
    *,
    access: DealAccess,
    held_on: datetime.date,
    notes: str,
    statuses: dict[int, str],
    client_msg_id=None,
) -> CheckIn:
    """Record a check-in and the status of each commitment at that point."""
    deal = _require(access, "check_ins")
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
    _event(access, deal, "checkin.added", client_msg_id, check_in_id=check_in.pk)
    return check_in


# --- Discussion ------------------------------------------------------------------


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
    deal = _require(access, "discussion")
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
    # The deal, author and trade were just read under lock: no need to ask the
    # database again whether they exist.
    message.full_clean(exclude=["deal", "author", "trade"])
    message.save()
    _event(access, deal, "message.posted", client_msg_id, message_id=message.pk)
    return message

"""The room's actions: one registry for the websocket and for plain HTTP.

Each action names the form that checks the shape of its input and the service
that enforces the rules and writes. ``perform`` is the only entry point: the
consumer calls it for a frame, the HTTP view for a POST, with the same data.
Binding actions (they commit a side) require an explicit ``confirm`` field,
so neither a stray click nor a forged frame can commit anyone by accident.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import QueryDict

from common.phrases import nothing_in_return, unmeasurable
from negotiation.access import DealAccess
from negotiation.models import DealEvent, Issue, PriorityEntry
from negotiation.selectors import walk_away_of
from negotiation.services import deals as deal_services
from negotiation.services import preparation as prep_services
from negotiation.services.base import (
    AlreadyApplied,
    EditConflict,
    broadcast,
    lock_deal,
)
from room import coaching, forms
from room.coaching.limits import breaches, side_limits
from room.models import Commitment, Nudge, SharedPosition, TermSheetEntry
from room.services import (
    cadence,
    closing,
    concessions,
    discussion,
    jointcheck,
    packages,
    pauses,
    positions,
    stages,
    trades,
)
from room.services.coaching import nudge_dismiss, nudge_raise

CLIENT_MSG_ID_MAX = 64
# Printable ASCII without spaces: what room.js and the forms send (hex ids).
CLIENT_MSG_ID = re.compile(rf"[!-~]{{1,{CLIENT_MSG_ID_MAX}}}")


@dataclass(frozen=True)
class Action:
    """A room action: the form that checks its input and the service that
    applies it; the form's fields are the service's keyword arguments."""

    form: type[forms.RoomForm]
    service: Callable[..., Any]
    # The kinds of event the service logs under the action's client_msg_id:
    # a reused id whose event is of another kind was another action.
    kinds: tuple[str, ...]
    # What the confirmation commits the side to, shown next to the checkbox.
    binding: str = ""
    # A room action both sides see: guarded against over-sharing. Private
    # actions (dismissing a nudge) are not.
    shares_text: bool = True


ACTIONS: dict[str, Action] = {
    "nudge.dismiss": Action(forms.NudgeForm, nudge_dismiss, (), shares_text=False),
    "setup.update": Action(forms.SetupForm, stages.setup_update, ("setup.updated",)),
    "issue.add": Action(
        forms.AgendaIssueForm, deal_services.issue_add, ("issue.added",)
    ),
    "stage.propose": Action(
        forms.StageProposeForm, stages.stage_change_propose, ("stage.proposed",)
    ),
    "stage.respond": Action(
        forms.StageRespondForm,
        stages.stage_change_respond,
        ("stage.accepted", "stage.declined"),
        binding="Accepting moves the deal to the proposed stage for both sides.",
    ),
    "stage.withdraw": Action(
        forms.StageWithdrawForm, stages.stage_change_withdraw, ("stage.withdrawn",)
    ),
    "deal.no_deal": Action(
        forms.NoDealForm,
        stages.deal_end_no_deal,
        ("deal.no_deal",),
        binding="This ends the negotiation for both sides without agreement.",
    ),
    "position.update": Action(
        forms.PositionForm, positions.position_update, ("position.updated",)
    ),
    "trade.propose": Action(forms.TradeForm, trades.trade_propose, ("trade.proposed",)),
    "trade.accept": Action(
        forms.TradeAcceptForm,
        trades.trade_accept,
        ("trade.accepted",),
        binding="Accepting commits your side to this exchange; both values go "
        "on the draft term sheet.",
    ),
    "trade.decline": Action(
        forms.TradeDeclineForm, trades.trade_decline, ("trade.declined",)
    ),
    "trade.withdraw": Action(
        forms.TradeRefForm, trades.trade_withdraw, ("trade.withdrawn",)
    ),
    "trade.counter": Action(
        forms.TradeCounterForm, trades.trade_counter, ("trade.countered",)
    ),
    "message.post": Action(
        forms.CommentForm, discussion.message_post, ("message.posted",)
    ),
    "meso.present": Action(forms.MesoForm, packages.meso_present, ("meso.presented",)),
    "meso.respond": Action(
        forms.MesoRespondForm, packages.meso_respond, ("meso.answered",)
    ),
    "concession.add": Action(
        forms.ConcessionForm, concessions.concession_add, ("concession.added",)
    ),
    "concession.value": Action(
        forms.ConcessionValueForm,
        concessions.concession_value,
        ("concession.valued",),
    ),
    "concession.withdraw": Action(
        forms.ConcessionRefForm,
        concessions.concession_withdraw,
        ("concession.withdrawn",),
        shares_text=False,
    ),
    "term.set": Action(forms.TermForm, closing.term_set, ("term.updated",)),
    "commitment.add": Action(
        forms.CommitmentForm, closing.commitment_add, ("commitment.added",)
    ),
    "commitment.update": Action(
        forms.CommitmentUpdateForm, closing.commitment_update, ("commitment.updated",)
    ),
    "commitment.remove": Action(
        forms.CommitmentRefForm,
        closing.commitment_remove,
        ("commitment.removed",),
        shares_text=False,
    ),
    "commitment.confirm": Action(
        forms.CommitmentConfirmForm,
        closing.commitment_confirm,
        ("commitment.confirmed",),
        binding="Confirming commits your side to this commitment as written.",
    ),
    "agreement.confirm": Action(
        forms.AgreementForm,
        closing.agreement_confirm,
        ("agreement.confirmed",),
        binding="Confirming signs off the term sheet and commitments exactly as "
        "shown. When both sides confirm, the deal is agreed.",
    ),
    "checkin.add": Action(forms.CheckInForm, closing.check_in_add, ("checkin.added",)),
    "cadence.propose": Action(
        forms.CadenceProposeForm, cadence.cadence_propose, ("cadence.proposed",)
    ),
    "cadence.respond": Action(
        forms.CadenceRespondForm,
        cadence.cadence_respond,
        ("cadence.accepted", "cadence.declined"),
        binding="Accepting makes this review cadence and first check-in part of "
        "the agreement for both sides.",
    ),
    "cadence.withdraw": Action(
        forms.CadenceWithdrawForm, cadence.cadence_withdraw, ("cadence.withdrawn",)
    ),
    "pause.propose": Action(
        forms.PauseProposeForm, pauses.pause_propose, ("pause.proposed",)
    ),
    "pause.accept": Action(
        forms.PauseAcceptForm, pauses.pause_accept, ("pause.accepted",)
    ),
    "pause.counter": Action(
        forms.PauseCounterForm, pauses.pause_counter, ("pause.countered",)
    ),
    # Private: the side's own reading of the other side, kept in its
    # preparation (its counterparty map page saves it too). Never shared, so
    # not read by the over-sharing guard.
    "culture.set": Action(
        forms.CultureForm, prep_services.culture_set, (), shares_text=False
    ),
    "jointcheck.allow": Action(
        forms.JointCheckForm,
        jointcheck.joint_check_allow,
        ("jointcheck.allowed",),
        shares_text=False,
    ),
    "jointcheck.withdraw": Action(
        forms.JointCheckForm,
        jointcheck.joint_check_withdraw,
        ("jointcheck.withdrawn",),
        shares_text=False,
    ),
    "jointcheck.run": Action(
        forms.JointCheckForm,
        jointcheck.joint_check_run,
        ("jointcheck.ran",),
        shares_text=False,
    ),
    "jointcheck.accept": Action(
        forms.JointCheckAcceptForm,
        jointcheck.joint_check_accept,
        ("jointcheck.accepted",),
        binding="Accepting commits your side to this package; once both sides "
        "accept it, its values become the draft term sheet.",
        shares_text=False,
    ),
}


class ActionRefused(Exception):
    """The action was not applied. ``code`` and ``message`` go to the sender only.

    ``resend`` is set when the sender may confirm and send the same input again
    (the over-sharing guard): the action's name and its data.
    """

    def __init__(
        self,
        code: str,
        message: str,
        errors: dict | None = None,
        resend: tuple[str, QueryDict] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or {}
        self.resend = resend


# Fields whose text is never shared prose (hashes, ids, versions).
NOT_SHARED_TEXT = {"digest", "version", "client_msg_id", "confirm_share"}


def _both(
    first: Callable[[], None] | None, second: Callable[[], None]
) -> Callable[[], None]:
    def run() -> None:
        if first is not None:
            first()
        second()

    return run


def _shared_matrix_texts(
    access: DealAccess, matrix: dict[str, list[str]] | None
) -> list[str]:
    """What ticking these matrix cells newly shows the other side: the side's
    own cells of its priority matrix, for the columns it was not sharing yet
    (a cell shared before was checked, or confirmed, when it was ticked)."""
    if not matrix:
        return []
    before = (
        SharedPosition.objects.filter(party=access.party)
        .values_list("shared_matrix", flat=True)
        .first()
    ) or {}
    ticked = {
        key: set(columns) - set(before.get(key, ()))
        for key, columns in matrix.items()
        if key.isdigit()
    }
    entries = PriorityEntry.objects.filter(
        party=access.party,
        issue_id__in=[int(key) for key, new in ticked.items() if new],
    )
    return [
        getattr(entry, column)
        for entry in entries
        for column in sorted(ticked[str(entry.issue_id)])
        if column in SharedPosition.SHAREABLE_MATRIX_FIELDS
    ]


def _guard_oversharing(
    access: DealAccess, name: str, form: forms.RoomForm, data: QueryDict
) -> Callable[[], None] | None:
    """Refuse a shared text that gives away this side's walk-away point,
    unless the sender confirmed (``confirm_share``). Returns what records the
    confirmed warning, for the action's transaction, or None: a refused
    action leaves nothing behind, the warning included."""
    if access.party is None:
        return None
    texts = [
        value
        for key, value in form.cleaned_data.items()
        if isinstance(value, str) and key not in NOT_SHARED_TEXT and value.strip()
    ]
    texts += _shared_matrix_texts(access, form.cleaned_data.get("shared_matrix"))
    if not texts:  # an answer, a confirmation: no text, nothing to read
        return None
    found = coaching.oversharing_in(texts, walk_away_of(access.party))
    if found is None:
        return None
    if data.get("confirm_share") not in CONFIRMED:
        raise ActionRefused(
            "over_sharing",
            f"Not sent yet. {found.reason}",
            resend=(name, data),
        )
    party = access.party
    return lambda: coaching.record_oversharing(
        party=party, reason=found.reason, confirmed=True
    )


# Binding steps checked against the sender's own limits (its walk-away figure
# or reservation score, and the limits it wrote in its preparation).
LIMIT_CHECKED = frozenset(
    {
        "trade.accept",
        "meso.respond",
        "term.set",
        "agreement.confirm",
        "jointcheck.accept",
    }
)
# Confirming the agreement signs off the whole sheet: every breach counts,
# not only the ones the step itself brings.
WHOLE_SHEET = frozenset({"agreement.confirm"})
CONFIRMED = ("on", "true", "1")


def _terms(deal_id: int) -> dict[int, str]:
    return dict(
        TermSheetEntry.objects.filter(deal_id=deal_id).values_list("issue_id", "value")
    )


def _guard_limits(
    access: DealAccess, name: str, data: QueryDict, before: dict[int, str]
) -> None:
    """Called inside the action's transaction, once the step is applied:
    refuse it (rolling it back) when the term sheet it leaves breaks one of
    the sender's own limits, unless the sender confirmed (``confirm_limit``);
    a confirmed breach is kept for the side's review. The warning names the
    sender's own figure and goes to the sender only."""
    party = access.party
    after = _terms(party.deal_id)
    if after == before and name not in WHOLE_SHEET:
        return
    limits = side_limits(party, list(Issue.objects.filter(deal_id=party.deal_id)))
    if not limits:
        return
    found = breaches(limits, after)
    if found and name not in WHOLE_SHEET:
        already = set(breaches(limits, before))
        found = [line for line in found if line not in already]
    if not found:
        return
    if data.get("confirm_limit") not in CONFIRMED:
        raise ActionRefused(
            "below_limit",
            "Not done yet. " + " ".join(found) + " Only you see this.",
            resend=(name, data),
        )
    event = DealEvent.objects.filter(deal_id=party.deal_id).order_by("-seq").first()
    created = nudge_raise(
        party,
        Nudge.Kind.BELOW_LIMIT,
        f"limit:{event.seq if event else 0}",
        message=" ".join(found) + " You confirmed and went ahead.",
        action="Before going past your own limit, compare the deal with your "
        "best alternative: past the walk-away, no deal is the better deal.",
        event=event,
    )
    if created:
        side = party.side
        transaction.on_commit(
            lambda: broadcast(party.deal_id, {"type": "coach.changed", "side": side})
        )


# A package pick writes every value of the package: asked first when it would
# change a term the sheet already holds.
OVERWRITE_CHECKED = frozenset({"meso.respond"})


def _guard_overwrite(
    access: DealAccess, data: QueryDict, before: dict[int, str]
) -> None:
    """Called inside the action's transaction, once the step is applied:
    refuse it (rolling it back) when it changed a term already on the sheet,
    unless the sender confirmed (``confirm_overwrite``). Both sides see the
    sheet: the warning tells nothing private."""
    if not before or data.get("confirm_overwrite") in CONFIRMED:
        return
    after = _terms(access.deal.pk)
    changed = [pk for pk, value in before.items() if after.get(pk) != value]
    if not changed:
        return
    names = dict(Issue.objects.filter(pk__in=changed).values_list("pk", "name"))
    changes = "; ".join(
        f"{names[pk]} from “{before[pk]}” to “{after.get(pk, '')}”" for pk in changed
    )
    raise ActionRefused(
        "changes_agreed",
        f"Not picked yet. This package changes terms already on the sheet: "
        f"{changes}. Pick it anyway, or keep the terms as they are.",
        resend=("meso.respond", data),
    )


def _guard_pitfalls(
    access: DealAccess, name: str, form: forms.RoomForm, data: QueryDict
) -> Callable[[], None] | None:
    """Warn before a shared step the coach can already see is a pitfall: a
    concession with nothing in return, a commitment that cannot be measured,
    or confirming one. The side may go ahead (``confirm_pitfall``); confirming
    an unmeasurable commitment anyway is kept for its review. Returns what
    records it, for the action's transaction, or None."""
    cleaned = form.cleaned_data
    if name == "concession.add":
        if not nothing_in_return(cleaned.get("we_get")):
            return None
        warning = (
            "Nothing comes back for this concession. Attach a condition "
            "(“if we give this, could you …?”) before you give it away."
        )
    elif name in ("commitment.add", "commitment.update"):
        missing = unmeasurable(
            cleaned.get("metric", ""),
            cleaned.get("target", ""),
            cleaned.get("due_date"),
        )
        if not missing:
            return None
        warning = (
            f"This commitment has no real {_listed(missing)}: nobody will be "
            "able to tell whether it was kept."
        )
    elif name == "commitment.confirm":
        commitment = Commitment.objects.filter(
            pk=cleaned["commitment_id"], deal_id=access.deal.pk
        ).first()
        if commitment is None or commitment.is_measurable:
            return None
        warning = (
            f"“{commitment.description}” has no real "
            f"{_listed(commitment.missing)}. Confirming binds your side to a "
            "promise nobody can check."
        )
    else:
        return None
    if data.get("confirm_pitfall") not in CONFIRMED:
        raise ActionRefused("pitfall", f"Not sent yet. {warning}", resend=(name, data))
    if name != "commitment.confirm":
        return None  # the coach's detectors keep it once it is sent
    party, pk = access.party, cleaned["commitment_id"]
    return lambda: nudge_raise(
        party,
        Nudge.Kind.VAGUE_COMMITMENT,
        f"confirmed:{pk}",
        message=f"You confirmed it anyway. {warning}",
        action="Define measurable mutual success: who does what, measured how, "
        "by when.",
    )


def _listed(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _codes(error: ValidationError) -> set[str]:
    if hasattr(error, "error_dict"):
        return {e.code for errs in error.error_dict.values() for e in errs if e.code}
    return {e.code for e in error.error_list if e.code}


def _json_form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    raise ActionRefused("bad_frame", "Malformed message.")


def storable_text(text: str) -> str:
    """The text, if a database can store it: no NUL character (PostgreSQL
    refuses it) and no lone UTF-16 surrogate, which a JSON frame can carry
    (``"\\ud800"``) but UTF-8 cannot encode."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ActionRefused(
            "bad_text", "The message holds a broken character; type it again."
        ) from None
    if "\x00" in text:
        raise ActionRefused(
            "bad_text", "The message holds a NUL character, which no field accepts."
        )
    return text


def form_data(data: dict[str, Any]) -> QueryDict:
    """A frame's JSON ``data`` in the shape a browser posts a form: text values,
    repeated fields as lists, nothing for ``null``. The forms then see the same
    input over the socket as over HTTP (a number or a list where a form expects
    text would otherwise crash some fields' cleaning)."""
    query = QueryDict(mutable=True)
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        texts = [_json_form_value(v) for v in values if v is not None]
        if texts:
            query.setlist(storable_text(str(key)), texts)
    return query


def perform(
    access: DealAccess,
    name: str,
    data: dict[str, Any],
    client_msg_id: str | None = None,
) -> Any:
    """Check and apply one room action; raise ``ActionRefused`` if it is not.

    Returns whatever the service returned. A replayed ``client_msg_id``
    raises ``services.AlreadyApplied`` (the caller acknowledges it again),
    unless the id was used for another action: that is refused. The log
    answers for an id it holds whatever the checks now say: a retry sent
    because the first answer was lost may find the room changed by its own
    first try (a new version, a stage moved on, a guard that now objects),
    and is still acknowledged, never refused and never applied twice.
    """
    action = ACTIONS.get(name)
    if action is None:
        shown = name if len(name) <= 40 else f"{name[:40]}…"
        raise ActionRefused("unknown_action", f"Unknown action “{shown}”.")
    if client_msg_id == "":
        client_msg_id = None  # a form without one
    if client_msg_id is not None and (
        not isinstance(client_msg_id, str) or not CLIENT_MSG_ID.fullmatch(client_msg_id)
    ):
        raise ActionRefused(
            "bad_frame",
            f"A message id is 1 to {CLIENT_MSG_ID_MAX} letters, digits or "
            "punctuation marks, without spaces.",
        )
    try:
        return _checked_and_applied(access, name, action, data, client_msg_id)
    except ActionRefused:
        previous = _logged_under(access, client_msg_id)
        if previous is None:
            raise
        applied = AlreadyApplied(previous)
    except AlreadyApplied as error:
        applied = error
    if applied.event.kind not in action.kinds:
        raise ActionRefused(
            "id_reused",
            "This message id was already used for another action; nothing "
            "was changed. Send it again with a new id.",
        ) from None
    raise applied


def _logged_under(access: DealAccess, client_msg_id: str | None) -> DealEvent | None:
    """The event a refused action's id was applied as before, if any: asked
    only after a refusal, so a first attempt pays no lookup."""
    if not client_msg_id:
        return None
    return DealEvent.objects.filter(
        deal_id=access.deal.pk, client_msg_id=client_msg_id
    ).first()


def _checked_and_applied(
    access: DealAccess,
    name: str,
    action: Action,
    data: dict[str, Any],
    client_msg_id: str | None,
) -> Any:
    """``perform``'s checks and service, as for an id the log does not hold."""
    if not isinstance(data, QueryDict):
        data = form_data(data)
    form = action.form(data, access=access)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        first = next(iter(errors.values()))[0]
        raise ActionRefused("invalid", first, errors)
    # The guard refuses before anything is written; a confirmed warning is
    # recorded in the action's transaction, so they commit together or not.
    record = (
        _guard_oversharing(access, name, form, data) if action.shares_text else None
    )
    if access.party is not None:
        remember = _guard_pitfalls(access, name, form, data)
        if remember is not None:
            record = _both(record, remember)
    checks_limits = name in LIMIT_CHECKED and access.party is not None
    checks_overwrite = name in OVERWRITE_CHECKED
    try:
        if record is None and not checks_limits and not checks_overwrite:
            result = action.service(
                access=access,
                client_msg_id=client_msg_id or None,
                **form.service_kwargs(),
            )
        else:
            with transaction.atomic():
                before = {}
                if checks_limits or checks_overwrite:
                    lock_deal(access)  # the sheet as the step finds it, held still
                    before = _terms(access.deal.pk)
                result = action.service(
                    access=access,
                    client_msg_id=client_msg_id or None,
                    **form.service_kwargs(),
                )
                if record is not None:
                    record()
                if checks_overwrite:
                    _guard_overwrite(access, data, before)
                if checks_limits:
                    _guard_limits(access, name, data, before)
    except EditConflict as error:
        raise ActionRefused("stale_version", error.messages[0]) from error
    except PermissionDenied as error:
        message = str(error) or "You are not allowed to do that."
        raise ActionRefused("forbidden", message) from error
    except ValidationError as error:
        codes = _codes(error)
        code = next((c for c in ("wrong_stage", "stale_version") if c in codes), None)
        errors = getattr(error, "message_dict", {})
        raise ActionRefused(
            code or "invalid", " ".join(error.messages), errors
        ) from error
    except Issue.DoesNotExist as error:
        raise ActionRefused("not_found", "That item does not exist.") from error
    return result

"""The room's actions: one registry for the websocket and for plain HTTP.

Each action names the form that checks the shape of its input and the service
that enforces the rules and writes. ``perform`` is the only entry point: the
consumer calls it for a frame, the HTTP view for a POST, with the same data.
Binding actions (they commit a side) require an explicit ``confirm`` field,
so neither a stray click nor a forged frame can commit anyone by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import QueryDict

from negotiation.access import DealAccess
from negotiation.forms.deals import IssueForm
from negotiation.models import Deal, Issue, Party
from negotiation.selectors import walk_away_of
from negotiation.services import deals as deal_services
from negotiation.services.base import EditConflict
from room import coaching, services
from room.models import Commitment, Message, SharedPosition
from room.services.coaching import nudge_dismiss

CLIENT_MSG_ID_MAX = 64


class VersionField(forms.IntegerField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=0, **kwargs)


class BindingForm(forms.Form):
    """A form whose action commits the side: it must be confirmed explicitly."""

    confirm = forms.BooleanField(
        required=True,
        error_messages={"required": "This commits your side: tick the box to confirm."},
    )


class SetupForm(forms.Form):
    version = VersionField()
    shared_purpose = forms.CharField(required=False, max_length=2000)
    ground_rules = forms.CharField(required=False, max_length=4000)


class StageProposeForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Deal.Stage.choices)
    note = forms.CharField(required=False, max_length=240)


class StageRespondForm(BindingForm):
    change_id = forms.IntegerField()
    accept = forms.TypedChoiceField(
        choices=[("yes", "Accept"), ("no", "Decline")],
        coerce=lambda value: value == "yes",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Declining binds nobody; only accepting needs the confirmation.
        if self.data.get("accept") == "no":
            self.fields["confirm"].required = False


class ChangeIdForm(forms.Form):
    change_id = forms.IntegerField()


class NoDealForm(BindingForm):
    reason = forms.CharField(max_length=2000)


class IdListField(forms.Field):
    """Ids given as a list (websocket JSON) or comma-separated / repeated (HTTP)."""

    def to_python(self, value) -> list[int]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = value.split(",")
        try:
            return [int(str(item).strip()) for item in value if str(item).strip()]
        except (TypeError, ValueError):
            raise ValidationError("Give a list of ids.") from None


class IdListWidget(forms.MultipleHiddenInput):
    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            values = data.getlist(name)
            return values[0] if len(values) == 1 else values
        return data.get(name)


class PositionForm(forms.Form):
    version = VersionField(required=False)
    interests = forms.CharField(required=False, max_length=4000)
    ranking = IdListField(required=False, widget=IdListWidget)
    # "<issue id>:<column>" for each matrix cell the side chooses to share.
    share = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, issue_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["share"].choices = [
            (f"{pk}:{column}", f"{pk}:{column}")
            for pk in issue_ids
            for column in SharedPosition.SHAREABLE_MATRIX_FIELDS
        ]

    def shared_matrix(self) -> dict[str, list[str]]:
        matrix: dict[str, list[str]] = {}
        for cell in self.cleaned_data["share"]:
            pk, column = cell.split(":")
            matrix.setdefault(pk, []).append(column)
        return matrix


class TradeForm(forms.Form):
    give_issue = forms.IntegerField()
    give_value = forms.CharField(max_length=160)
    ask_issue = forms.IntegerField()
    ask_value = forms.CharField(max_length=160)
    rationale = forms.CharField(required=False, max_length=2000)

    def terms(self) -> dict[str, Any]:
        """The trade's terms, named as the trade services take them."""
        data = self.cleaned_data
        return {
            "give_issue_id": data["give_issue"],
            "give_value": data["give_value"],
            "ask_issue_id": data["ask_issue"],
            "ask_value": data["ask_value"],
            "rationale": data["rationale"],
        }


class TradeRefForm(forms.Form):
    trade_id = forms.IntegerField()
    version = VersionField()


class TradeAcceptForm(BindingForm, TradeRefForm):
    pass


class TradeDeclineForm(TradeRefForm):
    reason = forms.CharField(max_length=2000)


class TradeCounterForm(TradeForm, TradeRefForm):
    pass


class CommentForm(forms.Form):
    body = forms.CharField(max_length=services.MESSAGE_MAX_LENGTH)
    kind = forms.ChoiceField(choices=Message.Kind.choices, required=False)
    trade_id = forms.IntegerField(required=False)


class MesoForm(forms.Form):
    """Up to three packages: ``p<n>_name`` and ``p<n>_<issue id>`` values."""

    PACKAGES = 3
    note = forms.CharField(required=False, max_length=240)
    counter_of = forms.IntegerField(required=False)

    def __init__(self, *args, issue_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.issue_ids = issue_ids
        for n in range(1, self.PACKAGES + 1):
            self.fields[f"p{n}_name"] = forms.CharField(required=False, max_length=80)
            for pk in issue_ids:
                self.fields[f"p{n}_{pk}"] = forms.CharField(
                    required=False, max_length=160
                )

    def packages(self) -> list[dict[str, Any]]:
        packages = []
        for n in range(1, self.PACKAGES + 1):
            name = self.cleaned_data.get(f"p{n}_name", "").strip()
            values = {
                str(pk): self.cleaned_data.get(f"p{n}_{pk}", "")
                for pk in self.issue_ids
            }
            if name or any(v.strip() for v in values.values()):
                packages.append({"name": name or f"Package {n}", "values": values})
        return packages


class MesoRespondForm(forms.Form):
    meso_id = forms.IntegerField()
    version = VersionField()
    preference = IdListField(required=False, widget=IdListWidget)
    picked = forms.IntegerField(required=False)
    confirm = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("picked") and not cleaned.get("confirm"):
            self.add_error(
                "confirm", "Picking a package commits your side: tick to confirm."
            )
        return cleaned


class ConcessionForm(forms.Form):
    item = forms.CharField(max_length=160)
    we_give = forms.CharField(max_length=240)
    we_get = forms.CharField(required=False, max_length=240)
    value_to_us = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    value_to_them = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    values_shared = forms.BooleanField(required=False)
    trigger = forms.CharField(required=False, max_length=240)


class ConcessionValueForm(forms.Form):
    concession_id = forms.IntegerField()
    version = VersionField()
    value_to_us = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    value_to_them = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    values_shared = forms.BooleanField(required=False)


class TermForm(forms.Form):
    issue_id = forms.IntegerField()
    version = VersionField(required=False)
    value = forms.CharField(max_length=240)


class CommitmentForm(forms.Form):
    owner_side = forms.ChoiceField(choices=Party.Side.choices)
    owner_name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=240)
    metric = forms.CharField(required=False, max_length=160)
    target = forms.CharField(required=False, max_length=160)
    due_date = forms.DateField(required=False)
    contingency = forms.CharField(required=False, max_length=2000)


class CommitmentConfirmForm(BindingForm):
    commitment_id = forms.IntegerField()
    version = VersionField()


class AgreementForm(BindingForm):
    digest = forms.CharField(max_length=64)


class CheckInForm(forms.Form):
    """``status_<commitment id>`` for each commitment, plus date and notes."""

    held_on = forms.DateField()
    notes = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args, commitment_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.commitment_ids = commitment_ids
        for pk in commitment_ids:
            self.fields[f"status_{pk}"] = forms.ChoiceField(
                choices=Commitment.Status.choices, required=False
            )

    def statuses(self) -> dict[int, str]:
        return {
            pk: self.cleaned_data[f"status_{pk}"]
            for pk in self.commitment_ids
            if self.cleaned_data.get(f"status_{pk}")
        }


class NudgeForm(forms.Form):
    nudge_id = forms.IntegerField()


def _dismiss(access: DealAccess, form: NudgeForm, client_msg_id):
    if access.party is None or access.participant is None:
        raise PermissionDenied("Only the deal's participants have a coach.")
    return nudge_dismiss(
        party=access.party,
        participant=access.participant,
        nudge_id=form.cleaned_data["nudge_id"],
    )


# --- the registry ----------------------------------------------------------


@dataclass(frozen=True)
class Action:
    form: Callable[..., forms.Form]
    run: Callable[[DealAccess, forms.Form, str | None], Any]
    # What the confirmation commits the side to, shown next to the checkbox.
    binding: str = ""
    # A room action both sides see: guarded against over-sharing, followed by
    # the pitfall detectors. Private actions (dismissing a nudge) are not.
    shares_text: bool = True


def _issue_ids(access: DealAccess) -> list[int]:
    return list(access.deal.issues.values_list("pk", flat=True))


def _commitment_ids(access: DealAccess) -> list[int]:
    return list(access.deal.commitments.values_list("pk", flat=True))


def _plain(form_class):
    return lambda data, access: form_class(data)


ACTIONS: dict[str, Action] = {
    "nudge.dismiss": Action(_plain(NudgeForm), _dismiss, shares_text=False),
    "setup.update": Action(
        _plain(SetupForm),
        lambda a, f, cid: services.setup_update(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "issue.add": Action(
        _plain(IssueForm),
        lambda a, f, cid: deal_services.issue_add(
            access=a, client_msg_id=cid, **f.service_kwargs()
        ),
    ),
    "stage.propose": Action(
        _plain(StageProposeForm),
        lambda a, f, cid: services.stage_change_propose(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "stage.respond": Action(
        _plain(StageRespondForm),
        lambda a, f, cid: services.stage_change_respond(
            access=a,
            client_msg_id=cid,
            change_id=f.cleaned_data["change_id"],
            accept=f.cleaned_data["accept"],
        ),
        binding="Accepting moves the deal to the proposed stage for both sides.",
    ),
    "stage.withdraw": Action(
        _plain(ChangeIdForm),
        lambda a, f, cid: services.stage_change_withdraw(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "deal.no_deal": Action(
        _plain(NoDealForm),
        lambda a, f, cid: services.deal_end_no_deal(
            access=a, client_msg_id=cid, reason=f.cleaned_data["reason"]
        ),
        binding="This ends the negotiation for both sides without agreement.",
    ),
    "position.update": Action(
        lambda data, access: PositionForm(data, issue_ids=_issue_ids(access)),
        lambda a, f, cid: services.position_update(
            access=a,
            client_msg_id=cid,
            version=f.cleaned_data["version"],
            interests=f.cleaned_data["interests"],
            ranking=f.cleaned_data["ranking"],
            shared_matrix=f.shared_matrix(),
        ),
    ),
    "trade.propose": Action(
        _plain(TradeForm),
        lambda a, f, cid: services.trade_propose(
            access=a, client_msg_id=cid, **f.terms()
        ),
    ),
    "trade.accept": Action(
        _plain(TradeAcceptForm),
        lambda a, f, cid: services.trade_accept(
            access=a,
            client_msg_id=cid,
            trade_id=f.cleaned_data["trade_id"],
            version=f.cleaned_data["version"],
        ),
        binding="Accepting commits your side to this exchange; both values go "
        "on the draft term sheet.",
    ),
    "trade.decline": Action(
        _plain(TradeDeclineForm),
        lambda a, f, cid: services.trade_decline(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "trade.withdraw": Action(
        _plain(TradeRefForm),
        lambda a, f, cid: services.trade_withdraw(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "trade.counter": Action(
        _plain(TradeCounterForm),
        lambda a, f, cid: services.trade_counter(
            access=a,
            client_msg_id=cid,
            trade_id=f.cleaned_data["trade_id"],
            version=f.cleaned_data["version"],
            **f.terms(),
        ),
    ),
    "message.post": Action(
        _plain(CommentForm),
        lambda a, f, cid: services.message_post(
            access=a,
            client_msg_id=cid,
            body=f.cleaned_data["body"],
            kind=f.cleaned_data["kind"] or Message.Kind.NOTE,
            trade_id=f.cleaned_data["trade_id"],
        ),
    ),
    "meso.present": Action(
        lambda data, access: MesoForm(data, issue_ids=_issue_ids(access)),
        lambda a, f, cid: services.meso_present(
            access=a,
            client_msg_id=cid,
            packages=f.packages(),
            note=f.cleaned_data["note"],
            counter_of_id=f.cleaned_data["counter_of"],
        ),
    ),
    "meso.respond": Action(
        _plain(MesoRespondForm),
        lambda a, f, cid: services.meso_respond(
            access=a,
            client_msg_id=cid,
            meso_id=f.cleaned_data["meso_id"],
            version=f.cleaned_data["version"],
            preference=f.cleaned_data["preference"],
            picked_id=f.cleaned_data["picked"],
        ),
    ),
    "concession.add": Action(
        _plain(ConcessionForm),
        lambda a, f, cid: services.concession_add(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "concession.value": Action(
        _plain(ConcessionValueForm),
        lambda a, f, cid: services.concession_value(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "term.set": Action(
        _plain(TermForm),
        lambda a, f, cid: services.term_set(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "commitment.add": Action(
        _plain(CommitmentForm),
        lambda a, f, cid: services.commitment_add(
            access=a, client_msg_id=cid, **f.cleaned_data
        ),
    ),
    "commitment.confirm": Action(
        _plain(CommitmentConfirmForm),
        lambda a, f, cid: services.commitment_confirm(
            access=a,
            client_msg_id=cid,
            commitment_id=f.cleaned_data["commitment_id"],
            version=f.cleaned_data["version"],
        ),
        binding="Confirming commits your side to this commitment as written.",
    ),
    "agreement.confirm": Action(
        _plain(AgreementForm),
        lambda a, f, cid: services.agreement_confirm(
            access=a, client_msg_id=cid, digest=f.cleaned_data["digest"]
        ),
        binding="Confirming signs off the term sheet and commitments exactly as "
        "shown. When both sides confirm, the deal is agreed.",
    ),
    "checkin.add": Action(
        lambda data, access: CheckInForm(data, commitment_ids=_commitment_ids(access)),
        lambda a, f, cid: services.check_in_add(
            access=a,
            client_msg_id=cid,
            held_on=f.cleaned_data["held_on"],
            notes=f.cleaned_data["notes"],
            statuses=f.statuses(),
        ),
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


def _guard_oversharing(
    access: DealAccess, name: str, form: forms.Form, data: QueryDict
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
        if isinstance(value, str) and key not in NOT_SHARED_TEXT
    ]
    found = coaching.oversharing_in(texts, walk_away_of(access.party))
    if found is None:
        return None
    if data.get("confirm_share") not in ("on", "true", "1"):
        raise ActionRefused(
            "over_sharing",
            f"Not sent yet. {found.reason}",
            resend=(name, data),
        )
    party = access.party
    return lambda: coaching.record_oversharing(
        party=party, reason=found.reason, confirmed=True
    )


def _codes(error: ValidationError) -> set[str]:
    if hasattr(error, "error_dict"):
        return {e.code for errs in error.error_dict.values() for e in errs if e.code}
    return {e.code for e in error.error_list if e.code}


def _json_form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ActionRefused("bad_frame", "Malformed message.")


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
            query.setlist(str(key), texts)
    return query


def perform(
    access: DealAccess,
    name: str,
    data: dict[str, Any],
    client_msg_id: str | None = None,
) -> Any:
    """Check and apply one room action; raise ``ActionRefused`` if it is not.

    Returns whatever the service returned. A replayed ``client_msg_id``
    raises ``services.AlreadyApplied`` (the caller acknowledges it again).
    """
    action = ACTIONS.get(name)
    if action is None:
        raise ActionRefused("unknown_action", f"Unknown action “{name}”.")
    if client_msg_id is not None and (
        not isinstance(client_msg_id, str) or len(client_msg_id) > CLIENT_MSG_ID_MAX
    ):
        raise ActionRefused("bad_frame", "Malformed message id.")
    if not isinstance(data, QueryDict):
        data = form_data(data)
    form = action.form(data, access)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        first = next(iter(errors.values()))[0]
        raise ActionRefused("invalid", first, errors)
    # The guard refuses before anything is written; a confirmed warning is
    # recorded in the action's transaction, so they commit together or not.
    record = (
        _guard_oversharing(access, name, form, data) if action.shares_text else None
    )
    try:
        if record is None:
            result = action.run(access, form, client_msg_id or None)
        else:
            with transaction.atomic():
                result = action.run(access, form, client_msg_id or None)
                record()
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

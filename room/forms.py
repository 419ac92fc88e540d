"""The room's forms: the share-link pages' and one per room action. They check
the shape of input only; the services in ``room.services`` enforce the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from negotiation.access import DealAccess
from negotiation.forms.deals import IssueForm
from negotiation.forms.preparation import DECISION_CHOICES, STYLE_CHOICES
from negotiation.models import Deal, Party
from playbooks.templating import blanks_in
from room.models import Commitment, Message, SharedPosition
from room.services.discussion import MESSAGE_MAX_LENGTH

INVITE_DAYS_MIN = 1
INVITE_DAYS_MAX = 90


class InviteForm(forms.Form):
    """A new share link for the counterpart side."""

    label = forms.CharField(
        max_length=120,
        required=False,
        label="Who is this link for?",
        help_text="Only your side sees this, e.g. “Dana (Head of Retail Ops)”.",
    )
    valid_days = forms.IntegerField(
        min_value=INVITE_DAYS_MIN,
        max_value=INVITE_DAYS_MAX,
        required=False,
        label="Days to join",
        help_text=f"Between {INVITE_DAYS_MIN} and {INVITE_DAYS_MAX} days to open "
        "the link and join. After that nobody can join with it; whoever "
        "already joined keeps access until you revoke the link.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read at request time, so a changed setting applies without a restart
        # of this module (and tests can override it).
        self.fields["valid_days"].initial = settings.PARLEY_INVITE_DAYS

    def clean_valid_days(self) -> int:
        return self.cleaned_data["valid_days"] or settings.PARLEY_INVITE_DAYS


class JoinLinkForm(forms.Form):
    """A share link, as the join page posts it from the URL fragment, or as a
    visitor without JavaScript pastes it (the whole link or just its token)."""

    link = forms.CharField(
        max_length=500,
        label="Your invitation link",
        help_text="Paste the whole link you were sent.",
        error_messages={"required": "Paste the link you were sent."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_link(self) -> str:
        """The token: what follows ``#`` (or ``/join/`` in an older link)."""
        link = self.cleaned_data["link"].strip()
        if "#" in link:
            link = link.rsplit("#", 1)[1]
        elif "/join/" in link:
            link = link.split("/join/", 1)[1].split("/", 1)[0].split("?", 1)[0]
        return link.strip()


class JoinForm(forms.Form):
    """The name a guest of the counterpart side is shown under in the room."""

    display_name = forms.CharField(
        max_length=80,
        label="Your name",
        help_text="Everyone in the room sees it, e.g. “Dana, Head of Retail Ops”.",
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )
    email = forms.EmailField(
        required=False,
        label="Your email (optional)",
        help_text="Only to tell you when the room waits for you and you are "
        "away. Your side's alone: the other side never sees it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


# --- the room's actions ----------------------------------------------------------
# One form per action. Each is built the same way, ``Form(data, access=...)``,
# and its fields are named as its service's keyword arguments:
# ``service_kwargs()`` hands them over as they are, less the fields that only
# the form needs (a binding action's ``confirm``).


class VersionField(forms.IntegerField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=0, **kwargs)


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


class RoomForm(forms.Form):
    """A room action's form: it checks the shape of the input for one viewer
    (``access``); the service enforces the rules."""

    # Fields the form needs and the service does not take.
    FORM_ONLY = frozenset({"confirm", "confirm_share"})

    def __init__(self, data=None, *, access: DealAccess, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.access = access

    def service_kwargs(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in self.FORM_ONLY
        }


class BindingForm(RoomForm):
    """A form whose action commits the side: it must be confirmed explicitly."""

    confirm = forms.BooleanField(
        required=True,
        error_messages={"required": "This commits your side: tick the box to confirm."},
    )


class SetupForm(RoomForm):
    version = VersionField()
    shared_purpose = forms.CharField(required=False, max_length=2000)
    ground_rules = forms.CharField(required=False, max_length=4000)


class AgendaIssueForm(RoomForm, IssueForm):
    """An issue added to the agenda from the room (in Setup)."""

    def service_kwargs(self) -> dict[str, Any]:
        # The service checks the shared text itself: it needs the sender's
        # confirmation too.
        return {
            **IssueForm.service_kwargs(self),
            "confirm_share": self.cleaned_data["confirm_share"],
        }


class StageProposeForm(RoomForm):
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


class StageWithdrawForm(RoomForm):
    change_id = forms.IntegerField()


class NoDealForm(BindingForm):
    reason = forms.CharField(max_length=2000)


class PositionForm(RoomForm):
    version = VersionField(required=False)
    interests = forms.CharField(required=False, max_length=4000)
    ranking = IdListField(required=False, widget=IdListWidget)
    # "<issue id>:<column>" for each matrix cell the side chooses to share.
    share = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["share"].choices = [
            (f"{pk}:{column}", f"{pk}:{column}")
            for pk in _issue_ids(self.access)
            for column in SharedPosition.SHAREABLE_MATRIX_FIELDS
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        matrix: dict[str, list[str]] = {}
        for cell in cleaned.pop("share", []):
            pk, column = cell.split(":")
            matrix.setdefault(pk, []).append(column)
        cleaned["shared_matrix"] = matrix
        return cleaned


class TradeForm(RoomForm):
    """ "If we give X on issue A, can you give Y on issue B?" """

    give_issue_id = forms.IntegerField()
    give_value = forms.CharField(max_length=160)
    ask_issue_id = forms.IntegerField()
    ask_value = forms.CharField(max_length=160)
    rationale = forms.CharField(required=False, max_length=2000)


class TradeRefForm(RoomForm):
    trade_id = forms.IntegerField()
    version = VersionField()


class TradeAcceptForm(BindingForm, TradeRefForm):
    pass


class TradeDeclineForm(TradeRefForm):
    reason = forms.CharField(max_length=2000)


class TradeCounterForm(TradeForm, TradeRefForm):
    pass


class CommentForm(RoomForm):
    FORM_ONLY = RoomForm.FORM_ONLY | {"from_template"}

    body = forms.CharField(max_length=MESSAGE_MAX_LENGTH)
    kind = forms.ChoiceField(choices=Message.Kind.choices, required=False)
    trade_id = forms.IntegerField(required=False)
    # Sent from one of the coach's templates: its blanks must be filled first.
    from_template = forms.BooleanField(required=False)

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or Message.Kind.NOTE

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        blanks = blanks_in(cleaned.get("body") or "")
        if cleaned.get("from_template") and blanks:
            listed = ", ".join(f"[{blank}]" for blank in blanks)
            self.add_error(
                "body", f"Fill in {listed} with your own words before you send it."
            )
        return cleaned


class MesoForm(RoomForm):
    """Up to three packages: ``p<n>_name`` and ``p<n>_<issue id>`` values,
    handed to the service as ``packages``."""

    PACKAGES = 3
    note = forms.CharField(required=False, max_length=240)
    counter_of_id = forms.IntegerField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.issue_ids = _issue_ids(self.access)
        for n in range(1, self.PACKAGES + 1):
            self.fields[f"p{n}_name"] = forms.CharField(required=False, max_length=80)
            for pk in self.issue_ids:
                self.fields[f"p{n}_{pk}"] = forms.CharField(
                    required=False, max_length=160
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        packages = []
        for n in range(1, self.PACKAGES + 1):
            name = cleaned.pop(f"p{n}_name", "").strip()
            values = {str(pk): cleaned.pop(f"p{n}_{pk}", "") for pk in self.issue_ids}
            if name or any(v.strip() for v in values.values()):
                packages.append({"name": name or f"Package {n}", "values": values})
        cleaned["packages"] = packages
        return cleaned


class MesoRespondForm(RoomForm):
    meso_id = forms.IntegerField()
    version = VersionField()
    preference = IdListField(required=False, widget=IdListWidget)
    picked_id = forms.IntegerField(required=False)
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("picked_id") and not cleaned.get("confirm"):
            self.add_error(
                "confirm", "Picking a package commits your side: tick to confirm."
            )
        return cleaned


class ConcessionForm(RoomForm):
    item = forms.CharField(max_length=160)
    we_give = forms.CharField(max_length=240)
    we_get = forms.CharField(required=False, max_length=240)
    value_to_us = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    value_to_them = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    values_shared = forms.BooleanField(required=False)
    trigger = forms.CharField(required=False, max_length=240)


class ConcessionValueForm(RoomForm):
    concession_id = forms.IntegerField()
    version = VersionField()
    value_to_us = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    value_to_them = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    values_shared = forms.BooleanField(required=False)


class TermForm(RoomForm):
    issue_id = forms.IntegerField()
    version = VersionField(required=False)
    value = forms.CharField(max_length=240)


class CommitmentForm(RoomForm):
    owner_side = forms.ChoiceField(choices=Party.Side.choices)
    owner_name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=240)
    metric = forms.CharField(required=False, max_length=160)
    target = forms.CharField(required=False, max_length=160)
    due_date = forms.DateField(required=False)
    contingency = forms.CharField(required=False, max_length=2000)


class ConcessionRefForm(RoomForm):
    concession_id = forms.IntegerField()
    version = VersionField()


class CommitmentRefForm(RoomForm):
    commitment_id = forms.IntegerField()
    version = VersionField()


class CommitmentUpdateForm(CommitmentRefForm):
    """The commitment's new wording (its owning side stays)."""

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


class CheckInForm(RoomForm):
    """``status_<commitment id>`` for each commitment, handed to the service
    as ``statuses``, plus the date and notes."""

    held_on = forms.DateField()
    notes = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.commitment_ids = list(
            self.access.deal.commitments.values_list("pk", flat=True)
        )
        for pk in self.commitment_ids:
            self.fields[f"status_{pk}"] = forms.ChoiceField(
                choices=Commitment.Status.choices, required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        statuses = {}
        for pk in self.commitment_ids:
            if status := cleaned.pop(f"status_{pk}", ""):
                statuses[pk] = status
        cleaned["statuses"] = statuses
        return cleaned


class CadenceProposeForm(RoomForm):
    cadence = forms.ChoiceField(
        choices=Deal._meta.get_field("review_cadence").choices,
        error_messages={"required": "Choose how often you will review."},
    )
    first_check_in = forms.DateField(
        error_messages={"required": "Pick the date of the first check-in."}
    )


class CadenceRespondForm(StageRespondForm):
    """Accept (binding: it becomes part of the agreement) or decline."""

    change_id = None
    proposal_id = forms.IntegerField()


class CadenceWithdrawForm(RoomForm):
    proposal_id = forms.IntegerField()


class PauseProposeForm(RoomForm):
    resume_on = forms.DateField(error_messages={"required": "Pick the date to resume."})
    note = forms.CharField(required=False, max_length=240)


class PauseAcceptForm(RoomForm):
    pause_id = forms.IntegerField()


class PauseCounterForm(PauseProposeForm):
    pause_id = forms.IntegerField()


class CultureForm(RoomForm):
    version = VersionField()
    their_style = forms.ChoiceField(required=False, choices=STYLE_CHOICES)
    their_decisions = forms.ChoiceField(required=False, choices=DECISION_CHOICES)


class NudgeForm(RoomForm):
    nudge_key = forms.RegexField(regex=r"^[\w-]{1,16}$", max_length=16)


def _issue_ids(access: DealAccess) -> list[int]:
    return list(access.deal.issues.values_list("pk", flat=True))


class JointCheckForm(RoomForm):
    """Allow, withdraw or run the joint check: nothing to fill in."""


class JointCheckAcceptForm(BindingForm):
    check_id = forms.IntegerField()
    index = forms.IntegerField(min_value=0, max_value=9)
    version = VersionField()

"""Forms for a side's private preparation.

They check the shape of the input only; ``negotiation.services.preparation``
enforces the rules (who may write, versions, model constraints). Every form
that edits a versioned object carries the version it was loaded on in a hidden
``version`` field, so a stale edit is refused instead of overwriting.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db import models

from negotiation.forms.deals import confirm_share_field
from negotiation.models import IMPORTANCE_MAX, IMPORTANCE_MIN, EvidenceItem, Issue
from negotiation.scoring.values import POINTS_MAX, SCORE_MAX, points_problem
from negotiation.services.base import EditConflict
from negotiation.services.preparation import IssueScoreInput

AMOUNT_DIGITS = {"max_digits": 14, "decimal_places": 2}
NOT_A_NUMBER = "Enter a number, such as 120000 or 99.50 (no currency sign)."
IMPORTANCE_CHOICES: list[tuple[int, str]] = [
    (1, "1 · nice to have"),
    (2, "2 · useful"),
    (3, "3 · important"),
    (4, "4 · very important"),
    (5, "5 · essential"),
]
IMPORTANCE_OUT_OF_SCALE = (
    f"Choose an importance from {IMPORTANCE_MIN} (nice to have) "
    f"to {IMPORTANCE_MAX} (essential)."
)
EMPTY = "(empty)"


class VersionField(forms.Field):
    """The hidden version an edit was made on.

    A missing or garbled value counts as version 0, which is never current, so
    the edit is refused as stale rather than applied blindly. With
    ``allow_unseen`` an empty value means "I saw no row yet" and becomes None.
    """

    widget = forms.HiddenInput

    def __init__(self, *, allow_unseen: bool = False, **kwargs: Any) -> None:
        self.allow_unseen = allow_unseen
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None if self.allow_unseen else 0
        try:
            return max(int(value), 0)
        except (TypeError, ValueError):
            return 0


def _text(label: str, help_text: str = "", rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _amount(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        required=False,
        error_messages={"invalid": NOT_A_NUMBER},
        **AMOUNT_DIGITS,
    )


class VersionedForm(forms.Form):
    """A form over a versioned object; ``version`` is never an edited value."""

    version = VersionField()

    def changes(self) -> dict[str, Any]:
        """The edited values, without the version."""
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}

    @classmethod
    def initial_from(cls, obj: models.Model | None) -> dict[str, Any]:
        if obj is None:
            return {}
        return {
            name: getattr(obj, name) for name in cls.base_fields if hasattr(obj, name)
        }

    def show_conflict(self, conflict: EditConflict) -> list[tuple[str, str]]:
        """Explain a refused stale edit and describe the values saved now.

        The user's attempted values stay in the form; its version moves to the
        current one, so saving again is a deliberate choice to replace what is
        there now (with the saved values in plain view above the form).
        """
        current = conflict.current
        self.add_error(None, conflict)
        self.data = self.data.copy()
        self.data[self.add_prefix("version")] = str(current.version)
        return [
            (str(self.fields[name].label), self._display(name, getattr(current, name)))
            for name in self.fields
            if name != "version" and hasattr(current, name)
        ]

    def _display(self, name: str, value: Any) -> str:
        field = self.fields[name]
        if isinstance(field, forms.BooleanField):
            return "ticked" if value else "not ticked"
        if value in (None, ""):
            return EMPTY
        if isinstance(field, forms.ChoiceField):
            labels = {str(key): label for key, label in field.choices}
            return str(labels.get(str(value), value))
        if isinstance(value, Decimal):
            return f"{value:,f}"
        return str(value)


class WalkawayForm(VersionedForm):
    """BATNA, reservation point and target: the numbers you never share."""

    batna = _text(
        "BATNA: your best alternative if there is no agreement",
        "What you will actually do if this deal does not happen: another "
        "partner, building it yourselves, waiting.",
    )
    reservation_point = _text(
        "Reservation point",
        "The least favourable outcome you would still accept. Past this "
        "point, walking away is better than saying yes.",
    )
    reservation_value = _amount(
        "Walk-away figure (optional)",
        "If the deal turns on one headline number, the figure you will not go past.",
    )
    target_outcome = _text(
        "Target outcome",
        "What a good result looks like for you. Aim here, not at your "
        "reservation point.",
    )
    sensitive_figures = _text(
        "Sensitive figures",
        "Internal costs, margins and budgets, one per line (for example "
        "“Unit cost: 61.40” or “Budget ceiling: €250k”). The room holds back "
        "anything you write that contains one, however it is written, and "
        "asks you first.",
    )


# How the other side communicates and decides: the choices of the
# counterparty map page and of the room's coach panel.
STYLE_CHOICES = [
    ("", "Not sure yet"),
    ("direct", "Direct: they say what they mean"),
    ("high_context", "High-context: subtle, face matters"),
]
DECISION_CHOICES = [
    ("", "Not sure yet"),
    ("hierarchical", "Hierarchical: someone senior signs off"),
    ("consensus", "By consensus in their team"),
    ("individual", "The person in the room decides"),
]


class CounterpartyForm(VersionedForm):
    """What you know (or can guess) about the other side's situation, and
    how they communicate and decide."""

    their_constraints = _text(
        "Their constraints",
        "Budget limits, policies, contracts or capacity that box them in.",
    )
    their_decision_path = _text(
        "Their decision path",
        "Who decides, who signs off, who can block it, and in what order.",
    )
    their_pressures = _text(
        "Their pressures",
        "Deadlines, targets, competitors or internal politics pushing on them.",
    )
    their_success = _text(
        "What success means for them",
        "The result they need to take back and present as a win.",
    )
    their_style = forms.ChoiceField(
        label="Their communication style",
        choices=STYLE_CHOICES,
        required=False,
        help_text="The room's coach suggests lines that fit it.",
    )
    their_decisions = forms.ChoiceField(
        label="How they decide",
        choices=DECISION_CHOICES,
        required=False,
    )


class ReadinessForm(VersionedForm):
    """The "do not use when…" check; unticked boxes are simply absent."""

    zero_sum_signals = forms.BooleanField(
        label="They signal a win-lose stance and resist being open",
        required=False,
    )
    sensitive_data_at_stake = forms.BooleanField(
        label="Working jointly would expose sensitive or proprietary data",
        required=False,
    )
    crisis_deadline = forms.BooleanField(
        label="A deadline or crisis leaves no time to explore options together",
        required=False,
    )
    readiness_notes = _text(
        "Notes",
        "What you observed, and what you will do about any box you ticked.",
    )


class IssueRowForm(VersionedForm):
    """One issue's row on a page with a row per issue.

    Each row gets its own element ids, and ``version`` may be empty: that row
    did not exist when the page loaded. With ``in_page=True`` the field names
    carry the row too (``issue7_importance``), so every row of the page posts
    in one form; the ids stay the same either way.
    """

    version = VersionField(allow_unseen=True)

    def __init__(
        self, *args: Any, issue: Issue, in_page: bool = False, **kwargs: Any
    ) -> None:
        if in_page:
            kwargs.update(prefix=f"issue{issue.pk}", auto_id="id_%s")
        else:
            kwargs.setdefault("auto_id", f"id_issue{issue.pk}_%s")
        super().__init__(*args, **kwargs)
        self.issue = issue

    def add_prefix(self, field_name: str) -> str:
        return f"{self.prefix}_{field_name}" if self.prefix else field_name


class PriorityForm(IssueRowForm):
    importance = forms.TypedChoiceField(
        label="Importance to you",
        choices=[("", "Choose…"), *IMPORTANCE_CHOICES],
        coerce=int,
        error_messages={
            "required": "Choose how much this issue matters to you.",
            "invalid_choice": IMPORTANCE_OUT_OF_SCALE,
        },
    )
    can_give = _text(
        "What you can give", "Room you have on this issue, and what it costs you."
    )
    want_get = _text(
        "What you want in return", "What you would ask for when you give here."
    )
    ideal_outcome = _text("Ideal outcome", "Where this issue lands at its best.")
    # Shown only when a cell you share with the other side was held back.
    confirm_share = confirm_share_field()


class AnchorForm(IssueRowForm):
    low = _amount("Low end")
    high = _amount("High end")
    opening_position = forms.CharField(
        label="Opening position",
        max_length=240,
        required=False,
        help_text="What you will say first, in one line.",
    )
    benchmark = _text(
        "Benchmark behind it",
        "The market data, precedent or calculation that makes the range credible.",
    )

    def __init__(self, *args: Any, issue: Issue, **kwargs: Any) -> None:
        super().__init__(*args, issue=issue, **kwargs)
        if issue.unit:
            for name in ("low", "high"):
                self.fields[name].label = f"{self.fields[name].label} ({issue.unit})"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        low: Decimal | None = cleaned.get("low")
        high: Decimal | None = cleaned.get("high")
        if low is not None and high is not None and low > high:
            self.add_error(
                "high",
                "The high end must not be below the low end: swap the two "
                "values or correct one of them.",
            )
        return cleaned


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=EvidenceItem.Kind.choices)
    title = forms.CharField(
        label="Title",
        max_length=160,
        error_messages={"required": "Give the item a short title."},
    )
    detail = _text("Detail", "The figure, the story or the calculation.")
    url = forms.URLField(
        label="Link (optional)",
        required=False,
        assume_scheme="https",
        help_text="Where the source can be checked.",
        error_messages={
            "invalid": "Enter a full web address, such as https://example.com/report."
        },
    )
    internal = forms.BooleanField(
        label="Internal only: never to be shared",
        required=False,
        help_text="Your own costs, a reference you may not name. The coach "
        "holds back a text for the other side that repeats it.",
    )


class ScoringForm(forms.Form):
    """The side's whole scoring on one form, saved at once.

    One weight per issue; per numeric issue up to five points of its value
    function (a value and its score; leave a row empty to skip it); per
    option issue a rating of each option. Starts from what is saved, or else
    from the proposal drawn from the preparation.
    """

    version = VersionField(allow_unseen=True)
    reservation_score = forms.DecimalField(
        label="Reservation score",
        help_text=(
            "The lowest total, 0–100, at which you would still accept a package. "
            "Below it, walking away is better."
        ),
        required=False,
        min_value=0,
        max_value=SCORE_MAX,
        max_digits=5,
        decimal_places=2,
        error_messages={"invalid": "Enter a score from 0 to 100."},
    )

    def __init__(self, *args: Any, rows: list, scoring=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        if not self.is_bound:
            self.initial = {
                "version": scoring.version if scoring else None,
                "reservation_score": scoring.reservation_score if scoring else None,
            }
        for row in rows:
            self._add_issue_fields(row)

    def _score_field(self, label: str, required: bool) -> forms.IntegerField:
        return forms.IntegerField(
            label=label,
            required=required,
            min_value=0,
            max_value=SCORE_MAX,
            error_messages={"invalid": "Enter a whole number from 0 to 100."},
        )

    def _add_issue_fields(self, row) -> None:
        issue, saved = row.issue, row.saved
        pk = issue.pk
        weight = self._score_field(f"Weight of {issue.name}", required=True)
        weight.initial = saved.weight if saved else row.proposed_weight
        self.fields[f"weight-{pk}"] = weight
        if issue.kind == Issue.Kind.OPTIONS:
            ratings = saved.ratings if saved else row.proposed_ratings
            for index, option in enumerate(issue.options):
                field = self._score_field(f"{issue.name}: {option}", required=True)
                field.initial = ratings.get(option, row.proposed_ratings.get(option))
                self.fields[f"rating-{pk}-{index}"] = field
            return
        points = (
            [(Decimal(v), s) for v, s in saved.points]
            if saved and saved.points
            else list(row.proposed_points)
        )
        for index in range(POINTS_MAX):
            value, score = points[index] if index < len(points) else (None, None)
            value_field = _amount(f"{issue.name}: value {index + 1}")
            value_field.initial = value
            self.fields[f"value-{pk}-{index}"] = value_field
            score_field = self._score_field(
                f"{issue.name}: score of value {index + 1}", required=False
            )
            score_field.initial = score
            self.fields[f"score-{pk}-{index}"] = score_field

    def issue_fields(self) -> list[dict[str, Any]]:
        """Per issue, its bound fields, for the template."""
        out = []
        for row in self.rows:
            pk = row.issue.pk
            entry: dict[str, Any] = {"row": row, "weight": self[f"weight-{pk}"]}
            if row.issue.kind == Issue.Kind.OPTIONS:
                entry["ratings"] = [
                    (option, self[f"rating-{pk}-{index}"])
                    for index, option in enumerate(row.issue.options)
                ]
            else:
                entry["points"] = [
                    (self[f"value-{pk}-{index}"], self[f"score-{pk}-{index}"])
                    for index in range(POINTS_MAX)
                ]
            out.append(entry)
        return out

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        issues: dict[int, IssueScoreInput] = {}
        for row in self.rows:
            pk = row.issue.pk
            weight = cleaned.get(f"weight-{pk}")
            if weight is None:
                continue  # its own field error says why
            if row.issue.kind == Issue.Kind.OPTIONS:
                ratings = {
                    option: cleaned.get(f"rating-{pk}-{index}")
                    for index, option in enumerate(row.issue.options)
                }
                if None in ratings.values():
                    continue
                issues[pk] = IssueScoreInput(weight, ratings=ratings)
                continue
            points = []
            for index in range(POINTS_MAX):
                value_name, score_name = f"value-{pk}-{index}", f"score-{pk}-{index}"
                if value_name in self.errors or score_name in self.errors:
                    continue
                value, score = cleaned.get(value_name), cleaned.get(score_name)
                if value is None and score is None:
                    continue
                if value is None or score is None:
                    missing = value_name if value is None else score_name
                    self.add_error(missing, "Give both the value and its score.")
                    continue
                points.append((value, score))
            points.sort()
            problem = points_problem(points)
            if problem:
                self.add_error(f"value-{pk}-0", problem)
                continue
            issues[pk] = IssueScoreInput(weight, points=points)
        cleaned["issues"] = issues
        return cleaned

    def show_conflict(self, conflict: EditConflict) -> None:
        """A newer scoring was saved meanwhile: keep the input, say so, and
        move to the current version, so saving again is a deliberate choice."""
        self.add_error(None, conflict)
        self.data = self.data.copy()
        self.data["version"] = str(conflict.current.version)

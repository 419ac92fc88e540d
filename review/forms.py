"""Forms for the review pages and the team dashboard.

They check the shape of input only; ``review.services`` enforces
who may write what, and when.
"""

from __future__ import annotations

from typing import Any

from django import forms

from negotiation.forms.preparation import VersionField
from negotiation.models import Deal
from review.models import Lesson, PostDealReview
from review.selectors import DASHBOARD_SORTS, DashboardFilters
from review.services import COMMENT_MAX_LENGTH, REVIEW_FIELDS


class PostDealReviewForm(forms.ModelForm):
    version = VersionField(allow_unseen=True)

    class Meta:
        model = PostDealReview
        fields = REVIEW_FIELDS
        widgets = {
            "value_created": forms.Textarea(attrs={"rows": 3}),
            "value_left": forms.Textarea(attrs={"rows": 3}),
            "trust_signals": forms.Textarea(attrs={"rows": 3}),
            "lessons": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("our_goals_met", "their_goals_met"):
            self.fields[name].choices = [
                ("", "Not answered yet"),
                *PostDealReview.Verdict.choices,
            ]

    def service_kwargs(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in REVIEW_FIELDS}


class ReviewCommentForm(forms.Form):
    body = forms.CharField(
        label="Your comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The host side's reps read it on this page. The other side never "
        "sees it.",
    )


class LessonForm(forms.Form):
    text = forms.CharField(
        label="Lesson for the library",
        max_length=Lesson._meta.get_field("text").max_length,
        help_text="Shown when the team prepares new deals in the same context.",
    )


def _with_any(choices, label: str = "Any") -> list[tuple[str, str]]:
    return [("", label), *choices]


class DashboardFilterForm(forms.Form):
    """The dashboard's filters, read from the query string (GET)."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(
        label="Outcome", required=False, choices=_with_any(Deal.Status.choices)
    )
    stage = forms.ChoiceField(
        label="Stage", required=False, choices=_with_any(Deal.Stage.choices)
    )
    context = forms.ChoiceField(
        label="Context", required=False, choices=_with_any(Deal.Context.choices)
    )
    rep = forms.TypedChoiceField(
        label="Rep", required=False, coerce=int, empty_value=None
    )
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[
            ("updated", "Last activity"),
            ("closed", "Closing date"),
            ("created", "Creation date"),
            ("title", "Title"),
        ],
    )

    def __init__(self, *args: Any, reps: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["rep"].choices = _with_any([(str(pk), n) for pk, n in reps])

    def filters(self) -> DashboardFilters:
        """The valid filters; an invalid one is dropped rather than failing."""
        if not self.is_bound:
            return DashboardFilters()
        self.is_valid()
        data = self.cleaned_data
        sort = data.get("sort") or "updated"
        return DashboardFilters(
            status=data.get("status") or "",
            stage=data.get("stage") or "",
            context=data.get("context") or "",
            rep=data.get("rep"),
            q=(data.get("q") or "").strip(),
            sort=sort if sort in DASHBOARD_SORTS else "updated",
        )

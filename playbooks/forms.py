from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from negotiation.models import Team
from playbooks.models import TeamPlay


class TeamChoiceMixin:
    """A ``team`` field offering the user's own teams; hidden when there is
    only one, since there is nothing to choose."""

    def _set_teams(self, teams: QuerySet[Team]) -> None:
        field = self.fields["team"]
        field.queryset = teams
        if len(teams) == 1:
            field.initial = teams[0].pk
            field.widget = forms.HiddenInput()


NOT_YOUR_TEAM = {"invalid_choice": "Pick one of your own teams."}


class TeamPlayForm(TeamChoiceMixin, forms.ModelForm):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), empty_label=None, error_messages=NOT_YOUR_TEAM
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = TeamPlay
        fields = ["team", "title", "context", "stage", "body"]
        labels = {"context": "Context", "stage": "Stage", "body": "The play"}
        help_texts = {
            "context": "Where this play works best.",
            "stage": "When in the negotiation to use it.",
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._set_teams(teams)
        self.fields["context"].choices = [("", "Any context")] + [
            choice for choice in self.fields["context"].choices if choice[0]
        ]
        self.fields["stage"].choices = [("", "Any stage")] + [
            choice for choice in self.fields["stage"].choices if choice[0]
        ]
        if self.instance.pk:
            # A play stays with its team.
            del self.fields["team"]


class PracticeForm(TeamChoiceMixin, forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        empty_label=None,
        label="Open it for team",
        error_messages=NOT_YOUR_TEAM,
    )

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._set_teams(teams)

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from negotiation.models import Team


class SignupForm(UserCreationForm):
    """A new account, which either founds a team or joins one by its code."""

    email = forms.EmailField(required=True)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    team_name = forms.CharField(
        max_length=120,
        required=False,
        help_text="Start a new team: you become its manager.",
    )
    join_code = forms.CharField(
        max_length=32,
        required=False,
        widget=forms.HiddenInput,
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email", "first_name", "last_name")

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("join_code", "").strip()
        if code:
            team = Team.objects.filter(join_code=code).first()
            if team is None:
                raise forms.ValidationError(
                    "This team invitation is no longer valid. Ask your manager "
                    "for a new link, or start your own team."
                )
            cleaned["team"] = team
        elif not cleaned.get("team_name", "").strip():
            self.add_error("team_name", "Name your team (your company or unit).")
        return cleaned

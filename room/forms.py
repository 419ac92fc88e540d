"""Forms of the share-link pages: they check the shape of input only; the
services in ``room.services`` enforce the rules."""

from __future__ import annotations

from django import forms
from django.conf import settings

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
        label="Valid for (days)",
        help_text=f"Between {INVITE_DAYS_MIN} and {INVITE_DAYS_MAX} days. After "
        "that the link stops working, whether or not it was used.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read at request time, so a changed setting applies without a restart
        # of this module (and tests can override it).
        self.fields["valid_days"].initial = settings.PARLEY_INVITE_DAYS

    def clean_valid_days(self) -> int:
        return self.cleaned_data["valid_days"] or settings.PARLEY_INVITE_DAYS


class JoinForm(forms.Form):
    """The name a guest of the counterpart side is shown under in the room."""

    display_name = forms.CharField(
        max_length=80,
        label="Your name",
        help_text="Everyone in the room sees it, e.g. “Dana, Head of Retail Ops”.",
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )

from decimal import Decimal

from django import forms

from negotiation.models import Deal, Issue


class DateInput(forms.DateInput):
    input_type = "date"


def confirm_share_field() -> forms.BooleanField:
    """Shown after the guard held a shared text back (``negotiation.disclosure``)."""
    return forms.BooleanField(
        required=False,
        label="Share it anyway",
        help_text="It gives away your walk-away point; only tick this if you "
        "mean the other side to read it.",
    )


class DealForm(forms.ModelForm):
    """The deal's shared facts; ``version`` guards against overwriting an edit."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    confirm_share = confirm_share_field()

    class Meta:
        model = Deal
        fields = [
            "title",
            "context",
            "counterpart_organisation",
            "counterpart_contact",
            "shared_purpose",
            "deadline",
        ]
        labels = {
            "counterpart_organisation": "Counterpart organisation",
            "counterpart_contact": "Counterpart contact",
        }
        widgets = {
            "deadline": DateInput,
            "shared_purpose": forms.Textarea(attrs={"rows": 3}),
        }


class OptionsField(forms.CharField):
    """Options typed one per line (or comma-separated) → a list of strings."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        separator = "\n" if "\n" in text else ","
        return [part.strip() for part in text.split(separator) if part.strip()]

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value


class IssueForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    confirm_share = confirm_share_field()
    options = OptionsField(
        required=False,
        help_text="For a set of options: one per line.",
    )

    class Meta:
        model = Issue
        fields = [
            "name",
            "description",
            "kind",
            "unit",
            "range_min",
            "range_max",
            "options",
            "flexibility",
        ]
        labels = {"range_min": "Lowest value", "range_max": "Highest value"}
        widgets = {"kind": forms.RadioSelect, "flexibility": forms.RadioSelect}

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        low: Decimal | None = cleaned.get("range_min")
        high: Decimal | None = cleaned.get("range_max")
        numeric = kind == Issue.Kind.NUMERIC
        if numeric and low is not None and high is not None and low > high:
            self.add_error(
                "range_max", "The highest value must not be below the lowest."
            )
        return cleaned

    def service_kwargs(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if data["kind"] == Issue.Kind.OPTIONS:
            data.update(unit="", range_min=None, range_max=None)
        else:
            data["options"] = []
        return data

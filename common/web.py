"""Small web helpers shared by every app's views: the htmx request type and
showing a service's errors on a form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form that sent the input.

    Errors on fields the form has go next to the field; the rest (constraint
    violations, rule checks) go to the top of the form.
    """
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for item in errors:
                form.add_error(target, item)
    else:
        form.add_error(None, error)


def parse_version(raw: str | None) -> int:
    """The version an edit was made on; garbage counts as stale (version 0)."""
    try:
        return int(raw or "")
    except ValueError:
        return 0

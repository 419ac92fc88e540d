"""Small helpers shared by the views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from sessions.identity import guest_participant_id


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


def login_or_guest_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but also lets in the session's guest of the
    counterpart side for the deal in the URL (``deal_id``).

    This only decides who gets past the door: the view must still resolve the
    viewer's access with ``sessions.identity.room_access``, which refuses a
    revoked guest (404) and picks the side.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        deal_id = kwargs.get("deal_id")
        is_guest = (
            deal_id is not None
            and guest_participant_id(request.session, deal_id) is not None
        )
        if request.user.is_authenticated or is_guest:
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path())

    return wrapper

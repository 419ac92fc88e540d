"""Parley's own 404, 410 and 500 pages, whatever ``DEBUG`` says.

With ``DEBUG`` on, Django answers an ``Http404`` raised in a view, a URL
that matches nothing and an uncaught exception with its debug pages, which
show a guest "No such deal" and a traceback. This middleware renders
Parley's pages instead, in both settings: ``404.html``; ``410.html`` for a
page that is gone for good (``Gone``: a guest whose access ended);
``500.html``
for an exception, which is still logged (``django.request``) and signalled,
so the test client and error reporting see it as before.

It goes last in ``MIDDLEWARE``: its ``process_exception`` runs first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core import signals
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader

logger = logging.getLogger("django.request")

# Exceptions Django itself turns into 400 and 403 pages (never debug pages
# for users): left to it.
LEFT_TO_DJANGO = (PermissionDenied, BadRequest, SuspiciousOperation)


class Gone(Http404):
    """A page that existed for this visitor and no longer does: 410, not 404.
    An ``Http404`` still, so code that refuses a missing page refuses it."""


def error_page(request: HttpRequest, status: int, **context) -> HttpResponse:
    response = HttpResponse(
        loader.render_to_string(f"{status}.html", context, request=request),
        status=status,
    )
    response.parley_error_page = True
    return response


def server_error_page() -> HttpResponse:
    """The 500 page needs no request: it must render even when the request's
    context (session, user) is what failed."""
    return HttpResponse(loader.render_to_string("500.html"), status=500)


class OwnErrorPagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and getattr(request, "resolver_match", None) is None
            and not getattr(response, "parley_error_page", False)
        ):
            # No URL matched (with DEBUG on, Django's page lists the URLs).
            return error_page(request, 404)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if isinstance(exception, Gone):
            return error_page(request, 410)
        if isinstance(exception, Http404):
            return error_page(request, 404)
        if settings.DEBUG and not isinstance(exception, LEFT_TO_DJANGO):
            # What Django does with DEBUG off, less its debug page.
            signals.got_request_exception.send(sender=None, request=request)
            logger.error(
                "Internal Server Error: %s",
                request.path,
                exc_info=exception,
                extra={"status_code": 500, "request": request},
            )
            return server_error_page()
        return None

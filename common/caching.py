"""Cache headers: no page of Parley is kept by a browser or a proxy."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin


class NoStoreMiddleware(MiddlewareMixin):
    """Every page and download is sent with ``Cache-Control: no-store``.

    Nearly every page shows one side's private preparation, a guest's room or
    an export, and neither a browser's nor a proxy's cache may keep them. One
    rule for every response cannot be forgotten on a new view, as a decorator
    could; a view whose response may be cached says so by setting
    ``Cache-Control`` itself. Static files never get here: whitenoise, above
    this middleware, answers them with its own long-lived headers.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response

"""Middleware of our own."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.decorators import sync_and_async_middleware

NUL_REFUSED = (
    "This request holds a NUL character, which no page or form of Parley "
    "accepts. Remove it and try again."
)


def _holds_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    for data in (request.GET, request.POST):
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return True
    return False


@sync_and_async_middleware
def refuse_nul_characters(get_response):
    """Answer 400 to a request whose path, query string or form data holds a
    NUL character.

    Django's form fields refuse NUL already, but views also read raw query
    and form values (a join code, a message id), and PostgreSQL fails on a
    NUL in any text it is sent: without this, a 500.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            if _holds_nul(request):
                return HttpResponseBadRequest(NUL_REFUSED, content_type="text/plain")
            return await get_response(request)

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            if _holds_nul(request):
                return HttpResponseBadRequest(NUL_REFUSED, content_type="text/plain")
            return get_response(request)

    return middleware

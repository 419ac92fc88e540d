"""The websocket handshake's Origin check: the same rule as Django's CSRF
check of a form POST.

An Origin passes when its scheme, host and port are the site's own — the
``Host`` the handshake was sent to, which must be in ``ALLOWED_HOSTS``, with
``https`` when the connection is secure (``wss``, or ``SECURE_PROXY_SSL_HEADER``
behind a TLS proxy) — or when it is one of ``CSRF_TRUSTED_ORIGINS``. Channels'
``AllowedHostsOriginValidator`` compares the host only, so a page served over
plain http or from another port of the same host could open a socket.
"""

from __future__ import annotations

import io
from typing import Any

from channels.security.websocket import WebsocketDenier
from django.core.handlers.asgi import ASGIRequest
from django.middleware.csrf import CsrfViewMiddleware

_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether the handshake's Origin is the site's own or a trusted one."""
    # The handshake as the GET request it is, so that Django reads Host,
    # Origin and the proxy's header as it does for any page.
    request = ASGIRequest(
        {
            **scope,
            "type": "http",
            "method": "GET",
            "scheme": _HTTP_SCHEME.get(scope.get("scheme", "ws"), "http"),
        },
        io.BytesIO(),
    )
    if "HTTP_ORIGIN" not in request.META:
        return False
    # Django's own origin rule (used since Django 4.0 by every POST's check).
    return CsrfViewMiddleware(lambda request: None)._origin_verified(request)


class SameOriginValidator:
    """ASGI middleware: refuse a websocket handshake from another origin."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)

"""Who a websocket acts for, read when the consumer first needs it.

Channels' ``AuthMiddleware`` reads the session and the user before the
consumer runs, in a trip of its own to the process's one database thread.
When a killed server's sockets all come back to the others at once, every
trip waits its turn behind the whole storm, so each one a connect makes
adds to how long a user waits to see the room again. Here the user is a lazy
object that Django's own ``get_user`` fills on first use, which the room's
consumer makes inside the trip that resolves the viewer's access anyway.

Reading it from async code before then raises Django's
``SynchronousOnlyOperation``, as any query there would.
"""

from __future__ import annotations

from types import SimpleNamespace

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth import get_user
from django.utils.functional import SimpleLazyObject


class LazyAuthMiddleware(AuthMiddleware):
    """``scope["user"]``, read from the session on first use."""

    def populate_scope(self, scope):
        super().populate_scope(scope)
        session = scope["session"]
        # The same check as a page request's: a session whose password hash
        # no longer matches gives the anonymous user.
        scope["user"] = SimpleLazyObject(
            lambda: get_user(SimpleNamespace(session=session))
        )

    async def resolve_scope(self, scope):
        """Nothing to wait for: the user is read when first used."""


def LazyAuthMiddlewareStack(inner):
    """Cookies, the session and the lazy user, as ``AuthMiddlewareStack``."""
    return CookieMiddleware(SessionMiddleware(LazyAuthMiddleware(inner)))

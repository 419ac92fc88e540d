"""The handshake's Origin must be the site's own — scheme, host and port — or
one of ``CSRF_TRUSTED_ORIGINS``; anything else is refused before the socket
opens."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from tests.room.sockets import TIMEOUT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]


async def handshake(
    deal_id: int,
    cookie: str,
    *,
    origin: str,
    host: str = "127.0.0.1:8000",
    scheme: str = "ws",
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> bool:
    """Whether a socket with these headers opens (and says hello)."""
    comm = WebsocketCommunicator(
        application,
        f"/ws/room/{deal_id}/",
        headers=[
            (b"origin", origin.encode()),
            (b"host", host.encode()),
            (b"cookie", f"sessionid={cookie}".encode()),
            *extra,
        ],
    )
    comm.scope["scheme"] = scheme
    try:
        connected, _ = await comm.connect(timeout=TIMEOUT)
        if connected:
            assert (await comm.receive_json_from(TIMEOUT))["type"] == "hello"
        return connected
    finally:
        await comm.disconnect()


async def test_the_sites_own_origin_opens(deal, host_cookie):
    assert await handshake(deal.pk, host_cookie, origin="http://127.0.0.1:8000")


async def test_an_origin_with_another_scheme_is_refused(deal, host_cookie):
    assert not await handshake(deal.pk, host_cookie, origin="https://127.0.0.1:8000")


async def test_an_http_page_cannot_open_a_secure_socket(deal, host_cookie):
    assert not await handshake(
        deal.pk, host_cookie, origin="http://127.0.0.1:8000", scheme="wss"
    )
    assert await handshake(
        deal.pk, host_cookie, origin="https://127.0.0.1:8000", scheme="wss"
    )


async def test_an_origin_on_another_port_is_refused(deal, host_cookie):
    assert not await handshake(deal.pk, host_cookie, origin="http://127.0.0.1:8001")
    assert not await handshake(deal.pk, host_cookie, origin="http://127.0.0.1")


async def test_a_host_outside_allowed_hosts_is_refused_even_from_itself(
    deal, host_cookie, settings
):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    assert not await handshake(
        deal.pk, host_cookie, origin="http://evil.example", host="evil.example"
    )


async def test_behind_a_tls_proxy_the_https_origin_opens(deal, host_cookie, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = ((b"x-forwarded-proto", b"https"),)
    assert await handshake(
        deal.pk, host_cookie, origin="https://127.0.0.1:8000", extra=proxied
    )
    assert not await handshake(
        deal.pk, host_cookie, origin="http://127.0.0.1:8000", extra=proxied
    )


async def test_a_trusted_origin_opens_with_its_own_scheme_and_port_only(
    deal, host_cookie, settings
):
    settings.CSRF_TRUSTED_ORIGINS = ["https://parley.example:8443"]
    trusted = "https://parley.example:8443"
    assert await handshake(deal.pk, host_cookie, origin=trusted)
    for other in (
        "http://parley.example:8443",
        "https://parley.example",
        "https://parley.example:9443",
    ):
        assert not await handshake(deal.pk, host_cookie, origin=other), other

"""Scaling out: two daphne processes on one PostgreSQL and one Redis.

The host uses process A and the counterpart process B, for HTTP and for the
room's websocket. Nothing may live in one process only: a change by either
side reaches the other within 2 s, and so does presence (joining and leaving).
Requires PostgreSQL and Redis: skipped without them, failed under ``CI=true``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from negotiation.models import Issue
from tests.live_server import (
    Browser,
    HttpFailure,
    LiveServer,
    RoomSocket,
    database_url_for,
    invite_and_join,
    log_in,
    presence_of,
    seed_demo,
    start_servers,
    stop_servers,
)
from tests.service_checks import require_postgres, require_redis

REACH_SECONDS = 2.0
GUEST_NAME = "Dana Ortiz (Acme Retail)"
HOST_NAME = "Robin"  # the demo rep's display name (first name)


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Keep the real password hashers (overrides tests/conftest.py's MD5): the
    demo rep logs in through daphne, which only knows the project's hashers."""


@pytest.fixture(scope="module")
def servers(
    django_db_setup, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Daphne A and daphne B: the same test database, the same Redis."""
    from django.db import connection

    require_postgres()
    redis_url = require_redis()
    started = start_servers(
        2,
        database_url=database_url_for(connection.settings_dict),
        log_dir=tmp_path_factory.mktemp("daphne"),
        env={"REDIS_URL": redis_url, "DB_POOL_MAX": "4"},
    )
    try:
        yield started[0], started[1]
    finally:
        stop_servers(started)
        for server in started:
            assert "Traceback" not in server.log(), server.log()[-4000:]


def reaches(
    sender: RoomSocket, receiver: RoomSocket, action: str, data: dict[str, Any],
    needle: str,
) -> float:  # fmt: skip
    """Seconds from sending ``action`` until ``needle`` is in the peer's event."""
    mark = receiver.mark()
    started = time.monotonic()
    sender.act(action, data, timeout=REACH_SECONDS)
    receiver.wait_for(
        lambda f: f.get("type") == "event" and needle in f.get("html", ""),
        since=mark,
        timeout=max(0.0, REACH_SECONDS - (time.monotonic() - started)),
        what=f"the peer's event for {action}",
    )
    return time.monotonic() - started


def presence_frame(
    socket: RoomSocket, name: str, state: str, *, since: int
) -> dict[str, Any]:
    return socket.wait_for(
        lambda f: (
            f.get("type") == "presence"
            and presence_of(f.get("html", ""), name) == state
        ),
        since=since,
        timeout=REACH_SECONDS,
        what=f"presence showing {name} {state}",
    )


@pytest.mark.django_db(transaction=True)
def test_both_sides_on_different_processes_see_each_others_changes_and_presence(
    servers: tuple[LiveServer, LiveServer],
):
    server_a, server_b = servers
    assert server_a.process.pid != server_b.process.pid
    demo = seed_demo(server_a.base_url)
    deal_id = int(re.search(r"/deals/(\d+)/", demo["deal_url"]).group(1))
    issues = dict(Issue.objects.filter(deal_id=deal_id).values_list("name", "pk"))
    host = Browser(server_a.base_url, "host on A")
    guest = Browser(server_b.base_url, "counterpart on B")
    # The host invites on A; the guest opens the link and joins on B. The
    # session made on B must then be good for B's websocket (and A's pages).
    log_in(host, demo["host"]["username"], demo["host"]["password"])
    invite_and_join(host, guest, deal_id, GUEST_NAME)

    host_ws = host.websocket(f"/ws/room/{deal_id}/")
    try:
        host_ws.wait_for(lambda f: f.get("type") == "hello", what="hello")
        mark = host_ws.mark()
        guest_ws = guest.websocket(f"/ws/room/{deal_id}/")
        try:
            hello = guest_ws.wait_for(lambda f: f.get("type") == "hello", what="hello")
            assert hello["side"] == "counterpart"
            # Joining on B shows on A, and B sees the host that is on A.
            presence_frame(host_ws, GUEST_NAME, "online", since=mark)
            presence_frame(guest_ws, HOST_NAME, "online", since=0)

            for sender, receiver in ((host_ws, guest_ws), (guest_ws, host_ws)):
                body = f"Across processes {uuid.uuid4().hex}"
                elapsed = reaches(
                    sender, receiver, "message.post", {"body": body}, body
                )
                assert elapsed < REACH_SECONDS
            rationale = f"Counter-offer {uuid.uuid4().hex}"
            trade = {
                "give_issue_id": issues["Payment terms"],
                "give_value": "45 days",
                "ask_issue_id": issues["Onboarding support"],
                "ask_value": "Two on-site weeks",
                "rationale": rationale,
            }
            assert reaches(guest_ws, host_ws, "trade.propose", trade, rationale) < (
                REACH_SECONDS
            )
            mark = host_ws.mark()
        finally:
            guest_ws.close()
        # Leaving B shows on A too.
        presence_frame(host_ws, GUEST_NAME, "offline", since=mark)
    finally:
        host_ws.close()
    # A page served by A shows what was done through B.
    assert rationale in host.get(f"/room/{deal_id}/").body


@pytest.mark.django_db(transaction=True)
def test_logging_out_on_one_process_closes_the_socket_on_the_other_within_a_second(
    servers: tuple[LiveServer, LiveServer],
):
    server_a, server_b = servers
    demo = seed_demo(server_a.base_url)
    deal_id = int(re.search(r"/deals/(\d+)/", demo["deal_url"]).group(1))
    host = Browser(server_a.base_url, "host, pages on A, socket on B")
    log_in(host, demo["host"]["username"], demo["host"]["password"])
    host_ws = host.websocket(f"/ws/room/{deal_id}/", base_url=server_b.base_url)
    try:
        host_ws.wait_for(lambda f: f.get("type") == "hello", what="hello")
        host_ws.drain()
        host.get("/deals/")  # a page with the logout form, for the CSRF cookie
        host.post("/accounts/logout/", follow=False, expect=(302,))
        logged_out = time.monotonic()
        with pytest.raises(HttpFailure):  # the socket closes: no frame comes
            host_ws.wait_for(lambda f: False, timeout=1.0, what="the close")
        closed_after = time.monotonic() - logged_out
    finally:
        host_ws.close()

    assert host_ws.closed_code == 4401
    assert closed_after < 1.0
    assert host_ws.frames[-1]["code"] == "signed_out"

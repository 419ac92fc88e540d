"""A participant's limits hold across daphne processes: two processes on one
PostgreSQL and one Redis, one participant's sockets spread over both.

- At most ``PARLEY_SOCKETS_PER_PARTICIPANT`` (5) open sockets: the sixth,
  opened on process B, closes the oldest, on process A, with 4409.
- One allowance of ``PARLEY_PARTICIPANT_ACTIONS`` per window, counted in
  Redis: actions sent through A and through B draw on the same budget. The
  daphnes run with a small allowance (6 an hour) so the test is quick and
  never straddles two windows.

Requires PostgreSQL and Redis: skipped without them, failed under ``CI=true``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.utils import timezone

from negotiation.models import Deal, Participant
from room.consumers import CLOSE_SUPERSEDED
from room.models import Invite, Message, RoomConnection, RoomVisit, hash_token
from room.services import invite_create
from tests.live_server import (
    Browser,
    HttpFailure,
    LiveServer,
    RoomSocket,
    database_url_for,
    open_share_link,
    start_servers,
    stop_servers,
)
from tests.service_checks import require_postgres, require_redis

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS_PER_PARTICIPANT = 5
ACTIONS = 6
# An hour: the fixed window the count lives in never ends mid-test (and the
# test waits for the next one if this one is about to end).
ACTIONS_WINDOW = 3600
CLOSE_WITHIN = 2.0  # seconds


@pytest.fixture(scope="module")
def redis_url() -> str:
    return require_redis()


@pytest.fixture(scope="module")
def servers(
    django_db_setup, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Daphne A and daphne B: the same test database, the same Redis (their
    channel layer and their cache), and a small action allowance."""
    from django.db import connection

    require_postgres()
    started = start_servers(
        2,
        database_url=database_url_for(connection.settings_dict),
        log_dir=tmp_path_factory.mktemp("daphne"),
        env={
            "REDIS_URL": redis_url,
            "DB_POOL_MAX": "4",
            "PARLEY_SOCKETS_PER_PARTICIPANT": str(SOCKETS_PER_PARTICIPANT),
            "PARLEY_PARTICIPANT_ACTIONS": str(ACTIONS),
            "PARLEY_PARTICIPANT_ACTIONS_WINDOW": str(ACTIONS_WINDOW),
        },
    )
    try:
        yield started[0], started[1]
    finally:
        stop_servers(started)
        for server in started:
            assert "Traceback" not in server.log(), server.log()[-4000:]


def guest_on(server: LiveServer, token: str, name: str) -> Browser:
    """A guest who opened the share link and joined through ``server``."""
    guest = Browser(server.base_url, name)
    open_share_link(guest, f"{server.base_url}/join/#{token}")
    guest.post("/join/", {"display_name": name})
    return guest


def participant_of(token: str) -> Participant:
    return Invite.objects.get(token_hash=hash_token(token)).participant


def open_socket(guest: Browser, deal: Deal, server: LiveServer) -> RoomSocket:
    """A room socket of ``guest`` on ``server``, once its hello has come."""
    sock = guest.websocket(f"/ws/room/{deal.pk}/", base_url=server.base_url)
    sock.wait_for(lambda f: f.get("type") == "hello", what="hello")
    return sock


def closed_code(sock: RoomSocket, within: float) -> int | None:
    """The code ``sock`` is closed with within ``within`` seconds, or None."""
    with pytest.raises(HttpFailure):  # no frame matches: it waits for the close
        sock.wait_for(lambda f: False, timeout=within, what="the close")
    return sock.closed_code


def reply_to(sock: RoomSocket, action: str, data: dict[str, Any]) -> dict[str, Any]:
    """Send one room action; its ack or its refusal."""
    client_msg_id = uuid.uuid4().hex
    since = sock.mark()
    sock.send({"action": action, "client_msg_id": client_msg_id, "data": data})
    return sock.wait_for(
        lambda f: (
            f.get("client_msg_id") == client_msg_id
            and f.get("type") in {"ack", "error"}
        ),
        since=since,
        what=f"the reply to {action}",
    )


def close_all(sockets: list[RoomSocket], participants: list[Participant]) -> None:
    """Close the sockets and wait until both servers have let them go (the
    presence row deleted, the visit recorded), so that nothing a server does
    for them runs into the database being emptied after the test."""
    closed_at = timezone.now()
    for sock in sockets:
        sock.close()
    deadline = time.monotonic() + CLOSE_WITHIN
    while time.monotonic() < deadline:
        open_rows = RoomConnection.objects.filter(participant__in=participants)
        visits = RoomVisit.objects.filter(
            participant__in=participants, present_at__gte=closed_at
        )
        if not open_rows.exists() and visits.count() == len(participants):
            return
        time.sleep(0.05)
    raise AssertionError("the servers did not let the closed sockets go")


@pytest.fixture
def fresh_allowance(redis_url: str) -> Iterator[None]:
    """Start inside one window of the action count, with no count left over
    from an earlier run (a new test database reuses participant ids)."""
    left = ACTIONS_WINDOW - time.time() % ACTIONS_WINDOW
    if left < 60:
        time.sleep(left + 1)
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match="*rate:room-actions:*"):
            client.delete(key)
        yield
    finally:
        client.close()


def test_a_sixth_socket_on_process_b_closes_the_oldest_on_process_a_with_4409(
    servers: tuple[LiveServer, LiveServer], deal: Deal, invite_and_token
):
    server_a, server_b = servers
    _invite, token = invite_and_token
    guest = guest_on(server_a, token, "Dana Ortiz")
    # Oldest first: A, then B and A in turn; all five stay open.
    sockets = [
        open_socket(guest, deal, (server_a, server_b)[n % 2])
        for n in range(SOCKETS_PER_PARTICIPANT)
    ]
    try:
        oldest = sockets[0]
        sixth = open_socket(guest, deal, server_b)
        sockets.append(sixth)
        code = closed_code(oldest, within=CLOSE_WITHIN)
        # The five newest, on both processes, all still answer.
        for sock in sockets[1:]:
            mark = sock.mark()
            sock.send({"action": "sync", "since": 0})
            sock.wait_for(lambda f: f.get("type") == "sync", since=mark, what="sync")
            assert sock.closed_code is None
        rows = RoomConnection.objects.filter(participant=participant_of(token))
        open_rows = rows.count()
    finally:
        close_all(sockets, [participant_of(token)])

    assert code == CLOSE_SUPERSEDED == 4409
    assert oldest.frames[-1]["type"] == "error"
    assert oldest.frames[-1]["code"] == "superseded"
    assert "too many windows" in oldest.frames[-1]["message"]
    assert open_rows == SOCKETS_PER_PARTICIPANT


@pytest.mark.usefixtures("fresh_allowance")
def test_actions_through_both_processes_draw_on_one_allowance(
    servers: tuple[LiveServer, LiveServer], deal: Deal, host_access, invite_and_token
):
    server_a, server_b = servers
    _invite, token = invite_and_token
    guest = guest_on(server_a, token, "Dana Ortiz")
    _other_invite, other_token = invite_create(access=host_access, label="Kim")
    colleague = guest_on(server_b, other_token, "Kim Park")
    on_a = open_socket(guest, deal, server_a)
    on_b = open_socket(guest, deal, server_b)
    colleagues_socket = open_socket(colleague, deal, server_a)
    try:
        replies = [
            reply_to((on_a, on_b)[n % 2], "message.post", {"body": f"Note {n}"})
            for n in range(ACTIONS + 2)
        ]
        # Another participant of the same side has an allowance of its own.
        colleagues_reply = reply_to(
            colleagues_socket, "message.post", {"body": "From Kim"}
        )
    finally:
        close_all(
            [on_a, on_b, colleagues_socket],
            [participant_of(token), participant_of(other_token)],
        )

    # Three through each process, then refused on both: one shared count.
    assert [r["type"] for r in replies] == ["ack"] * ACTIONS + ["error"] * 2
    assert [r["code"] for r in replies[ACTIONS:]] == ["rate_limited"] * 2
    assert "try again" in replies[-1]["message"]
    assert colleagues_reply["type"] == "ack"
    guest_messages = Message.objects.filter(author=participant_of(token))
    assert guest_messages.count() == ACTIONS
    assert Message.objects.filter(body="From Kim").count() == 1

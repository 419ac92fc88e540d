"""Edit-to-peer latency of the live room, over Redis, with several daphnes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
    python bench/room_latency.py [--servers 2] [--rooms 100] [--duration 60]
                                 [--interval 2] [--find-limit]

The database server of DATABASE_URL gets a dedicated database (``parley_bench``
unless ``--database`` says otherwise), dropped and created again each run, then
migrated and seeded with R rooms: a deal with its issues, the rep of the host
side and one guest of the counterpart side, each with a Django session made
the way logging in and joining through a share link make them.

N daphne processes serve it on free ports, all on the same PostgreSQL and
Redis. Each room gets two websockets (host and counterpart), spread round-robin
over the processes, so with two servers the sides of a room are on different
processes. Every socket posts a ``message.post`` frame every ``interval``
seconds (first one at a random offset), its body holding a unique id and the
send time, and a heartbeat (``ping``) every 25 s, as the browser does. The
latency of an edit is the time from sending it until the id first shows in an
``event`` frame of the *other* side's socket.

Prints one JSON object. ``ack_ms`` is the sender's view of the write alone
(frame sent until its ack); ``server_cpu_percent`` is each daphne's average
over the run (100 = one core) and ``machine`` the whole machine's CPU and
load, since on a small shared machine other work skews every figure. Edits
not seen by the peer within 5 s after the end are ``lost``; ``duplicated``
counts event frames a socket received again (a ``seq`` not above the previous
one) and message rows that appear twice in one frame. ``--find-limit`` runs
20 s rounds with 50, 100, 150, … rooms until p99 exceeds 100 ms (or anything
is lost) and reports the last room count that passed. Every daphne started
here is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BAR = {"p50_ms": 25.0, "p99_ms": 100.0}
GRACE_SECONDS = 5.0
HEARTBEAT_SECONDS = 25.0  # as static/js/room.js
CONNECT_CONCURRENCY = 20
ID_PATTERN = re.compile(r"bench-([0-9a-f]{16})")
MESSAGE_ROW = re.compile(r'id=\\?"message-(\d+)\\?"')


def fail(message: str) -> None:
    print(f"room_latency: {message}", file=sys.stderr)
    raise SystemExit(2)


# --- the database -----------------------------------------------------------------


def bench_database_url(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(database_url: str, name: str) -> None:
    """Drop and create ``name`` on the server of ``database_url``."""
    import psycopg
    from psycopg import sql

    admin_url = bench_database_url(database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database_url: str, secret_key: str) -> None:
    """Django in this process: the bench database, no channel layer of its own
    (seeding broadcasts to nobody; the daphnes get REDIS_URL explicitly), and
    the daphnes' SECRET_KEY, which signs the sessions and auth hashes made here."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["SECRET_KEY"] = secret_key
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("PARLEY_VAR_DIR", tempfile.mkdtemp(prefix="parley-bench-"))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@dataclass(frozen=True)
class SeededRoom:
    deal_id: int
    host_session: str
    guest_session: str


def seed_rooms(count: int, *, batch: str) -> list[SeededRoom]:
    """``count`` fresh rooms, each with a rep, a guest and their sessions."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection, transaction

    from negotiation.access import DealAccess, remember_guest
    from negotiation.models import Membership, Participant, Party
    from negotiation.services import deals as deal_services

    user_model = get_user_model()
    manager = user_model.objects.create(username=f"bench-manager-{batch}")
    team = deal_services.team_create(name=f"Bench team {batch}", founder=manager)
    reps = []
    for index in range(count):
        rep = user_model(
            username=f"bench-rep-{batch}-{index}", first_name=f"Rep{index}"
        )
        rep.set_unusable_password()
        reps.append(rep)
    reps = user_model.objects.bulk_create(reps)
    Membership.objects.bulk_create(
        [Membership(team=team, user=rep, role=Membership.Role.REP) for rep in reps]
    )
    rooms = []
    backend = "django.contrib.auth.backends.ModelBackend"
    for index, rep in enumerate(reps):
        with transaction.atomic():
            deal = deal_services.deal_create(
                owner=rep,
                team=team,
                title=f"Bench deal {batch}-{index}",
                counterpart_organisation=f"Counterpart {index}",
            )
            host = deal.parties.get(side=Party.Side.HOST)
            counterpart = deal.parties.get(side=Party.Side.COUNTERPART)
            access = DealAccess(
                deal=deal,
                host_party=host,
                counterpart_party=counterpart,
                party=host,
                participant=host.participants.get(user=rep),
                is_manager=False,
            )
            for name, unit in (
                ("Price", "EUR"),
                ("Term", "months"),
                ("Payment", "days"),
            ):
                deal_services.issue_add(access=access, name=name, unit=unit)
            guest = Participant.objects.create(
                party=counterpart, display_name=f"Guest {index}"
            )
        host_session = SessionStore()
        host_session[USER_SESSION_KEY] = str(rep.pk)
        host_session[BACKEND_SESSION_KEY] = backend
        host_session[HASH_SESSION_KEY] = rep.get_session_auth_hash()
        host_session.create()
        guest_session = SessionStore()
        remember_guest(guest_session, guest)
        guest_session.create()
        rooms.append(
            SeededRoom(deal.pk, host_session.session_key, guest_session.session_key)
        )
    connection.close()  # the daphnes need the connections, not this process
    return rooms


# --- the load ---------------------------------------------------------------------


@dataclass
class Sent:
    room: int
    side: int  # index of the sending socket within its room (0 host, 1 guest)
    at: float


@dataclass
class Stats:
    sent: dict[str, Sent] = field(default_factory=dict)
    received_at: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    duplicated: int = 0
    errors: Counter = field(default_factory=Counter)
    closed: int = 0


class RoomClient:
    """One websocket of one side of one room."""

    def __init__(self, url: str, origin: str, session_key: str, room: int, side: int):
        self.url = url
        self.origin = origin
        self.session_key = session_key
        self.room = room
        self.side = side
        self.connection = None
        self.last_seq = 0
        self.seen: set[str] = set()

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.connection = await connect(
            self.url,
            origin=self.origin,
            additional_headers={"Cookie": f"sessionid={self.session_key}"},
            compression=None,
            proxy=None,
            max_size=None,
            open_timeout=30,
        )
        hello = json.loads(await self.connection.recv())
        if hello.get("type") != "hello" or hello.get("side") is None:
            raise RuntimeError(f"no hello as a side of room {self.room}: {hello}")
        self.last_seq = hello["seq"]

    async def read(self, stats: Stats) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.connection:
                now = time.monotonic()
                if raw.startswith('{"type": "event"'):
                    self._on_event(raw, now, stats)
                elif raw.startswith('{"type": "ack"'):
                    stats.acked_at.setdefault(json.loads(raw)["client_msg_id"], now)
                elif raw.startswith('{"type": "error"'):
                    stats.errors[json.loads(raw).get("code")] += 1
        except ConnectionClosed:
            stats.closed += 1

    def _on_event(self, raw: str, now: float, stats: Stats) -> None:
        frame = json.loads(raw)
        seq = frame.get("seq", 0)
        if seq <= self.last_seq:
            stats.duplicated += 1
        self.last_seq = max(self.last_seq, seq)
        html = frame.get("html", "")
        rows = MESSAGE_ROW.findall(html)
        stats.duplicated += len(rows) - len(set(rows))
        for message_id in set(ID_PATTERN.findall(html)) - self.seen:
            self.seen.add(message_id)
            sent = stats.sent.get(message_id)
            if sent is not None and sent.room == self.room and sent.side != self.side:
                stats.received_at.setdefault(message_id, now)

    async def post_every(
        self, interval: float, until: float, stats: Stats, rng: random.Random
    ) -> None:
        await asyncio.sleep(rng.uniform(0, interval))
        while (now := time.monotonic()) < until:
            message_id = uuid.uuid4().hex[:16]
            body = f"bench-{message_id} sent {time.time():.6f}"
            frame = json.dumps(
                {
                    "action": "message.post",
                    "client_msg_id": message_id,
                    "data": {"body": body},
                }
            )
            stats.sent[message_id] = Sent(self.room, self.side, time.monotonic())
            await self.connection.send(frame)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - now)))

    async def ping_every(self, until: float, rng: random.Random) -> None:
        """The room's heartbeat, as the browser sends it (``room.js``)."""
        await asyncio.sleep(rng.uniform(0, HEARTBEAT_SECONDS))
        while time.monotonic() < until:
            await self.connection.send('{"action": "ping"}')
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a round: the round was cut short."""


async def drive(
    servers, rooms: list[SeededRoom], *, duration: float, interval: float, seed: int
) -> dict[str, Any]:
    """Run one round; on SIGINT/SIGTERM close every socket, then raise
    ``Interrupted`` (the caller stops the servers)."""
    loop = asyncio.get_running_loop()
    round_task = asyncio.ensure_future(
        _drive(servers, rooms, duration=duration, interval=interval, seed=seed)
    )
    interrupted = []

    def interrupt() -> None:
        interrupted.append(True)
        round_task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt)
    try:
        return await round_task
    except asyncio.CancelledError:
        if interrupted:
            raise Interrupted from None
        raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _drive(
    servers, rooms: list[SeededRoom], *, duration: float, interval: float, seed: int
) -> dict[str, Any]:
    import psutil

    clients: list[RoomClient] = []
    for room_index, room in enumerate(rooms):
        for side, session in enumerate((room.host_session, room.guest_session)):
            server = servers[len(clients) % len(servers)]
            clients.append(
                RoomClient(
                    server.ws_url(f"/ws/room/{room.deal_id}/"),
                    server.base_url,
                    session,
                    room_index,
                    side,
                )
            )
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(client: RoomClient) -> None:
        async with limit:
            await client.connect()

    stats = Stats()
    readers: list[asyncio.Task] = []
    try:
        await asyncio.gather(*(connect(c) for c in clients))
        readers = [asyncio.create_task(c.read(stats)) for c in clients]
        await asyncio.sleep(2.0)  # let the presence broadcasts of joining settle
        processes = [psutil.Process(s.process.pid) for s in servers]
        me = psutil.Process()
        for process in [*processes, me]:
            process.cpu_percent(None)
        psutil.cpu_percent(None)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        until = started + duration
        rng = random.Random(seed)
        await asyncio.gather(
            *(c.post_every(interval, until, stats, rng) for c in clients),
            *(c.ping_every(until, rng) for c in clients),
        )
        cpu = [round(p.cpu_percent(None), 1) for p in processes]
        client_cpu = round(me.cpu_percent(None), 1)
        machine = {
            "cpus": psutil.cpu_count(),
            # The whole machine, 0-100 %: the servers, this client, PostgreSQL,
            # Redis and anything else running here at the time.
            "system_cpu_percent": round(psutil.cpu_percent(None), 1),
            "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and len(stats.received_at) < len(stats.sent):
            await asyncio.sleep(0.1)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    latencies = [
        (stats.received_at[i] - sent.at) * 1000
        for i, sent in stats.sent.items()
        if i in stats.received_at
    ]
    acks = [
        (stats.acked_at[i] - sent.at) * 1000
        for i, sent in stats.sent.items()
        if i in stats.acked_at
    ]
    return {
        "servers": len(servers),
        "rooms": len(rooms),
        "sockets": len(clients),
        "duration_s": duration,
        "interval_s": interval,
        "edits_sent": len(stats.sent),
        "edits_received": len(stats.received_at),
        "lost": len(stats.sent) - len(stats.received_at),
        "duplicated": stats.duplicated,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "p99.9": round(percentile(latencies, 0.999), 1),
            "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        # Sender's view of the write alone: frame sent until its ack arrived.
        "ack_ms": {
            "p50": round(percentile(acks, 0.50), 1),
            "p99": round(percentile(acks, 0.99), 1),
        },
        "server_cpu_percent": cpu,
        "client_cpu_percent": client_cpu,
        "machine": machine,
        "errors": sum(stats.errors.values()),
        "error_codes": dict(stats.errors),
        "sockets_closed_early": stats.closed,
    }


def passes(result: dict[str, Any]) -> bool:
    latency = result["latency_ms"]
    return (
        result["lost"] == 0
        and result["duplicated"] == 0
        and latency["p50"] <= BAR["p50_ms"]
        and latency["p99"] <= BAR["p99_ms"]
    )


def run_round(
    args, redis_url: str, database_url: str, rooms: int, duration: float, batch: str
) -> dict[str, Any]:
    from tests.live_server import running_servers

    seeded = seed_rooms(rooms, batch=batch)
    env = {
        "REDIS_URL": redis_url,
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": str(args.pool_max),
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    log_dir = Path(tempfile.mkdtemp(prefix="parley-bench-logs-"))
    with running_servers(
        args.servers, database_url=database_url, log_dir=log_dir, env=env
    ) as servers:
        result = asyncio.run(
            drive(
                servers,
                seeded,
                duration=duration,
                interval=args.interval,
                seed=args.seed,
            )
        )
        errors_logged = sum(s.log().count("Traceback") for s in servers)
    result["server_tracebacks"] = errors_logged
    result["logs"] = str(log_dir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--find-limit", action="store_true")
    parser.add_argument("--round-duration", type=float, default=20.0)
    parser.add_argument("--step", type=int, default=50)
    parser.add_argument("--max-rooms", type=int, default=1000)
    parser.add_argument("--database", default="parley_bench")
    parser.add_argument("--pool-max", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        fail("set DATABASE_URL=postgres://… (the bench needs PostgreSQL)")
    if not redis_url.startswith(("redis://", "rediss://")):
        fail("set REDIS_URL=redis://… (the bench needs Redis)")

    # SIGTERM unwinds like Ctrl-C, so the daphnes are stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench_url = bench_database_url(database_url, args.database)
    recreate_database(database_url, args.database)
    setup_django(bench_url, secrets.token_urlsafe(50))
    migrate()

    try:
        if not args.find_limit:
            result = run_round(
                args, redis_url, bench_url, args.rooms, args.duration, batch="run"
            )
            result["bar_met"] = passes(result)
            print(json.dumps(result))
            return 0
        return find_limit(args, redis_url, bench_url)
    except (Interrupted, KeyboardInterrupt):
        print("room_latency: interrupted; every server was stopped", file=sys.stderr)
        return 130


def find_limit(args, redis_url: str, bench_url: str) -> int:
    """Rounds of ``--step`` more rooms each, until p99 > 100 ms or a loss."""
    rounds = []
    limit = None
    rooms = args.step
    while rooms <= args.max_rooms:
        result = run_round(
            args, redis_url, bench_url, rooms, args.round_duration, batch=f"r{rooms}"
        )
        rounds.append(result)
        print(json.dumps(result), file=sys.stderr)
        if result["latency_ms"]["p99"] > BAR["p99_ms"] or result["lost"]:
            break
        limit = rooms
        rooms += args.step
    print(
        json.dumps(
            {
                "mode": "find-limit",
                "servers": args.servers,
                "interval_s": args.interval,
                "round_duration_s": args.round_duration,
                "limit_rooms": limit,
                "rounds": [
                    {
                        "rooms": r["rooms"],
                        "edits_sent": r["edits_sent"],
                        "lost": r["lost"],
                        "duplicated": r["duplicated"],
                        "latency_ms": r["latency_ms"],
                        "server_cpu_percent": r["server_cpu_percent"],
                        "machine": r["machine"],
                        "errors": r["errors"],
                    }
                    for r in rounds
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

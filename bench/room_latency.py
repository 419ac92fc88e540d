"""Edit-to-peer latency of the live room, over Redis, with several daphnes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python bench/room_latency.py [--mix realistic|messages]
        [--history N] [--servers 2] [--rooms 100] [--duration 60]
        [--interval 2] [--find-limit [--step 50] [--max-rooms 1000]]

The database server of DATABASE_URL gets a dedicated database (``parley_bench``
unless ``--database`` says otherwise), dropped and created again each run, then
migrated and seeded with R rooms in Midgame: a deal with three issues, the rep
of the host side and one guest of the counterpart side, each with a Django
session made the way logging in and joining through a share link make them.
``--history N`` then gives every room N prior events of the realistic mix,
written in-process through the room's own entry point (``room.actions.perform``:
form, guard, service), so the log, the objects and their versions are real;
the seeding time goes to stderr, not into the figures.

N daphne processes (``tests/live_server.py``, the harness the live tests use)
serve it on free ports, all on the same PostgreSQL and Redis. Each room gets
two websockets (host and counterpart), spread round-robin over the processes,
so with two servers the sides of a room are on different processes. Each
socket first asks for the room as it stands (``sync``, as the page does on
load), then sends an edit every ``interval`` seconds (first one at a random
offset) and a heartbeat every 25 s, as the browser does.

``--mix realistic`` (the default) sends the room's real actions
(``bench/room_mix.py``): about 35 % messages, 25 % trade proposals and
counters, 10 % accepts and declines of the other side's open trades, 10 %
position updates, 10 % concessions, 5 % MESO sets and 5 % term edits. The
rooms sit in Midgame, where commitments are not allowed yet, so the last 5 %
are term edits only. Each edit is built as the browser builds it, from the
HTML its socket received: the trades it may answer and the versions it must
name (each object's ``data-version``, else its form's hidden ``version``).
``--mix messages`` sends discussion messages only (the bench's first form).

The latency of an edit is the time from sending it until the other side's
socket receives the event frame whose seqs (``seq`` and its ``kinds``) cover
the edit's ``seq`` from the sender's ack. That frame must show the edit (its
``bench-…`` nonce, or the accepted trade's row), else it counts as
``not_shown``. Acknowledged edits that never reach the other side within 5 s
of the end are ``lost``; ``duplicated`` counts seqs a socket was brought
twice (and message rows shown twice in one frame); ``errors`` are refusals
other than ``stale_version`` plus protocol errors (a frame the protocol does
not have, a socket closed under the client, an edit with no reply at all).
A ``stale_version`` refusal is a conflict a user sees too: it counts as
``conflicts``, and the socket carries on with the version its next frame
brings.

Prints one JSON object: latency p50/p95/p99/p99.9 and p50/p99 by third of
the run, the counts, ``ack_ms`` (the sender's view of the write alone),
``server_cpu_ms_per_edit`` (CPU of the daphnes over the run per acknowledged
edit), each daphne's CPU and the whole machine's, since on a small shared
machine other work skews every figure, and ``bar_met``. The bar: p50 ≤ 25 ms,
p99 ≤ 100 ms, nothing lost, duplicated, refused in error or not shown.

``--find-limit`` runs ``--round-duration`` (20 s) rounds with 50, 100, 150, …
rooms (``--step``) until a round misses the bar, and reports the last room
count that met it. Each round reuses the rooms of the rounds before and seeds
only the new ones (with the same ``--mix`` and ``--history``). Every daphne
started here is stopped on exit, Ctrl-C included.

``--scoring`` gives both sides of every room a private scoring after seeding,
so every socket renders its own side's live scores.

``--reuse-seed`` keeps the seeded database as a PostgreSQL template (named
after the rooms, the history, the seed and a digest of the migrations and the
seeding code), and a later run with the same figures copies it instead of
seeding again: seeding 100 rooms of 500 events takes minutes, the copy
seconds. The copy is the same data, so runs compared this way start alike.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
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
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.room_mix import MIXES, DatabaseView, Edit, RoomView, next_action  # noqa: E402

BAR = {"p50_ms": 25.0, "p99_ms": 100.0}
GRACE_SECONDS = 5.0
HEARTBEAT_SECONDS = 25.0  # as static/js/room.js
CONNECT_CONCURRENCY = 20
MESSAGE_ROW = re.compile(r'id="message-(\d+)"')


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


def seed_template_name(args: argparse.Namespace) -> str:
    """The template a seeded database is kept as: its figures, and a digest
    of what made it (the migrations and the seeding code)."""
    digest = hashlib.sha256()
    sources = [
        *sorted(REPO.glob("*/migrations/*.py")),
        REPO / "bench" / "room_mix.py",
        Path(__file__).resolve(),
    ]
    for source in sources:
        digest.update(source.read_bytes())
    return (
        f"{args.database}_seed_r{args.rooms}_h{args.history}_s{args.seed}"
        f"_{digest.hexdigest()[:10]}"
    )


def copy_seed(database_url: str, template: str, name: str) -> dict | None:
    """``name`` made afresh as a copy of ``template``; returns what the seeding
    run left in the template's comment (its secret key and rooms), or None
    when there is no such template."""
    import psycopg
    from psycopg import sql

    admin_url = bench_database_url(database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname = %s",
            [template],
        ).fetchone()
        if row is None or not row[0]:
            return None
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return json.loads(row[0])


def keep_seed(
    database_url: str, name: str, template: str, secret_key: str, rooms: list
) -> None:
    """Keep the freshly seeded ``name`` as ``template`` for later runs."""
    import psycopg
    from psycopg import sql

    admin_url = bench_database_url(database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(template)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(template), sql.Identifier(name)
            )
        )
        comment = json.dumps(
            {"secret_key": secret_key, "rooms": [astuple(room) for room in rooms]}
        )
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(template), sql.Literal(comment)
            )
        )


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
    issue_ids: tuple[int, ...]


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
    from negotiation.models import Deal, Membership, Participant, Party
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
            issues = [
                deal_services.issue_add(access=access, name=name, unit=unit)
                for name, unit in (
                    ("Price", "EUR"),
                    ("Term", "months"),
                    ("Payment", "days"),
                )
            ]
            guest = Participant.objects.create(
                party=counterpart, display_name=f"Guest {index}"
            )
            # Trades, packages, concessions and terms are Midgame's tools.
            Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
        host_session = SessionStore()
        host_session[USER_SESSION_KEY] = str(rep.pk)
        host_session[BACKEND_SESSION_KEY] = backend
        host_session[HASH_SESSION_KEY] = rep.get_session_auth_hash()
        host_session.create()
        guest_session = SessionStore()
        remember_guest(guest_session, guest)
        guest_session.create()
        rooms.append(
            SeededRoom(
                deal.pk,
                host_session.session_key,
                guest_session.session_key,
                tuple(issue.pk for issue in issues),
            )
        )
    connection.close()  # the daphnes need the connections, not this process
    return rooms


def seed_history(rooms: list[SeededRoom], events: int, *, seed: int) -> float:
    """Give every room ``events`` prior events of the realistic mix; returns
    the seconds it took.

    Each edit goes through ``room.actions.perform`` (the form, the
    over-sharing guard, the service), so the log, the objects and their
    versions are real; both sides take turns, each building its edits from
    the database as its page would show it. A room's history is written in
    one transaction, and its broadcasts go nowhere (nobody is connected yet).
    The coach's detectors, which run after a socket's ack, do not run here.
    """
    from django.db import connection, transaction

    from negotiation.services.base import delivered_by
    from room.actions import ActionRefused, perform

    started = time.monotonic()
    rng = random.Random(seed)
    refused: Counter[str] = Counter()
    for index, room in enumerate(rooms):
        sides = [
            (access, DatabaseView(room.deal_id, access.party.pk))
            for access in side_accesses(room.deal_id)
        ]
        with transaction.atomic(), delivered_by(lambda group, message: None):
            for n in range(events):
                access, view = sides[n % 2]
                nonce = f"history-{index}-{n}"
                edit = next_action("realistic", view, room.issue_ids, rng, nonce)
                try:
                    perform(access, edit.action, edit.data, nonce)
                except ActionRefused as refusal:
                    refused[f"{edit.action}: {refusal.code}"] += 1
    connection.close()
    if refused:
        print(f"room_latency: history edits refused: {dict(refused)}", file=sys.stderr)
    return time.monotonic() - started


def side_accesses(deal_id: int) -> list:
    """The host's and the guest's ``DealAccess`` to a seeded room, as their
    own sockets would hold them."""
    from negotiation.access import DealAccess
    from negotiation.models import Deal, Participant, Party

    deal = Deal.objects.get(pk=deal_id)
    parties = {p.side: p for p in deal.parties.all()}
    return [
        DealAccess(
            deal=deal,
            host_party=parties[Party.Side.HOST],
            counterpart_party=parties[Party.Side.COUNTERPART],
            party=parties[side],
            participant=Participant.objects.filter(party=parties[side])
            .order_by("pk")
            .first(),
            is_manager=False,
        )
        for side in (Party.Side.HOST, Party.Side.COUNTERPART)
    ]


def give_scorings(rooms: list[SeededRoom]) -> None:
    """A private scoring for both sides of every room (every issue weighed,
    worth 0 at 0 and 100 at 100, a reservation score), so each socket's
    renders carry its own side's scores: the cost ``--scoring`` measures."""
    from decimal import Decimal

    from django.db import connection

    from negotiation.services.preparation import IssueScoreInput, scoring_save

    points = [(Decimal(0), 0), (Decimal(100), 100)]
    weights = (40, 30, 30)
    for room in rooms:
        for access in side_accesses(room.deal_id):
            scoring_save(
                access=access,
                version=None,
                reservation_score=Decimal(50),
                issues={
                    issue_id: IssueScoreInput(weight, points=points)
                    for issue_id, weight in zip(room.issue_ids, weights, strict=True)
                },
            )
    connection.close()


# --- the load ---------------------------------------------------------------------


@dataclass
class Sent:
    room: int
    side: int  # index of the sending socket within its room (0 host, 1 guest)
    at: float
    action: str
    # What must show in the other side's frame: the edit's nonce, or the id
    # of the object it changed (an accepted trade's row).
    shows: str


@dataclass
class Frame:
    """An event frame as one socket received it: the seqs it brought."""

    first: int
    seq: int
    at: float
    html: str


@dataclass
class Stats:
    sent: dict[str, Sent] = field(default_factory=dict)
    acked: dict[str, tuple[float, int]] = field(default_factory=dict)  # at, seq
    duplicated: int = 0
    conflicts: int = 0
    refused: set[str] = field(default_factory=set)  # client_msg_ids
    # Refusals other than stale_version, by code, and protocol errors
    # (``protocol:…``): frames the protocol does not have, sockets closed
    # under the client, edits that got no reply at all.
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)

    def error(self, code: str, example: str) -> None:
        self.errors[code] += 1
        if len(self.error_examples) < 5:
            self.error_examples.append(example)


# The frames a room socket may receive (room/consumers.py).
FRAME_TYPES = {"hello", "event", "sync", "ack", "error", "presence", "coach"}


class RoomClient:
    """One websocket of one side of one room, and what its page knows."""

    def __init__(
        self,
        url: str,
        origin: str,
        session_key: str,
        room: int,
        side: int,
        issue_ids: tuple[int, ...],
    ):
        self.url = url
        self.origin = origin
        self.session_key = session_key
        self.room = room
        self.side = side
        self.issue_ids = issue_ids
        self.connection = None
        self.last_seq = 0
        self.synced_seq = 0  # what the first ``sync`` brought
        self.seqs: set[int] = set()  # what event frames brought since
        self.frames: list[Frame] = []
        self.view = RoomView()
        self.synced = asyncio.Event()

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
        self.view.side = hello["side"]
        # What the browser does on load: ask for the room as it stands.
        await self.connection.send(json.dumps({"action": "sync", "since": -1}))

    async def read(self, stats: Stats) -> None:
        from websockets.exceptions import ConnectionClosedError

        try:
            async for raw in self.connection:
                self.on_frame(raw, time.monotonic(), stats)
        except ConnectionClosedError as closed:
            stats.error("protocol:socket_closed", f"room {self.room}: {closed}")

    def on_frame(self, raw: str | bytes, now: float, stats: Stats) -> None:
        """Take in one frame received at ``now``."""
        try:
            frame = json.loads(raw)
            kind = frame["type"]
        except (ValueError, TypeError, KeyError):
            stats.error("protocol:bad_frame", f"room {self.room}: {raw[:200]!r}")
            return
        if kind == "event":
            self.on_event(frame, now, stats)
        elif kind == "ack":
            client_msg_id = frame.get("client_msg_id")
            if client_msg_id not in stats.sent:
                stats.error("protocol:unknown_ack", f"room {self.room}: {frame}")
            stats.acked.setdefault(client_msg_id, (now, frame["seq"]))
        elif kind == "sync":
            self.view.read(frame.get("html", ""))
            self.synced_seq = max(self.synced_seq, frame.get("seq", 0))
            self.last_seq = max(self.last_seq, self.synced_seq)
            self.synced.set()
        elif kind == "error":
            code = frame.get("code")
            client_msg_id = frame.get("client_msg_id") or ""
            sent = stats.sent.get(client_msg_id)
            if sent is not None:
                stats.refused.add(client_msg_id)
            if code == "stale_version":
                # A conflict, as a user would see it: the next frame that
                # shows the object brings its current version.
                stats.conflicts += 1
            else:
                action = sent.action if sent else "?"
                stats.error(str(code), f"{action}: {code}: {frame.get('message')}")
        elif kind not in FRAME_TYPES:
            stats.error(f"protocol:{kind}", f"room {self.room}: {str(frame)[:200]}")

    def on_event(self, frame: dict[str, Any], now: float, stats: Stats) -> None:
        """An event frame brings the events ``(seq - len(kinds), seq]``; any
        of them this socket had already received is a duplicate, and so is a
        message row shown twice in one frame."""
        seq = frame.get("seq", 0)
        html = frame.get("html", "")
        kinds = frame.get("kinds") or ()
        first = seq - len(kinds) + 1 if kinds else self.last_seq + 1
        for brought in range(first, seq + 1):
            if brought <= self.synced_seq or brought in self.seqs:
                stats.duplicated += 1
            self.seqs.add(brought)
        rows = MESSAGE_ROW.findall(html)
        stats.duplicated += len(rows) - len(set(rows))
        self.frames.append(Frame(first, seq, now, html))
        self.last_seq = max(self.last_seq, seq)
        self.view.read(html)

    def next_edit(self, mix: str, rng: random.Random) -> tuple[str, Edit]:
        """The next edit, as a browser builds it from its page, and its nonce
        (also its ``client_msg_id``)."""
        nonce = f"bench-{uuid.uuid4().hex[:16]}"
        return nonce, next_action(mix, self.view, self.issue_ids, rng, nonce)

    async def act_every(
        self, interval: float, until: float, stats: Stats, rng: random.Random, mix: str
    ) -> None:
        await asyncio.sleep(rng.uniform(0, interval))
        while (now := time.monotonic()) < until:
            nonce, edit = self.next_edit(mix, rng)
            frame = json.dumps(
                {"action": edit.action, "client_msg_id": nonce, "data": edit.data}
            )
            stats.sent[nonce] = Sent(
                self.room, self.side, time.monotonic(), edit.action, edit.shows
            )
            await self.connection.send(frame)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - now)))

    async def ping_every(self, until: float, rng: random.Random) -> None:
        """The room's heartbeat, as the browser sends it (``room.js``); it
        stops with the run, so the run's CPU figures cover the run only."""

        def left() -> float:
            return max(0.0, until - time.monotonic())

        await asyncio.sleep(min(rng.uniform(0, HEARTBEAT_SECONDS), left()))
        while time.monotonic() < until:
            await self.connection.send('{"action": "ping"}')
            await asyncio.sleep(min(HEARTBEAT_SECONDS, left()))

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    def arrival(self, seq: int) -> Frame | None:
        """The first frame that brought ``seq`` to this socket."""
        for frame in self.frames:
            if frame.first <= seq <= frame.seq:
                return frame
        return None


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a round: the round was cut short."""


async def drive(
    servers,
    rooms: list[SeededRoom],
    *,
    duration: float,
    interval: float,
    seed: int,
    mix: str,
) -> dict[str, Any]:
    """Run one round; on SIGINT/SIGTERM close every socket, then raise
    ``Interrupted`` (the caller stops the servers)."""
    loop = asyncio.get_running_loop()
    round_task = asyncio.ensure_future(
        _drive(servers, rooms, duration=duration, interval=interval, seed=seed, mix=mix)
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


def _cpu_seconds(processes) -> float:
    total = 0.0
    for process in processes:
        times = process.cpu_times()
        total += times.user + times.system
    return total


async def _drive(
    servers,
    rooms: list[SeededRoom],
    *,
    duration: float,
    interval: float,
    seed: int,
    mix: str,
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
                    room.issue_ids,
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
        await asyncio.wait_for(
            asyncio.gather(*(c.synced.wait() for c in clients)), timeout=120
        )
        await asyncio.sleep(2.0)  # let the presence broadcasts of joining settle
        processes = [psutil.Process(s.process.pid) for s in servers]
        me = psutil.Process()
        for process in [*processes, me]:
            process.cpu_percent(None)
        psutil.cpu_percent(None)
        cpu_before = _cpu_seconds(processes)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        until = started + duration
        rng = random.Random(seed)
        await asyncio.gather(
            *(c.act_every(interval, until, stats, rng, mix) for c in clients),
            *(c.ping_every(until, rng) for c in clients),
        )
        cpu = [round(p.cpu_percent(None), 1) for p in processes]
        cpu_used = _cpu_seconds(processes) - cpu_before
        client_cpu = round(me.cpu_percent(None), 1)
        machine = {
            "cpus": psutil.cpu_count(),
            # The whole machine, 0-100 %: the servers, this client, PostgreSQL,
            # Redis and anything else running here at the time.
            "system_cpu_percent": round(psutil.cpu_percent(None), 1),
            "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and not _all_arrived(clients, stats):
            await asyncio.sleep(0.2)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    for client_msg_id, sent in stats.sent.items():
        if client_msg_id not in stats.acked and client_msg_id not in stats.refused:
            stats.error("protocol:no_reply", f"{sent.action}: neither ack nor error")
    latencies: list[tuple[float, float]] = []  # (sent at, ms)
    lost = not_shown = 0
    for client_msg_id, (_, seq) in stats.acked.items():
        sent = stats.sent.get(client_msg_id)
        if sent is None:
            continue
        peer = clients[2 * sent.room + (1 - sent.side)]
        frame = peer.arrival(seq)
        if frame is None:
            lost += 1
            continue
        if sent.shows not in frame.html:
            not_shown += 1
        latencies.append((sent.at, (frame.at - sent.at) * 1000))
    acks = [
        (stats.acked[i][0] - sent.at) * 1000
        for i, sent in stats.sent.items()
        if i in stats.acked
    ]
    by_third = []
    for third in range(3):
        low = started + duration * third / 3
        high = started + duration * (third + 1) / 3
        values = [ms for at, ms in latencies if low <= at < high]
        by_third.append(
            {
                "p50": round(percentile(values, 0.50), 1),
                "p99": round(percentile(values, 0.99), 1),
                "edits": len(values),
            }
        )
    values = [ms for _, ms in latencies]
    return {
        "servers": len(servers),
        "rooms": len(rooms),
        "sockets": len(clients),
        "mix": mix,
        "duration_s": duration,
        "interval_s": interval,
        "edits_sent": len(stats.sent),
        "edits_acked": len(stats.acked),
        "edits_delivered": len(latencies),
        "actions": dict(Counter(s.action for s in stats.sent.values())),
        "lost": lost,
        "duplicated": stats.duplicated,
        # Delivered, but the edit did not show in the frame that brought it.
        "not_shown": not_shown,
        "latency_ms": {
            "p50": round(percentile(values, 0.50), 1),
            "p95": round(percentile(values, 0.95), 1),
            "p99": round(percentile(values, 0.99), 1),
            "p99.9": round(percentile(values, 0.999), 1),
            "max": round(max(values), 1) if values else None,
            "mean": round(statistics.fmean(values), 1) if values else None,
        },
        "latency_by_third_ms": by_third,
        # Sender's view of the write alone: frame sent until its ack arrived.
        "ack_ms": {
            "p50": round(percentile(acks, 0.50), 1),
            "p99": round(percentile(acks, 0.99), 1),
        },
        # CPU the daphne processes spent per acknowledged edit (both sides'
        # sockets: the sender's action and render, the peer's render).
        "server_cpu_ms_per_edit": round(cpu_used * 1000 / max(1, len(stats.acked)), 2),
        "server_cpu_percent": cpu,
        "client_cpu_percent": client_cpu,
        "machine": machine,
        "errors": sum(stats.errors.values()),
        "error_codes": dict(stats.errors),
        "error_examples": stats.error_examples,
        # Edits refused as stale (both sides edited the same term at once):
        # what a user sees as a conflict, not a fault.
        "conflicts": stats.conflicts,
    }


def _all_arrived(clients: list[RoomClient], stats: Stats) -> bool:
    for client_msg_id, (_, seq) in stats.acked.items():
        sent = stats.sent.get(client_msg_id)
        if sent and clients[2 * sent.room + (1 - sent.side)].last_seq < seq:
            return False
    return len(stats.acked) + len(stats.refused) >= len(stats.sent)


def passes(result: dict[str, Any]) -> bool:
    latency = result["latency_ms"]
    return (
        result["lost"] == 0
        and result["duplicated"] == 0
        and result["errors"] == 0
        and result["not_shown"] == 0
        and latency["p50"] <= BAR["p50_ms"]
        and latency["p99"] <= BAR["p99_ms"]
    )


def grow(rooms: list[SeededRoom], count: int, args: argparse.Namespace) -> None:
    """Seed rooms (and their history) until there are ``count``."""
    if len(rooms) >= count:
        return
    started = time.monotonic()
    new = seed_rooms(count - len(rooms), batch=f"b{len(rooms)}")
    print(
        f"room_latency: seeded {len(new)} rooms in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    if args.history:
        seconds = seed_history(new, args.history, seed=args.seed + len(rooms))
        events = len(new) * args.history
        print(
            f"room_latency: seeded {args.history} events in each of {len(new)}"
            f" rooms in {seconds:.1f} s ({seconds * 1000 / events:.2f} ms an event)",
            file=sys.stderr,
        )
    rooms.extend(new)


def run_round(
    args: argparse.Namespace,
    redis_url: str,
    database_url: str,
    rooms: list[SeededRoom],
    duration: float,
) -> dict[str, Any]:
    """One timed run over ``rooms`` on freshly started daphnes."""
    from tests.live_server import running_servers

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
                rooms,
                duration=duration,
                interval=args.interval,
                seed=args.seed,
                mix=args.mix,
            )
        )
        errors_logged = sum(s.log().count("Traceback") for s in servers)
    result["history"] = args.history
    result["scoring"] = args.scoring
    result["bar"] = {**BAR, "lost": 0, "duplicated": 0, "errors": 0, "not_shown": 0}
    result["bar_met"] = passes(result)
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
    parser.add_argument(
        "--scoring",
        action="store_true",
        help="both sides of every room have a private scoring (live scores)",
    )
    parser.add_argument(
        "--reuse-seed",
        action="store_true",
        help="keep the seeded database as a template and copy it in later runs",
    )
    parser.add_argument(
        "--mix",
        choices=sorted(MIXES),
        default="realistic",
        help="what each socket sends (default: realistic; messages: chat only)",
    )
    parser.add_argument(
        "--history", type=int, default=0, help="prior events in every room"
    )
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
    template = seed_template_name(args)
    kept = None
    if args.reuse_seed and not args.find_limit:
        kept = copy_seed(database_url, template, args.database)
    if kept is None:
        recreate_database(database_url, args.database)
        secret_key = secrets.token_urlsafe(50)
    else:
        secret_key = kept["secret_key"]
        print(f"room_latency: copied the seeded rooms of {template}", file=sys.stderr)
    setup_django(bench_url, secret_key)
    if kept is None:
        migrate()

    rooms: list[SeededRoom] = []
    if kept is not None:
        rooms = [
            SeededRoom(deal, host, guest, tuple(issues))
            for deal, host, guest, issues in kept["rooms"]
        ]
    try:
        if not args.find_limit:
            if kept is None:
                grow(rooms, args.rooms, args)
                if args.reuse_seed:
                    from django.db import connections

                    # Not only closed: the pool's connections too, as a
                    # template must have no session open on it.
                    for conn in connections.all():
                        conn.close()
                        if hasattr(conn, "close_pool"):
                            conn.close_pool()
                    keep_seed(database_url, args.database, template, secret_key, rooms)
            if args.scoring:
                give_scorings(rooms)
            result = run_round(args, redis_url, bench_url, rooms, args.duration)
            print(json.dumps(result))
            return 0
        return find_limit(args, redis_url, bench_url, rooms)
    except (Interrupted, KeyboardInterrupt):
        print("room_latency: interrupted; every server was stopped", file=sys.stderr)
        return 130


ROUND_FIGURES = (
    "rooms",
    "edits_sent",
    "edits_acked",
    "lost",
    "duplicated",
    "not_shown",
    "errors",
    "conflicts",
    "latency_ms",
    "server_cpu_ms_per_edit",
    "server_cpu_percent",
    "machine",
    "bar_met",
)


def find_limit(
    args: argparse.Namespace,
    redis_url: str,
    bench_url: str,
    rooms: list[SeededRoom],
) -> int:
    """Rounds of ``--step`` more rooms each, until one misses the bar; each
    round's full result goes to stderr as it ends."""
    rounds = []
    limit = None
    count = args.step
    while count <= args.max_rooms:
        grow(rooms, count, args)
        result = run_round(args, redis_url, bench_url, rooms, args.round_duration)
        rounds.append(result)
        print(json.dumps(result), file=sys.stderr)
        if not result["bar_met"]:
            break
        limit = count
        count += args.step
    print(
        json.dumps(
            {
                "mode": "find-limit",
                "mix": args.mix,
                "history": args.history,
                "servers": args.servers,
                "interval_s": args.interval,
                "round_duration_s": args.round_duration,
                "limit_rooms": limit,
                "rounds": [{k: r[k] for k in ROUND_FIGURES} for r in rounds],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The live room under faults: daphnes killed, Redis and PostgreSQL restarted,
clients cut off, while both sides of every room edit.

    .venv/bin/python bench/faults.py [--rooms 50] [--duration 300]
        [--servers 3] [--interval 2] [--seed 1]
    .venv/bin/python bench/faults.py --idle-sockets 1000

Everything runs on loopback, on services of the bench's own (so restarting
them disturbs nobody): a PostgreSQL cluster made with ``initdb`` in a
temporary folder (run as the ``postgres`` user when the bench runs as root),
a ``redis-server`` with no persistence, ``--servers`` daphne processes
(``tests/live_server.py``, as deployed through ``config.serve``) and, in front
of them, a small TCP proxy (``--proxy`` mode of this file, in a process of
its own) that hands each new connection to the next daphne that accepts it.

``--rooms`` rooms are seeded in Midgame (``bench/room_latency.py``), each with
the host's rep and a guest; both sides' sockets go through the proxy and send
the realistic mix (``bench/room_mix.py``) every ``--interval`` seconds, built
from what their pages show, plus the heartbeat. Faults, at fixed fractions of
``--duration`` (for 300 s: the second each happens):

- ``kill -9`` of one daphne at 30, 90, 150, 210 and 270 s (each in turn),
  started again on its port 3 s later;
- Redis stopped at 75 s and started 4 s later;
- PostgreSQL stopped (fast mode) at 135 s and started 3 s later;
- 10 % of the sockets cut at 195 s: the proxy drops their bytes both ways
  for 5 s, then resets both connections (no close handshake on either side).

A client whose socket closes does what ``static/js/room.js`` does: it waits
any time within 0.5 s before its first attempt, then ``min(15 s, 0.25 s ×
2^attempts)`` (× 0.75–1.25) before each next one, and connects again, then
sends ``sync`` from the last seq it has, and takes the whole room the
``sync`` frame brings. An edit that got neither an ack nor an error before
the close is sent again after the resync with the same ``client_msg_id``
(the server applies an id once: a replayed ack if it had been applied).

Figures (one JSON object on stdout):

- ``edits``: sent, acknowledged, refused (by code), and acknowledged edits
  found in the event log (``in_log``; by ``client_msg_id``);
- ``seen_after_resync``: per side, the acknowledged edits (of both sides)
  that side's page has, from an event frame or a ``sync`` frame covering the
  edit's seq, after the final resync of every socket at the end: once the
  edits are answered (at most 60 s), a ``sync`` from nothing, as a reload
  does, then, once the edits answered meanwhile are in (at most 20 s), a
  ``sync`` from the page's last seq;
- ``lost``: acknowledged but missing from the log, or never reaching one of
  the sides after the final resync; ``unconfirmed_without_resync``: missing
  from a side neither of whose final syncs answered within 20 s (neither lost
  nor shown to be there; the bar needs none, and every resync answered);
  ``refused_but_applied``: refused yet in the log; ``duplicated``: a
  ``client_msg_id`` twice in the log, or a seq brought twice to a socket by
  event frames;
- ``stale_silently_applied``: two applied edits of the same object (a term,
  a side's position, an answer to a trade) that named the same version: the
  second overwrote what its sender had not seen;
- ``catch_up_s``: per reconnect, from the socket's close until the ``sync``
  frame of its next connection arrived (backoff included), p50/p95/max, all
  and by fault; and its ``phases``: waiting before the attempt that worked,
  that attempt's connect until ``hello``, and ``hello`` until the ``sync``
  frame;
- ``pg_outage``: the edits sent while PostgreSQL was down, how many were
  refused with ``try_again``, how many acknowledged in the end (the pool
  holds an edit up to its 10 s timeout, so one sent in a 3 s outage is
  committed once PostgreSQL is back, then acknowledged), how many
  acknowledged before PostgreSQL was started again, and how many
  acknowledged but missing from the log (the bar: none of these two);
- ``errors_shown``: every error frame a user would see, by code;
- ``server_log``: warnings and tracebacks in the daphnes' logs.

The bar: nothing lost, duplicated or stale silently applied, catch-up p95
≤ 2 s, and no edit acknowledged while PostgreSQL was down, nor acknowledged
without being in the log.

``--idle-sockets N`` measures memory instead: one daphne, N idle sockets
opened on it (N / 2 rooms, both sides), and its RSS before and after, per
1,000 sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import pwd
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.room_latency import (  # noqa: E402
    percentile,
    seed_rooms,
    setup_django,
)
from bench.room_mix import Edit, RoomView, next_action  # noqa: E402

HEARTBEAT_SECONDS = 25.0  # as static/js/room.js
FINAL_CODES = {4401, 4403, 4404, 4409}  # room.js does not come back after these
# A reconnect's parts, as ``Ledger.catch_up_phases`` holds them.
PHASES = ("waiting", "connect_to_hello", "hello_to_sync")
BAR = {"lost": 0, "duplicated": 0, "stale_silently_applied": 0, "catch_up_p95_s": 2.0}
VERSIONED = {
    "term.set",
    "position.update",
    "trade.accept",
    "trade.decline",
    "trade.counter",
}


def reconnect_delay(attempt: int, rng: random.Random) -> float:
    """Seconds before reconnect ``attempt`` (1, 2, …), as room.js's
    ``reconnectDelay``."""
    if attempt <= 1:
        return rng.random() * 0.5
    return min(15.0, 0.25 * 2 ** min(attempt, 6)) * (0.75 + rng.random() / 2)


def log(message: str) -> None:
    print(f"faults: {message}", file=sys.stderr, flush=True)


# --- the bench's own PostgreSQL and Redis -------------------------------------


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True
    ):
        return str(candidate)
    raise SystemExit(
        f"faults: no {name} (PostgreSQL's server binaries) on this machine"
    )


class Services:
    """A throwaway PostgreSQL cluster and Redis server on ports of their own."""

    def __init__(self, pg_port: int, redis_port: int) -> None:
        self.pg_port = pg_port
        self.redis_port = redis_port
        self.folder = Path(tempfile.mkdtemp(prefix="parley-faults-"))
        self.pg_data = self.folder / "pg"
        self.redis: subprocess.Popen | None = None
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.folder, postgres.pw_uid, postgres.pw_gid)

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.pg_data), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.pg_data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.start_postgres()
        self.start_redis()

    def start_postgres(self) -> None:
        options = (
            f"-p {self.pg_port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c max_connections=200"
        )
        self._pg_ctl("-o", options, "-l", str(self.folder / "pg.log"), "-w", "start")

    def stop_postgres(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=(self.folder / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.redis_port), 0.5):
                    return
            time.sleep(0.05)
        raise SystemExit("faults: redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
            self.redis = None

    def stop(self) -> None:
        self.stop_redis()
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop_postgres()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the proxy (a process of its own) -----------------------------------------


async def _proxy(listen: int, backends: list[int], control: int) -> None:
    """Each connection goes to the next backend that accepts it; ``cut`` on
    the control port drops the bytes of the given client ports both ways,
    then resets both sides."""
    turn = itertools.count()
    pairs: dict[int, dict[str, Any]] = {}
    resets: set[asyncio.Future] = set()

    async def pipe(pair, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                if pair["cut"]:
                    continue
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if not pair["cut"]:
                with contextlib.suppress(Exception):
                    writer.close()

    async def serve(reader, writer) -> None:
        client_port = writer.get_extra_info("peername")[1]
        for _ in range(len(backends)):
            port = backends[next(turn) % len(backends)]
            try:
                b_reader, b_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            writer.transport.abort()
            return
        pair = {"cut": False, "writers": (writer, b_writer)}
        pairs[client_port] = pair
        try:
            await asyncio.gather(
                pipe(pair, reader, b_writer), pipe(pair, b_reader, writer)
            )
        finally:
            pairs.pop(client_port, None)

    async def reset_later(cut: list[dict], seconds: float) -> None:
        await asyncio.sleep(seconds)
        for pair in cut:
            for writer in pair["writers"]:
                writer.transport.abort()

    async def command(reader, writer) -> None:
        words = (await reader.readline()).decode().split()
        if words and words[0] == "cut":
            seconds = float(words[1])
            cut = [pairs[int(p)] for p in words[2:] if int(p) in pairs]
            for pair in cut:
                pair["cut"] = True
            resets.add(asyncio.ensure_future(reset_later(cut, seconds)))
            writer.write(f"ok {len(cut)}\n".encode())
        else:
            writer.write(b"?\n")
        await writer.drain()
        writer.close()

    await asyncio.start_server(serve, "127.0.0.1", listen, backlog=1024)
    await asyncio.start_server(command, "127.0.0.1", control)
    await asyncio.Event().wait()


async def proxy_command(control: int, line: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", control)
    writer.write(line.encode() + b"\n")
    await writer.drain()
    answer = (await reader.readline()).decode().strip()
    writer.close()
    return answer


# --- the clients --------------------------------------------------------------


@dataclass
class Sent:
    room: int
    side: int
    at: float
    edit: Edit
    client_msg_id: str
    attempts: int = 1


@dataclass
class Ledger:
    """Everything every client sent and heard back."""

    sent: dict[str, Sent] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)  # id → seq
    acked_at: dict[str, float] = field(default_factory=dict)  # id → first ack
    replayed: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # id → code
    errors_shown: Counter = field(default_factory=Counter)
    duplicated_frames: int = 0
    not_shown: int = 0
    catch_ups: list[tuple[str, float]] = field(default_factory=list)
    # Per reconnect: (waiting before the attempt that worked, its connect
    # until ``hello``, ``hello`` until the ``sync`` frame), in seconds.
    catch_up_phases: list[tuple[float, float, float]] = field(default_factory=list)
    resent: int = 0
    closes: Counter = field(default_factory=Counter)
    fault: str = "none"  # the fault under way (labels catch-ups)


class Client:
    """One side of one room, as ``room.js`` behaves."""

    def __init__(
        self,
        url: str,
        origin: str,
        session: str,
        room: int,
        side: int,
        issue_ids: tuple[int, ...],
        ledger: Ledger,
        rng: random.Random,
    ):
        self.url, self.origin, self.session = url, origin, session
        self.room, self.side, self.issue_ids = room, side, issue_ids
        self.ledger, self.rng = ledger, rng
        self.connection = None
        self.last_seq = 0
        # The highest seq a whole-room sync frame brought (``since: -1``).
        self.synced_upto = 0
        # Seqs event frames brought, and those a sync from a seq brought.
        self.seqs: set[int] = set()
        self.sync_from = -1  # the ``since`` of the last sync asked for
        self.view = RoomView()
        self.pending: dict[str, Sent] = {}
        self.closed_at: float | None = None
        self.closed_fault = "none"
        self.finished = False
        self.open = asyncio.Event()
        self.local_port: int | None = None
        # When the attempt under way started, and when its hello came.
        self.attempt_at = 0.0
        self.hello_at = 0.0
        self.waiting_sync: asyncio.Future | None = None
        self.resends: set[asyncio.Future] = set()

    # --- connection, as room.js -----------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        attempts = 0
        while not stop.is_set() and not self.finished:
            try:
                await self._connect()
                attempts = 0
                await self._read()
            except (TimeoutError, OSError, Exception) as error:
                code = getattr(getattr(error, "rcvd", None), "code", None)
                self.ledger.closes[str(code or type(error).__name__)] += 1
                if code in FINAL_CODES:
                    self.finished = True
                    self.ledger.errors_shown[f"closed:{code}"] += 1
            self.open.clear()
            self.connection = None
            if self.closed_at is None:
                self.closed_at = time.monotonic()
                self.closed_fault = self.ledger.fault
            if stop.is_set() or self.finished:
                return
            attempts += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), reconnect_delay(attempts, self.rng))

    async def _connect(self) -> None:
        from websockets.asyncio.client import connect

        self.attempt_at = time.monotonic()
        self.connection = await connect(
            self.url,
            origin=self.origin,
            additional_headers={"Cookie": f"sessionid={self.session}"},
            compression=None,
            proxy=None,
            max_size=None,
            open_timeout=10,
            ping_interval=None,
        )
        self.local_port = self.connection.transport.get_extra_info("sockname")[1]
        hello = json.loads(await asyncio.wait_for(self.connection.recv(), 10))
        if hello.get("type") != "hello":
            raise RuntimeError(f"no hello: {hello}")
        self.hello_at = time.monotonic()
        self.view.side = hello["side"]
        self.sync_from = self.last_seq
        await self.connection.send(
            json.dumps({"action": "sync", "since": self.last_seq})
        )

    async def _read(self) -> None:
        async for raw in self.connection:
            self.on_frame(json.loads(raw))

    def on_frame(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        kind = frame.get("type")
        ledger = self.ledger
        if kind == "sync":
            seq = frame.get("seq", 0)
            self.view.read(frame.get("html", ""))
            # A sync from a seq vouches only for what came after it: a seq
            # the page missed before then stays missing.
            if self.sync_from < 0:
                self.synced_upto = max(self.synced_upto, seq)
            else:
                self.seqs.update(range(self.sync_from + 1, seq + 1))
            self.last_seq = max(self.last_seq, seq)
            if self.closed_at is not None:
                ledger.catch_ups.append((self.closed_fault, now - self.closed_at))
                ledger.catch_up_phases.append(
                    (
                        self.attempt_at - self.closed_at,
                        self.hello_at - self.attempt_at,
                        now - self.hello_at,
                    )
                )
                self.closed_at = None
            self.open.set()
            if self.waiting_sync is not None and not self.waiting_sync.done():
                self.waiting_sync.set_result(seq)
            self._resend()
        elif kind == "event":
            seq = frame.get("seq", 0)
            kinds = frame.get("kinds") or ()
            first = seq - len(kinds) + 1 if kinds else self.last_seq + 1
            for brought in range(first, seq + 1):
                if brought in self.seqs:
                    ledger.duplicated_frames += 1
                self.seqs.add(brought)
            self.last_seq = max(self.last_seq, seq)
            html = frame.get("html", "")
            self.view.read(html)
        elif kind == "ack":
            client_msg_id = frame.get("client_msg_id")
            self.pending.pop(client_msg_id, None)
            ledger.acked.setdefault(client_msg_id, frame["seq"])
            ledger.acked_at.setdefault(client_msg_id, now)
            ledger.replayed += bool(frame.get("replayed"))
        elif kind == "error":
            client_msg_id = frame.get("client_msg_id") or ""
            code = frame.get("code") or "?"
            ledger.errors_shown[code] += 1
            if client_msg_id in self.pending:
                self.pending.pop(client_msg_id)
                ledger.refused[client_msg_id] = code

    def _resend(self) -> None:
        """Edits that got no answer before a close go again, same id."""
        for sent in list(self.pending.values()):
            sent.attempts += 1
            self.ledger.resent += 1
            self.resends.add(asyncio.ensure_future(self._send(sent)))

    async def _send(self, sent: Sent) -> None:
        frame = {
            "action": sent.edit.action,
            "client_msg_id": sent.client_msg_id,
            "data": sent.edit.data,
        }
        with contextlib.suppress(Exception):
            await self.connection.send(json.dumps(frame))

    async def edit_every(self, interval: float, until: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, interval))
        while time.monotonic() < until and not self.finished:
            started = time.monotonic()
            if self.open.is_set() and self.connection is not None:
                nonce = f"bench-{uuid.uuid4().hex[:16]}"
                edit = next_action(
                    "realistic", self.view, self.issue_ids, self.rng, nonce
                )
                sent = Sent(self.room, self.side, started, edit, nonce)
                self.ledger.sent[nonce] = sent
                self.pending[nonce] = sent
                await self._send(sent)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def ping_every(self, until: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, HEARTBEAT_SECONDS))
        while time.monotonic() < until:
            if self.open.is_set() and self.connection is not None:
                with contextlib.suppress(Exception):
                    await self.connection.send('{"action": "ping"}')
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def final_sync(self, whole: bool = True) -> bool:
        """Ask for the room as it stands, as a reload would (``whole``), or
        for what came after the last seq this page has."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.open.wait(), 20)
        if self.connection is None:
            return False
        self.waiting_sync = asyncio.get_running_loop().create_future()
        since = self.sync_from = -1 if whole else self.last_seq
        await self._send_raw({"action": "sync", "since": since})
        try:
            await asyncio.wait_for(self.waiting_sync, 20)
            return True
        except TimeoutError:
            return False

    async def _send_raw(self, frame: dict) -> None:
        with contextlib.suppress(Exception):
            await self.connection.send(json.dumps(frame))

    def has(self, seq: int) -> bool:
        return seq in self.seqs or seq <= self.synced_upto


# --- the run ------------------------------------------------------------------


async def answered(clients: list, seconds: float) -> None:
    """Wait at most ``seconds`` for every sent edit to get an ack or error."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(c.pending for c in clients):
        await asyncio.sleep(0.2)


def start_daphne(port: int, env: dict[str, str], log_dir: Path, generation: int):
    from tests.live_server import _spawn

    return _spawn(port, env, log_dir / f"daphne-{port}-{generation}.log")


def _versioned_key(sent: Sent) -> tuple | None:
    data = sent.edit.data
    if sent.edit.action == "term.set":
        return ("term", data["issue_id"])
    if sent.edit.action == "position.update":
        return ("position", sent.room, sent.side)
    if sent.edit.action in ("trade.accept", "trade.decline", "trade.counter"):
        return ("trade", data["trade_id"])
    return None


async def run(
    args: argparse.Namespace,
    services: Services,
    rooms,
    secret_key: str,
    database_url: str,
) -> dict[str, Any]:
    import psutil

    from tests.live_server import free_port, stop_servers, wait_until_healthy

    log_dir = Path(tempfile.mkdtemp(prefix="parley-faults-logs-"))
    env_extra = {
        "REDIS_URL": services.redis_url,
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": "4",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secret_key,
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    from tests.live_server import server_env

    env = server_env(database_url, env_extra)
    ports = [free_port() for _ in range(args.servers)]
    servers = [start_daphne(p, env, log_dir, 0) for p in ports]
    all_servers = list(servers)
    proxy_port, control_port = free_port(), free_port()
    proxy = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--proxy",
            str(proxy_port),
            str(control_port),
            ",".join(map(str, ports)),
        ],
        cwd=REPO,
    )
    try:
        for server in servers:
            await asyncio.to_thread(wait_until_healthy, server, 180)
        await asyncio.sleep(0.5)
        ledger = Ledger()
        rng = random.Random(args.seed)
        base = f"127.0.0.1:{proxy_port}"
        clients = [
            Client(
                f"ws://{base}/ws/room/{room.deal_id}/",
                f"http://{base}",
                session,
                index,
                side,
                room.issue_ids,
                ledger,
                random.Random(rng.random()),
            )
            for index, room in enumerate(rooms)
            for side, session in enumerate((room.host_session, room.guest_session))
        ]
        stop = asyncio.Event()
        runners = [asyncio.create_task(c.run(stop)) for c in clients]
        await asyncio.wait_for(asyncio.gather(*(c.open.wait() for c in clients)), 120)
        for client in clients:  # the first connection is no reconnect
            client.closed_at = None
        ledger.catch_ups.clear()
        ledger.catch_up_phases.clear()
        ledger.closes.clear()
        log(f"{len(clients)} sockets open through the proxy on :{proxy_port}")
        started = time.monotonic()
        until = started + args.duration
        workers = [
            *(asyncio.create_task(c.edit_every(args.interval, until)) for c in clients),
            *(asyncio.create_task(c.ping_every(until)) for c in clients),
        ]
        pg_down: list[tuple[float, float]] = []
        timeline: list[dict[str, Any]] = []

        async def at(fraction: float) -> None:
            await asyncio.sleep(
                max(0.0, started + fraction * args.duration - time.monotonic())
            )

        async def kills() -> None:
            for n in range(5):
                await at((2 * n + 1) / 10)
                index = n % len(servers)
                victim = servers[index]
                ledger.fault = "daphne_kill"
                os.kill(victim.process.pid, signal.SIGKILL)
                victim.process.wait()
                timeline.append(
                    {
                        "t": round(time.monotonic() - started, 1),
                        "fault": f"kill -9 daphne :{victim.port}",
                    }
                )
                await asyncio.sleep(3)
                servers[index] = start_daphne(victim.port, env, log_dir, n + 1)
                all_servers.append(servers[index])
                await asyncio.to_thread(wait_until_healthy, servers[index], 180)
                timeline.append(
                    {
                        "t": round(time.monotonic() - started, 1),
                        "fault": f"daphne :{victim.port} back",
                    }
                )

        async def redis_restart() -> None:
            await at(0.25)
            ledger.fault = "redis_restart"
            await asyncio.to_thread(services.stop_redis)
            timeline.append(
                {"t": round(time.monotonic() - started, 1), "fault": "redis stopped"}
            )
            await asyncio.sleep(4)
            await asyncio.to_thread(services.start_redis)
            timeline.append(
                {"t": round(time.monotonic() - started, 1), "fault": "redis started"}
            )

        async def pg_restart() -> None:
            await at(0.45)
            ledger.fault = "postgres_restart"
            await asyncio.to_thread(services.stop_postgres)
            down = time.monotonic()
            timeline.append(
                {"t": round(down - started, 1), "fault": "postgres stopped"}
            )
            await asyncio.sleep(3)
            # The window closes when the server starts accepting again.
            up_from = time.monotonic()
            await asyncio.to_thread(services.start_postgres)
            pg_down.append((down, up_from))
            timeline.append(
                {"t": round(time.monotonic() - started, 1), "fault": "postgres started"}
            )

        async def cut() -> None:
            await at(0.65)
            ledger.fault = "client_cut"
            live = [c for c in clients if c.open.is_set() and c.local_port]
            victims = rng.sample(live, max(1, len(clients) // 10))
            ports = [str(c.local_port) for c in victims]
            answer = await proxy_command(control_port, f"cut 5 {' '.join(ports)}")
            timeline.append(
                {
                    "t": round(time.monotonic() - started, 1),
                    "fault": f"cut {answer.split()[-1]} sockets for 5 s",
                }
            )

        faults = [
            asyncio.create_task(f()) for f in (kills, redis_restart, pg_restart, cut)
        ]
        await asyncio.gather(*workers)
        await asyncio.gather(*faults)
        ledger.fault = "end"
        # Let the answers of the last edits (and any resends) come in.
        await answered(clients, 60)
        reloaded = await asyncio.gather(*(c.final_sync() for c in clients))
        # Edits answered while the pages reloaded were committed after some
        # reloads were rendered: each page asks once more for what followed.
        await answered(clients, 20)
        caught_up = await asyncio.gather(*(c.final_sync(whole=False) for c in clients))
        synced = [a or b for a, b in zip(reloaded, caught_up, strict=True)]
        rss = {}
        for server in servers:
            with contextlib.suppress(psutil.Error):
                rss[server.port] = round(
                    psutil.Process(server.process.pid).memory_info().rss / 2**20, 1
                )
        stop.set()
        for client in clients:
            if client.connection is not None:
                with contextlib.suppress(Exception):
                    await client.connection.close()
        await asyncio.gather(*runners, return_exceptions=True)
    finally:
        proxy.terminate()
        proxy.wait(5)
        stop_servers(all_servers)

    return (args, ledger, clients, synced, pg_down, timeline, all_servers, log_dir, rss)


def report(
    args, ledger: Ledger, clients, synced, pg_down, timeline, servers, log_dir, rss
) -> dict[str, Any]:
    from django.db import connections

    from negotiation.models import DealEvent
    from room.models import Message

    for conn in connections.all():  # its pooled connections died with the restart
        conn.close()
        if hasattr(conn, "close_pool"):
            conn.close_pool()
    ids = list(ledger.sent)
    logged: Counter = Counter()
    for start in range(0, len(ids), 2000):
        logged.update(
            DealEvent.objects.filter(
                client_msg_id__in=ids[start : start + 2000]
            ).values_list("client_msg_id", flat=True)
        )
    # An action writes one event, or a few for one client_msg_id at most once
    # each (the constraint is per deal and id): count ids, not events.
    in_log = set(logged)
    # The log holds an id once (a unique constraint); an edit applied twice
    # under two ids would show as two messages with one nonce.
    nonces = Counter(
        body.split()[0]
        for body in Message.objects.filter(body__startswith="bench-").values_list(
            "body", flat=True
        )
    )
    duplicated_in_log = sum(count - 1 for count in nonces.values() if count > 1)
    acked = ledger.acked
    lost_from_log = [i for i in acked if i not in in_log]
    refused_but_applied = [i for i in ledger.refused if i in in_log and i not in acked]
    # Per side, what its page has after the final resync.
    seen = {"host": 0, "counterpart": 0}
    not_seen = 0
    # Missing from a page whose final resync never answered: that page may
    # simply not have been brought up to date, so it proves neither way.
    unconfirmed = 0
    for client_msg_id, seq in acked.items():
        sent = ledger.sent.get(client_msg_id)
        if sent is None:
            continue
        for side, name in enumerate(("host", "counterpart")):
            index = 2 * sent.room + side
            if clients[index].has(seq):
                seen[name] += 1
            elif synced[index]:
                not_seen += 1
            else:
                unconfirmed += 1
    # Two applied edits of one object naming the same version: the later one
    # overwrote a change its sender had not seen.
    named: dict[tuple, Counter] = defaultdict(Counter)
    for client_msg_id in in_log:
        sent = ledger.sent.get(client_msg_id)
        key = sent and _versioned_key(sent)
        if key is None:
            continue
        version = sent.edit.data.get("version")
        named[key][version] += 1
    stale_applied = sum(
        count - 1
        for key, counts in named.items()
        for version, count in counts.items()
        if count > 1 and not (key[0] == "trade" and version in ("", None))
    )
    # The PostgreSQL outage: edits sent while it was down.
    during = [
        i
        for i, s in ledger.sent.items()
        if any(down <= s.at <= up for down, up in pg_down)
    ]
    pg = {
        "window_s": [round(up - down, 1) for down, up in pg_down],
        "edits_sent": len(during),
        "refused_try_again": sum(ledger.refused.get(i) == "try_again" for i in during),
        "acked": sum(i in acked for i in during),
        # An ack that came before PostgreSQL was started again: it cannot
        # stand for a commit. (An edit sent in the window and held by the
        # pool until PostgreSQL was back is committed, then acknowledged.)
        "acked_while_down": sum(
            any(down <= ledger.acked_at.get(i, math.inf) <= up for down, up in pg_down)
            for i in during
        ),
        "acked_not_in_log": sum(i in acked and i not in in_log for i in during),
    }
    catch = [s for _, s in ledger.catch_ups]
    by_fault: dict[str, list[float]] = defaultdict(list)
    for fault, seconds in ledger.catch_ups:
        by_fault[fault].append(seconds)
    logs = "".join(s.log() for s in servers)
    result = {
        "rooms": args.rooms,
        "sockets": len(clients),
        "servers": args.servers,
        "duration_s": args.duration,
        "interval_s": args.interval,
        "timeline": timeline,
        "edits": {
            "sent": len(ledger.sent),
            "acked": len(acked),
            "acked_replayed": ledger.replayed,
            "in_log": len(in_log),
            "acked_in_log": len(acked) - len(lost_from_log),
            "refused": dict(Counter(ledger.refused.values())),
            "unanswered": sum(len(c.pending) for c in clients),
            "resent_after_reconnect": ledger.resent,
        },
        "final_resync_ok": sum(synced),
        "seen_after_resync": {**seen, "of_acked": len(acked)},
        "lost": len(lost_from_log) + not_seen,
        "lost_from_log": len(lost_from_log),
        "not_seen_after_resync": not_seen,
        "unconfirmed_without_resync": unconfirmed,
        "refused_but_applied": len(refused_but_applied),
        "duplicated": duplicated_in_log + ledger.duplicated_frames,
        "stale_silently_applied": stale_applied,
        "catch_up_s": {
            "reconnects": len(catch),
            "p50": round(percentile(catch, 0.5), 2),
            "p95": round(percentile(catch, 0.95), 2),
            "max": round(max(catch), 2) if catch else None,
            "by_fault": {
                f: {
                    "n": len(v),
                    "p50": round(percentile(v, 0.5), 2),
                    "p95": round(percentile(v, 0.95), 2),
                }
                for f, v in sorted(by_fault.items())
            },
            "phases": {
                name: {
                    "p50": round(percentile(values, 0.5), 2),
                    "p95": round(percentile(values, 0.95), 2),
                }
                for index, name in enumerate(PHASES)
                if (values := [phases[index] for phases in ledger.catch_up_phases])
            },
        },
        "closes": dict(ledger.closes),
        "pg_outage": pg,
        "errors_shown": dict(ledger.errors_shown),
        "server_log": {
            "tracebacks": logs.count("Traceback"),
            "outage_warnings": logs.count("unavailable (")
            + logs.count(" is back after"),
            "outage_lines": sorted(
                {
                    line.strip()[:200]
                    for line in logs.splitlines()
                    if "unavailable (" in line or "is back after" in line
                }
            )[:12],
        },
        "daphne_rss_mib_at_end": rss,
        "logs": str(log_dir),
    }
    result["bar"] = BAR
    result["bar_met"] = (
        result["lost"] == 0
        and unconfirmed == 0
        and result["final_resync_ok"] == len(clients)
        and result["duplicated"] == 0
        and result["stale_silently_applied"] == 0
        and (result["catch_up_s"]["p95"] <= BAR["catch_up_p95_s"] or not catch)
        and pg["acked_while_down"] == 0
        and pg["acked_not_in_log"] == 0
        and result["refused_but_applied"] == 0
    )
    return result


# --- idle sockets -------------------------------------------------------------


async def idle(count: int, rooms, secret_key: str, database_url: str, services) -> dict:
    import psutil

    from tests.live_server import (
        free_port,
        server_env,
        stop_servers,
        wait_until_healthy,
    )

    log_dir = Path(tempfile.mkdtemp(prefix="parley-faults-idle-"))
    env = server_env(
        database_url,
        {
            "REDIS_URL": services.redis_url,
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": secret_key,
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "DB_POOL_MAX": "4",
        },
    )
    port = free_port()
    server = start_daphne(port, env, log_dir, 0)
    connections = []
    try:
        await asyncio.to_thread(wait_until_healthy, server, 180)
        process = psutil.Process(server.process.pid)
        from websockets.asyncio.client import connect

        async def open_one(session: str, deal_id: int):
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws/room/{deal_id}/",
                origin=f"http://127.0.0.1:{port}",
                additional_headers={"Cookie": f"sessionid={session}"},
                compression=None,
                proxy=None,
                ping_interval=None,
                open_timeout=60,
            )
            await ws.recv()  # hello
            return ws

        # Warm up: a few sockets, so imports and caches are not counted.
        warm = [await open_one(r.host_session, r.deal_id) for r in rooms[:5]]
        for ws in warm:
            await ws.close()
        await asyncio.sleep(2)
        before = process.memory_info().rss
        limit = asyncio.Semaphore(20)

        async def opened(session, deal_id):
            async with limit:
                return await open_one(session, deal_id)

        pairs = [
            (s, r.deal_id) for r in rooms for s in (r.host_session, r.guest_session)
        ]
        connections = await asyncio.gather(*(opened(s, d) for s, d in pairs[:count]))
        await asyncio.sleep(5)  # presence renders settle; frames stay unread
        after = process.memory_info().rss
        growth = (after - before) / len(connections)
        return {
            "idle_sockets": len(connections),
            "rss_before_mib": round(before / 2**20, 1),
            "rss_after_mib": round(after / 2**20, 1),
            "rss_per_1000_sockets_mib": round(growth * 1000 / 2**20, 1),
            "rss_per_socket_kib": round(growth / 1024, 1),
        }
    finally:
        for ws in connections:
            with contextlib.suppress(Exception):
                ws.transport.abort()
        stop_servers([server])


# --- main ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--proxy"]:
        listen, control, backends = int(argv[1]), int(argv[2]), argv[3]
        asyncio.run(_proxy(listen, [int(p) for p in backends.split(",")], control))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-port", type=int, default=5440)
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument(
        "--idle-sockets",
        type=int,
        default=0,
        help="measure RSS per idle socket on one daphne instead",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    services = Services(args.pg_port, args.redis_port)
    try:
        services.start()
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(args.pg_port),
                    "-U",
                    "postgres",
                    "parley_faults",
                ]
            ),
            check=True,
        )
        database_url = f"postgres://postgres@127.0.0.1:{args.pg_port}/parley_faults"
        secret_key = secrets.token_urlsafe(50)
        setup_django(database_url, secret_key)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        count = max(args.rooms, (args.idle_sockets + 1) // 2)
        began = time.monotonic()
        rooms = seed_rooms(count, batch="f")
        log(f"seeded {len(rooms)} rooms in {time.monotonic() - began:.1f} s")
        if args.idle_sockets:
            result = asyncio.run(
                idle(args.idle_sockets, rooms, secret_key, database_url, services)
            )
        else:
            outcome = asyncio.run(run(args, services, rooms, secret_key, database_url))
            result = report(*outcome)
        print(json.dumps(result))
        return 0
    finally:
        try:
            from django.db import connections

            for conn in connections.all():
                with contextlib.suppress(Exception):
                    conn.close()
        finally:
            services.stop()


if __name__ == "__main__":
    raise SystemExit(main())

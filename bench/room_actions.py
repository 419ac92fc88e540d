"""Server time per room action, in-process: what each socket's database thread
spends on an edit, without the network or the event loop in the way.

For each action of a realistic mix, the sender's socket applies it exactly as
``RoomConsumer._perform`` does (authorize, form, service, its own update) and
the other side's socket renders it from the group message exactly as
``RoomConsumer._event_update`` does. The room starts with ``--history`` events
of the same mix. Prints one JSON object: sender, peer and per-edit time.

It is the A/B tool for the room's hot-path machinery (run it back to back on
two checkouts). ``--scoring`` gives both sides a private scoring first, so
every trade, package and term sheet a socket renders carries that side's
own score: run with and without it back to back to see what the scores
cost. ``--queries`` counts each edit's SQL statements (sender and peer
together, by action) instead of timing them: a figure the machine's load
does not move. ``--parts`` times the hand-written statements of
``negotiation.fixed_sql`` against the same reads through the ORM.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/room_actions.py --actions 600 --history 100

Without ``DATABASE_URL`` it runs on a temporary SQLite file. With it, it works
in its own database (``--database``, dropped and created afresh).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import random
import statistics
import sys
import tempfile
import time
import timeit
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.room_mix import DatabaseView, next_action  # noqa: E402


def prepare_database(args: argparse.Namespace) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        folder = tempfile.mkdtemp(prefix="parley-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
        return
    import psycopg
    from psycopg import sql

    # The server's own database administers it: DATABASE_URL's may not exist.
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    name = sql.Identifier(args.database)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{args.database}"))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)  # the in-memory layer: no network
    # Two sockets act back to back, far above a person's pace: the shared
    # action rate (a limit, not work) would refuse nearly every action.
    os.environ.setdefault("PARLEY_PARTICIPANT_ACTIONS", str(10**9))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Room:
    """One deal in Midgame, a host and a guest, and a socket for each."""

    def __init__(self) -> None:
        from django.contrib.auth.models import AnonymousUser

        from negotiation.access import (
            GUESTS_SESSION_KEY,
            deal_access_for_user,
            room_access,
        )
        from negotiation.models import Deal
        from room.consumers import RoomConsumer
        from room.services import invites
        from tests.factories import IssueFactory, UserFactory, make_deal

        rep = UserFactory()
        deal = make_deal(owner=rep, title="Bench")
        for position, (name, unit) in enumerate(
            [("Price", "EUR"), ("Payment terms", "days"), ("Volume", "units")]
        ):
            IssueFactory(deal=deal, name=name, unit=unit, position=position)
        Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
        host = deal_access_for_user(rep, deal.pk)
        _, token = invites.invite_create(access=host, label="Guest")
        invite = invites.invite_redeem(token=token)
        guest = invites.guest_join(invite_id=invite.pk, display_name="Guest")
        session = {GUESTS_SESSION_KEY: {str(deal.pk): guest.pk}}
        self.deal = deal
        self.access = {
            "host": deal_access_for_user(rep, deal.pk),
            "counterpart": room_access(AnonymousUser(), session, deal.pk),
        }
        self.issues = list(deal.issues.order_by("position"))
        self.sockets = {side: self._socket(a) for side, a in self.access.items()}
        self._perform = inspect.getattr_static(RoomConsumer, "_perform").func
        self._event_update = inspect.getattr_static(RoomConsumer, "_event_update").func
        self._coach = inspect.getattr_static(RoomConsumer, "_coach").func
        self.consumer_class = RoomConsumer

    def give_scorings(self) -> None:
        """A private scoring for each side: every issue weighed, worth 0 at 0
        and 100 at 100, with a reservation score."""
        from decimal import Decimal

        from negotiation.services.preparation import IssueScoreInput, scoring_save

        weights = [40, 30, 30]
        points = [(Decimal(0), 0), (Decimal(100), 100)]
        for access in self.access.values():
            scoring_save(
                access=access,
                version=None,
                reservation_score=Decimal(50),
                issues={
                    issue.pk: IssueScoreInput(weight, points=points)
                    for issue, weight in zip(self.issues, weights, strict=True)
                },
            )

    def _socket(self, access):
        from room.consumers import RoomConsumer

        socket = RoomConsumer()
        socket.scope = {"cookies": {}}
        socket.deal_id = access.deal.pk
        socket.access = access
        socket.access_checked_at = time.monotonic()
        # These sockets have no session to resolve the viewer from again; a
        # real socket does it once every 30 s or so, which is no edit's cost.
        socket.recheck_seconds = float("inf")
        socket.last_seq = access.deal.last_seq
        socket.people = {}
        socket.sending = []
        socket._send_soon = lambda group, message: None
        return socket

    def act(self, side: str, action: str, data: dict[str, Any], cid: str):
        """The sender's work (its action, its own update, then the coach after
        its ack), then the other side's; their times in ms."""
        from negotiation.models import DealEvent

        sender = self.sockets[side]
        other = self.sockets["counterpart" if side == "host" else "host"]
        started = time.perf_counter()
        seq, _, events = self._perform(sender, action, data, cid)
        self._coach(sender, events)
        sent = time.perf_counter()
        sender.last_seq = max(sender.last_seq, seq)
        if seq <= other.last_seq:
            return (sent - started) * 1000, None
        event = DealEvent.objects.get(deal=self.deal, seq=seq)
        message = {
            "type": "deal.event",
            "seq": event.seq,
            "kind": event.kind,
            "event_id": event.pk,
            "actor_id": event.actor_id,
            "ids": {
                key: value
                for key, value in event.payload.items()
                if key.endswith("_id") and isinstance(value, int)
            },
        }
        received = time.perf_counter()
        update = self._event_update(other, message, other.last_seq)
        rendered = time.perf_counter()
        other.last_seq = update["seq"]
        return (sent - started) * 1000, (rendered - received) * 1000


class Mix:
    """Picks each next action of the realistic mix (``bench/room_mix.py``)
    and builds its data as a browser would, from what the room shows now
    (open trades, versions), read from the database."""

    def __init__(self, room: Room, seed: int) -> None:
        self.room = room
        self.random = random.Random(seed)
        self.issue_ids = tuple(issue.pk for issue in room.issues)
        self.views = {
            side: DatabaseView(room.deal.pk, access.party.pk)
            for side, access in room.access.items()
        }
        self.n = 0

    def next(self, side: str) -> tuple[str, dict[str, Any]]:
        self.n += 1
        edit = next_action(
            "realistic", self.views[side], self.issue_ids, self.random, f"({self.n})"
        )
        return edit.action, edit.data


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.mean(values), 3),
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    room = Room()
    if args.scoring:
        room.give_scorings()
    mix = Mix(room, args.seed)
    sides = ("host", "counterpart")
    for n in range(args.history):
        side = sides[n % 2]
        action, data = mix.next(side)
        room.act(side, action, data, f"history-{n}")
    sender: list[float] = []
    peer: list[float] = []
    by_action: dict[str, list[float]] = {}
    refused: Counter[str] = Counter()
    queries: dict[str, list[int]] = {}
    for n in range(args.warmup + args.actions):
        side = sides[n % 2]
        action, data = mix.next(side)
        try:
            with _counted(args.queries) as counted:
                sent, rendered = room.act(side, action, data, f"bench-{n}")
        except Exception as refusal:  # say a stale version: as a user sees it
            refused[getattr(refusal, "code", type(refusal).__name__)] += 1
            continue
        if args.queries:
            queries.setdefault(action, []).append(len(counted.captured_queries))
        if n >= args.warmup:
            sender.append(sent)
            if rendered is not None:
                peer.append(rendered)
            by_action.setdefault(action, []).append(sent + (rendered or 0))
    if args.queries:
        return {
            "benchmark": "room_actions --queries",
            "database": _vendor(),
            "history": args.history,
            "queries_per_edit": round(
                statistics.mean(q for counts in queries.values() for q in counts), 2
            ),
            "by_action": {
                action: round(statistics.mean(counts), 1)
                for action, counts in sorted(queries.items())
            },
        }
    return {
        "benchmark": "room_actions",
        "database": room.deal._state.db and _vendor(),
        "actions": len(sender),
        "history": args.history,
        "scoring": args.scoring,
        "refused": dict(refused),
        "sender_ms": summary(sender),
        "peer_ms": summary(peer),
        "per_edit_ms": round(statistics.mean(sender) + statistics.mean(peer), 3),
        # Sender and peer together, by action: where an edit's time goes.
        "by_action_ms": {
            action: {"count": len(times), "mean": round(statistics.mean(times), 3)}
            for action, times in sorted(by_action.items())
        },
    }


def _counted(wanted: bool):
    """The statements run inside, when counting them (no timing then: the
    capture itself costs time)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    return CaptureQueriesContext(connection) if wanted else contextlib.nullcontext()


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def parts(number: int) -> dict[str, Any]:
    """The hand-written statements against the same reads through the ORM."""
    from django.db import transaction
    from django.db.models import Exists, OuterRef

    from negotiation.models import Deal, Participant, Preparation
    from negotiation.selectors import walk_away_of
    from negotiation.services.base import current_deal, lock_deal
    from room.models import Message
    from room.selectors import messages_by_id

    room = Room()
    access = room.access["counterpart"]
    room.act("host", "message.post", {"body": "Hello"}, "parts-1")
    ids = list(Message.objects.filter(deal=room.deal).values_list("pk", flat=True))
    party = access.party

    def orm_deal():
        return Deal.objects.filter(pk=room.deal.pk).filter(
            Exists(
                Participant.objects.filter(
                    pk=access.participant.pk,
                    party__deal=OuterRef("pk"),
                    revoked_at__isnull=True,
                )
            )
        )

    def locked(read):
        def run() -> None:
            with transaction.atomic():
                read()

        return run

    pairs = {
        "lock_deal": (
            locked(lambda: lock_deal(access)),
            locked(lambda: orm_deal().select_for_update().first()),
        ),
        "current_deal": (
            lambda: current_deal(access),
            lambda: orm_deal().first(),
        ),
        "walk_away_of": (
            lambda: walk_away_of(party),
            lambda: Preparation.objects.only(
                "batna", "reservation_point", "reservation_value"
            ).get(party=party),
        ),
        "messages_by_id": (
            lambda: messages_by_id(room.deal, ids),
            lambda: list(
                Message.objects.filter(deal=room.deal, pk__in=ids).select_related(
                    "author"
                )
            ),
        ),
    }
    result = {}
    for name, (fixed, orm) in pairs.items():
        fixed(), orm()
        result[name] = {
            "fixed_ms": round(timeit.timeit(fixed, number=number) / number * 1000, 3),
            "orm_ms": round(timeit.timeit(orm, number=number) / number * 1000, 3),
        }
    return {"benchmark": "room_actions --parts", "database": _vendor(), **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parts", action="store_true")
    parser.add_argument(
        "--scoring", action="store_true", help="both sides have a private scoring"
    )
    parser.add_argument("--number", type=int, default=500, help="runs per part")
    parser.add_argument(
        "--queries",
        action="store_true",
        help="count each edit's SQL statements (sender and peer) instead of timing",
    )
    parser.add_argument("--database", default="parley_bench_actions")
    args = parser.parse_args(argv)
    prepare_database(args)
    setup_django()
    import warnings

    # The sockets render without a request; the forms' CSRF token is the
    # socket's cookie, empty here.
    warnings.filterwarnings("ignore", message=".*csrf_token.*")
    result = parts(args.number) if args.parts else run(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

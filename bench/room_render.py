"""What rendering the room costs as it grows: a live update, and the page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/room_render.py [--runs 30]

Prints one JSON object:

- ``trade_proposal_ms``: the per-socket render of a ``trade.proposed`` event
  (``room.render.render_events``, what each socket does for the other side's
  proposal) in a room with 1 trade and with 200, for each side;
- ``room_page``: the room page's server time (a GET through Django's test
  client, logged in as the rep) and its SQL query count, in an empty room and
  after 500 events of the realistic mix (``bench/room_mix.py``, applied
  through the sockets' own code by ``bench/room_actions.py``). The two pages
  are loaded in turn, and ``ratio_500_to_0`` is the median of each turn's
  ratio, so a slower moment of a shared machine weighs on both alike.

Times are the median and the worst of ``--runs`` runs after a warm-up.
Without ``DATABASE_URL`` it runs on a temporary SQLite file; with it, in its
own database (``--database``, dropped and created afresh).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import room_actions


def timed(run: Callable[[], object], runs: int) -> dict[str, float]:
    for _ in range(3):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median": round(statistics.median(samples), 2),
        "worst": round(max(samples), 2),
    }


def trade_proposal(runs: int) -> dict[str, dict]:
    from negotiation.models import DealEvent
    from room import services
    from room.render import render_events

    room = room_actions.Room()
    host, guest = room.access["host"], room.access["counterpart"]
    give, ask = room.issues[:2]

    def propose(n: int) -> None:
        services.trade_propose(
            access=host,
            give_issue_id=give.pk,
            give_value=f"{n} days sooner",
            ask_issue_id=ask.pk,
            ask_value=f"{n}% more volume",
        )

    def measure() -> dict[str, dict]:
        event = DealEvent.objects.filter(deal=room.deal).order_by("-seq").first()
        return {
            side: timed(lambda access=access: render_events(access, [event]), runs)
            for side, access in (("host", host), ("counterpart", guest))
        }

    propose(0)
    first = measure()
    for n in range(1, 200):
        propose(n)
    return {"1_trade": first, "200_trades": measure()}


def room_page(runs: int) -> dict[str, dict]:
    """The room page of a room with no history and of one with 500 events.
    Both rooms are seeded first, then their pages are loaded in turn, so a
    slower moment of the machine weighs on both alike; the ratio is the
    median of each turn's ratio."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from negotiation.models import DealEvent

    pages = {}
    for history in (0, 500):
        room = room_actions.Room()
        mix = room_actions.Mix(room, seed=1)
        for n in range(history):
            side = ("host", "counterpart")[n % 2]
            action, data = mix.next(side)
            room.act(side, action, data, f"page-{history}-{n}")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(room.deal.owner)
        url = reverse("live:room", args=[room.deal.pk])
        assert client.get(url).status_code == 200
        pages[history] = (room, client, url)
    result = {}
    samples: dict[int, list[float]] = {history: [] for history in pages}
    for turn in range(3 + runs):
        for history, (_, client, url) in pages.items():
            started = time.perf_counter()
            client.get(url)
            if turn >= 3:  # the first turns warm up
                samples[history].append((time.perf_counter() - started) * 1000)
    for history, (room, client, url) in pages.items():
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        result[f"{history}_events"] = {
            "events": DealEvent.objects.filter(deal=room.deal).count(),
            "queries": len(queries),
            "ms": {
                "median": round(statistics.median(samples[history]), 2),
                "worst": round(max(samples[history]), 2),
            },
        }
    pairs = zip(samples[0], samples[500], strict=True)
    ratios = [full / empty for empty, full in pairs]
    result["ratio_500_to_0"] = round(statistics.median(ratios), 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", default="parley_bench_render")
    args = parser.parse_args(argv)
    room_actions.prepare_database(args)  # bench-only database
    room_actions.setup_django()
    # The sockets render without a request; the forms' CSRF token is empty.
    warnings.filterwarnings("ignore", message=".*csrf_token.*")
    print(
        json.dumps(
            {
                "benchmark": "room_render",
                "database": room_actions._vendor(),
                "trade_proposal_ms": trade_proposal(args.runs),
                "room_page": room_page(max(5, args.runs // 2)),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

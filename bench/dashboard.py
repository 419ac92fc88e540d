"""Server time of the team dashboard and of a deal's review page, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_dash_bench \\
    python bench/dashboard.py [--deals 1000] [--requests 200] [--reuse]

The database named in DATABASE_URL is created if missing, then (unless
``--reuse`` finds it seeded already) emptied, migrated and seeded with one
team of twelve reps and a manager, and ``--deals`` closed deals (seven in ten
agreed, the rest ended without agreement). Each deal has what a real session
leaves behind: four to six issues, both sides' private preparation, shared
rankings, stage changes, conditional trades (countered, declined, withdrawn,
accepted), MESO packages, concession logs, messages, a term sheet, commitments
with check-ins after the agreement, coaching nudges, and the event log that
recorded all of it, spread over weeks of simulated time. Rows are written in
bulk, not through the services (that would take an hour); their shapes and
event payloads are the services' own.

Then the manager's dashboard (plain, filtered, searched, paged) and review
pages of random deals (random replay steps) are requested in this process
through Django's test client: the whole middleware stack, the view, the
queries and the template, no network. Prints one JSON object with the median
and p95 server time of each page and its query count; the bar is dashboard
p95 ≤ 150 ms and review p95 ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BAR = {"dashboard_p95_ms": 150.0, "review_p95_ms": 200.0}
TEAM_NAME = "Bench team"
REPS = 12
BATCH = 50
WARMUP = 10
ORGANISATIONS = [
    "Acme Logistics", "Globex", "Initech", "Umbrella Retail", "Hooli", "Stark Freight",
    "Wayne Foods", "Soylent Markets", "Cyberdyne Health", "Tyrell Energy",
    "Wonka Confectionery", "Oscorp Labs", "Vandelay Imports", "Massive Dynamic",
]  # fmt: skip
ISSUES = [
    ("Annual fee", "EUR", 120_000, 260_000),
    ("Contract length", "months", 12, 48),
    ("Payment terms", "days", 15, 90),
    ("Service level", "%", 95, 100),
    ("Volume", "seats", 100, 2_000),
]
OPTION_ISSUE = ("Onboarding", ["Remote only", "Two on-site weeks", "Dedicated lead"])
MESSAGES = [
    "Can we look at the payment side before price?",
    "Our CFO needs the annual figure under the budget line.",
    "That works if the pilot starts in March.",
    "Let us park service levels and come back to them.",
    "We can live with that if the review is quarterly.",
    "Could you walk us through how you got to that number?",
]


def fail(message: str) -> None:
    print(f"dashboard bench: {message}", file=sys.stderr)
    raise SystemExit(2)


# --- the database -------------------------------------------------------------------


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def ensure_database(database_url: str, *, recreate: bool) -> None:
    """Create the database if missing (drop it first with ``recreate``)."""
    import psycopg
    from psycopg import sql

    name = database_name(database_url)
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and recreate:
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database_url: str, *, debug: bool) -> None:
    """Django in this process, with production settings unless ``debug``.

    Production settings (``DJANGO_DEBUG=0``) are what a deployment runs: no
    SQL recording, cached templates, hashed static files (collected into a
    temporary directory here). The HTTPS redirect is off: the test client
    speaks plain HTTP.
    """
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    var_dir = tempfile.mkdtemp(prefix="parley-bench-")
    os.environ.setdefault("PARLEY_VAR_DIR", var_dir)
    os.environ["DJANGO_DEBUG"] = "1" if debug else "0"
    if not debug:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
        os.environ["SECURE_SSL_REDIRECT"] = "0"
        os.environ["STATIC_ROOT"] = str(Path(var_dir) / "static")
    # The test client calls itself "testserver".
    hosts = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["ALLOWED_HOSTS"] = f"{hosts},testserver"
    import django

    django.setup()
    if not debug:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
    # Nobody listens: seeding broadcasts nothing.
    import negotiation.services.base as base

    base.broadcast = lambda *args, **kwargs: None


# --- seeding --------------------------------------------------------------------------


class Clock:
    """Simulated time inside one deal: always moving forward."""

    def __init__(self, rng: random.Random, start: datetime.datetime) -> None:
        self.rng = rng
        self.now = start

    def tick(self, low_minutes: float = 3, high_minutes: float = 240):
        self.now += datetime.timedelta(
            minutes=self.rng.uniform(low_minutes, high_minutes)
        )
        return self.now

    def until(self, when: datetime.datetime) -> datetime.datetime:
        self.now = max(self.now, when)
        return self.now


def seed(count: int, rng: random.Random) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from negotiation.models import Membership, Team

    user_model = get_user_model()
    manager = user_model(username="bench-manager", first_name="Morgan")
    manager.set_unusable_password()
    manager.save()
    team = Team.objects.create(name=TEAM_NAME)
    Membership.objects.create(team=team, user=manager, role=Membership.Role.MANAGER)
    reps = []
    for index in range(REPS):
        rep = user_model(
            username=f"bench-rep-{index}",
            first_name=rng.choice(["Robin", "Sam", "Alex", "Jo", "Kim", "Lee"]),
            last_name=f"R{index}",
            email=f"rep{index}@bench.example",
        )
        rep.set_unusable_password()
        reps.append(rep)
    reps = user_model.objects.bulk_create(reps)
    Membership.objects.bulk_create(
        [Membership(team=team, user=rep, role=Membership.Role.REP) for rep in reps]
    )
    now = datetime.datetime.now(datetime.UTC)
    events = 0
    for start in range(0, count, BATCH):
        with transaction.atomic():
            for index in range(start, min(start + BATCH, count)):
                events += seed_deal(rng, index, team, reps[index % REPS], now)
    return {"deals": count, "events": events}


def seed_deal(rng, index, team, rep, now) -> int:
    """One closed deal and the log of its whole session. Returns its events."""
    from negotiation.models import (
        AgreementConfirmation,
        AnchorEntry,
        CheckIn,
        CheckInItem,
        Commitment,
        Concession,
        Deal,
        DealEvent,
        Issue,
        MesoSet,
        Message,
        Nudge,
        Package,
        Participant,
        Party,
        Preparation,
        PriorityEntry,
        SharedPosition,
        StageChange,
        TermSheetEntry,
        Trade,
    )

    Stage = Deal.Stage
    agreed = rng.random() < 0.7
    organisation = rng.choice(ORGANISATIONS)
    created = now - datetime.timedelta(days=rng.uniform(40, 500))
    clock = Clock(rng, created)
    deal = Deal.objects.create(
        team=team,
        owner=rep,
        title=f"{organisation} {rng.choice(['renewal', 'expansion', 'pilot'])} "
        f"#{index}",
        context=rng.choice(Deal.Context.values),
        counterpart_organisation=organisation,
        shared_purpose="A rollout that pays for itself within a year.",
        review_cadence=rng.choice(["weekly", "fortnightly", "monthly", "quarterly"]),
    )
    host = Party.objects.create(deal=deal, side="host", organisation=team.name)
    other = Party.objects.create(
        deal=deal, side="counterpart", organisation=organisation
    )
    reservation = Decimal(rng.randrange(140_000, 180_000, 500))
    Preparation.objects.bulk_create([
        Preparation(party=host, batna="Redeploy the team to another account.",
                    reservation_point="No lower than the walk-away figure.",
                    reservation_value=reservation, target_outcome="Full scope."),
        Preparation(party=other, batna="Stay with the incumbent.",
                    reservation_value=Decimal(rng.randrange(190_000, 260_000, 500)),
                    target_outcome="Lower price, longer payment terms."),
    ])  # fmt: skip
    us = Participant.objects.create(
        party=host, user=rep, display_name=rep.first_name, created_at=created
    )
    them = Participant.objects.create(
        party=other, display_name="Dana", created_at=created
    )
    log: list[tuple[datetime.datetime, str, Participant | None, dict]] = []

    def event(kind: str, actor, **payload) -> None:
        log.append((clock.tick(), kind, actor, payload))

    event("deal.created", us)
    chosen = rng.sample(ISSUES, rng.randint(3, 5))
    issues = Issue.objects.bulk_create(
        [Issue(deal=deal, name=n, unit=u, range_min=lo, range_max=hi, position=i)
         for i, (n, u, lo, hi) in enumerate(chosen)]
        + [Issue(deal=deal, name=OPTION_ISSUE[0], kind="options",
                 options=OPTION_ISSUE[1], position=len(chosen))]
    )  # fmt: skip
    numeric = [issue for issue in issues if issue.kind == "numeric"]
    bounds = {i.pk: (int(i.range_min), int(i.range_max)) for i in numeric}

    def value(issue) -> str:
        if issue.kind == "options":
            return rng.choice(issue.options)
        low, high = bounds[issue.pk]
        step = max((high - low) // 20, 1)
        return f"{rng.randrange(low, high + 1, step)} {issue.unit}".strip()

    for issue in issues:
        event("issue.added", us, issue_id=issue.pk)
    PriorityEntry.objects.bulk_create(
        [PriorityEntry(party=party, issue=issue, importance=rng.randint(1, 5),
                       can_give="Phasing", want_get="Commitment",
                       ideal_outcome=value(issue))
         for party in (host, other) for issue in issues]
    )  # fmt: skip
    lead = numeric[0]
    AnchorEntry.objects.bulk_create(
        [AnchorEntry(party=host, issue=lead, low=Decimal(bounds[lead.pk][1] * 0.9),
                     high=Decimal(bounds[lead.pk][1]))]
    )  # fmt: skip
    event("participant.joined", them, participant_id=them.pk)
    event("setup.updated", us)
    event("setup.updated", them)

    stage = Stage.SETUP

    def move(to_stage: str, proposer, answerer, days: float) -> None:
        nonlocal stage
        clock.tick(60 * 24 * days * 0.6, 60 * 24 * days)
        change = StageChange.objects.create(
            deal=deal, from_stage=stage, to_stage=to_stage, party=proposer.party,
            proposed_by=proposer, status="accepted", decided_by=answerer,
            decided_at=clock.now, created_at=clock.now,
        )  # fmt: skip
        event("stage.proposed", proposer, change_id=change.pk)
        event("stage.accepted", answerer, change_id=change.pk, stage=to_stage)
        stage = to_stage

    move(Stage.FIRST_MOVE, us, them, rng.uniform(0.5, 5))
    ranking = [issue.pk for issue in issues]
    SharedPosition.objects.bulk_create([
        SharedPosition(party=host, interests="Adoption first.",
                       ranking=rng.sample(ranking, len(ranking))),
        SharedPosition(party=other, interests="Predictable spend.",
                       ranking=rng.sample(ranking, len(ranking))),
    ])  # fmt: skip
    event("position.updated", us, party="host")
    event("position.updated", them, party="counterpart")
    move(Stage.MIDGAME, them, us, rng.uniform(1, 7))

    terms: dict[int, tuple[str, Trade | None]] = {}
    if rng.random() < 0.5:
        meso = MesoSet.objects.create(
            deal=deal, party=host, created_by=us, status="answered", answered_by=them,
            created_at=clock.tick(),
        )  # fmt: skip
        packages = Package.objects.bulk_create(
            [Package(deal=deal, party=host, created_by=us, name=name, meso_set=meso,
                     values={str(i.pk): value(i) for i in issues})
             for name in ("Fast start", "Balanced", "Lean")]
        )  # fmt: skip
        picked = rng.choice(packages)
        meso.picked = picked
        meso.preference = [p.pk for p in packages]
        meso.save(update_fields=["picked", "preference"])
        event("meso.presented", us, meso_id=meso.pk)
        event("meso.answered", them, meso_id=meso.pk)
        for issue in issues:
            terms[issue.pk] = (picked.values[str(issue.pk)], None)

    concessions = []
    for number in range(rng.randint(2, 8)):
        proposer, answerer = (us, them) if number % 2 == 0 else (them, us)
        give, ask = rng.sample([*numeric, issues[-1]], 2)
        trade = Trade.objects.create(
            deal=deal, party=proposer.party, proposed_by=proposer, give_issue=give,
            give_value=value(give), ask_issue=ask, ask_value=value(ask),
            rationale="Keeps both budgets whole.", created_at=clock.tick(),
        )  # fmt: skip
        event("trade.proposed", proposer, trade_id=trade.pk)
        fate = rng.choice(["declined", "withdrawn", "countered", "accepted"])
        if fate == "countered":
            trade.status, trade.decided_by = "countered", answerer
            trade.save(update_fields=["status", "decided_by"])
            counter = Trade.objects.create(
                deal=deal, party=answerer.party, proposed_by=answerer,
                give_issue=ask, give_value=value(ask), ask_issue=give,
                ask_value=value(give), counter_of=trade, created_at=clock.tick(),
            )  # fmt: skip
            event(
                "trade.countered", answerer, trade_id=counter.pk, original_id=trade.pk
            )
            trade, (proposer, answerer) = counter, (answerer, proposer)
            fate = rng.choice(["declined", "accepted"])
        trade.status, trade.decided_by, trade.decided_at = fate, answerer, clock.tick()
        if fate == "declined":
            trade.decline_reason = "Too far from where we need to be."
        trade.save(
            update_fields=["status", "decided_by", "decided_at", "decline_reason"]
        )
        event(f"trade.{fate}", answerer if fate != "withdrawn" else proposer,
              trade_id=trade.pk)  # fmt: skip
        if fate == "accepted":
            terms[trade.give_issue_id] = (trade.give_value, trade)
            terms[trade.ask_issue_id] = (trade.ask_value, trade)
            for party, giver, gives, gets in (
                (trade.party, proposer, trade.give_value, trade.ask_value),
                (answerer.party, answerer, trade.ask_value, trade.give_value),
            ):
                concessions.append(Concession(
                    deal=deal, party=party, created_by=giver, item="Conditional trade",
                    we_give=gives, we_get=gets, trigger="Accepted conditional trade",
                    trade=trade, created_at=clock.now,
                ))  # fmt: skip
        for _ in range(rng.randint(0, 3)):
            author = rng.choice([us, them])
            message = Message.objects.create(
                deal=deal, author=author, body=rng.choice(MESSAGES),
                created_at=clock.tick(),
            )  # fmt: skip
            event("message.posted", author, message_id=message.pk)
    Concession.objects.bulk_create(concessions)
    for _ in range(rng.randint(1, 4)):
        giver = rng.choice([us, them])
        concession = Concession.objects.create(
            deal=deal, party=giver.party, created_by=giver, item="Goodwill item",
            we_give="A pilot month", we_get="A case study",
            value_to_us=Decimal(rng.randrange(1_000, 20_000, 500)),
            value_to_them=Decimal(rng.randrange(1_000, 30_000, 500)),
            values_shared=rng.random() < 0.4, created_at=clock.tick(),
        )  # fmt: skip
        event("concession.added", giver, concession_id=concession.pk)
        if rng.random() < 0.5:
            event("concession.valued", giver, concession_id=concession.pk)

    Nudge.objects.bulk_create(
        [Nudge(deal=deal, party=party, kind=kind, subject="deal",
               message="The coach noticed a pattern worth a look.",
               created_at=clock.now)
         for party, amount in ((host, rng.randint(0, 3)), (other, rng.randint(0, 2)))
         for kind in rng.sample(Nudge.Kind.values, amount)]
    )  # fmt: skip

    if not agreed and rng.random() < 0.5:
        ended_in = Stage.MIDGAME
    else:
        move(Stage.CLOSE, us, them, rng.uniform(3, 25))
        ended_in = Stage.CLOSE
        for issue in issues:
            if issue.pk not in terms or rng.random() < 0.2:
                actor = rng.choice([us, them])
                written = value(issue)
                terms[issue.pk] = (written, None)
                event("term.updated", actor, issue_id=issue.pk, value=written)
    TermSheetEntry.objects.bulk_create(
        [TermSheetEntry(issue_id=pk, deal=deal, value=written, source_trade=trade)
         for pk, (written, trade) in terms.items()]
    )  # fmt: skip

    if not agreed:
        clock.tick(60 * 24, 60 * 24 * 5)
        event("deal.no_deal", rng.choice([us, them]))
        closed_at = clock.now
        Deal.objects.filter(pk=deal.pk).update(
            stage=ended_in, status="no_deal", outcome_note="Budget frozen.",
            closed_at=closed_at,
        )  # fmt: skip
    else:
        commitments = []
        for _ in range(rng.randint(1, 3)):
            owner = rng.choice([host, other])
            commitment = Commitment.objects.create(
                deal=deal, owner_party=owner, owner_name="Robin",
                description=rng.choice(["Dashboards live in every store",
                                        "Quarterly business review",
                                        "Integration signed off",
                                        "Training for every site lead"]),
                metric="sites live", target="95%",
                due_date=(clock.now + datetime.timedelta(rng.randint(20, 240))).date(),
                host_confirmed_at=clock.now, counterpart_confirmed_at=clock.now,
                created_at=clock.tick(),
            )  # fmt: skip
            commitments.append(commitment)
            event(
                "commitment.added", rng.choice([us, them]), commitment_id=commitment.pk
            )
            event("commitment.confirmed", us, commitment_id=commitment.pk)
            event("commitment.confirmed", them, commitment_id=commitment.pk)
        for participant in (us, them):
            AgreementConfirmation.objects.create(
                deal=deal, party=participant.party, confirmed_by=participant,
                digest="0" * 64, confirmed_at=clock.tick(),
            )  # fmt: skip
            event("agreement.confirmed", participant, party=participant.party.side)
        closed_at = clock.now
        move(Stage.IMPLEMENTATION, them, us, rng.uniform(0.5, 3))
        cadence = {"weekly": 7, "fortnightly": 14, "monthly": 30, "quarterly": 91}[
            deal.review_cadence
        ]
        held = closed_at
        statuses = ["on_track", "at_risk", "done", "missed", "on_track"]
        for _ in range(rng.randint(0, 4)):
            held += datetime.timedelta(days=cadence)
            if held > now - datetime.timedelta(days=1):
                break
            clock.until(held)
            check_in = CheckIn.objects.create(
                deal=deal, held_on=held.date(), notes="Reviewed every commitment.",
                created_by=rng.choice([us, them]), created_at=clock.tick(),
            )  # fmt: skip
            items = []
            for commitment in commitments:
                commitment.status = rng.choice(statuses)
                items.append(CheckInItem(check_in=check_in, commitment=commitment,
                                         status=commitment.status))  # fmt: skip
            CheckInItem.objects.bulk_create(items)
            event("checkin.added", check_in.created_by, check_in_id=check_in.pk)
        Commitment.objects.bulk_update(commitments, ["status"])
        Deal.objects.filter(pk=deal.pk).update(
            stage=Stage.IMPLEMENTATION, status="agreed", closed_at=closed_at
        )

    log.sort(key=lambda entry: entry[0])
    DealEvent.objects.bulk_create(
        [DealEvent(deal=deal, seq=seq, actor=actor, kind=kind, payload=payload,
                   created_at=when)
         for seq, (when, kind, actor, payload) in enumerate(log, 1)]
    )  # fmt: skip
    Deal.objects.filter(pk=deal.pk).update(
        last_seq=len(log), created_at=created, updated_at=log[-1][0]
    )
    return len(log)


# --- measuring -----------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(times: list[float], queries: int) -> dict[str, float]:
    return {
        "requests": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "queries": queries,
    }


def measure(requests: int, rng: random.Random) -> dict[str, dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from negotiation.models import Deal, DealEvent

    manager = get_user_model().objects.get(username="bench-manager")
    client = Client()
    client.force_login(manager)
    deals = list(Deal.objects.values_list("pk", "last_seq", "owner_id"))
    reps = sorted({owner for _, _, owner in deals})
    word = Deal.objects.values_list("counterpart_organisation", flat=True).first()
    pages = max(len(deals) // 20, 1)
    dashboard_urls = [
        "/deals/dashboard/",
        "/deals/dashboard/?status=agreed",
        "/deals/dashboard/?status=no_deal&sort=closed",
        f"/deals/dashboard/?q={word.split()[0]}",
        "/deals/dashboard/?context=sales&stage=implementation",
    ]

    def dashboard_url() -> str:
        choice = rng.random()
        if choice < 0.2:
            return f"/deals/dashboard/?page={rng.randint(1, pages)}"
        if choice < 0.35:
            return f"/deals/dashboard/?rep={rng.choice(reps)}"
        return rng.choice(dashboard_urls)

    def review_url() -> str:
        pk, last_seq, _ = rng.choice(deals)
        if rng.random() < 0.5:
            return f"/deals/{pk}/review/"
        return f"/deals/{pk}/review/?step={rng.randint(1, last_seq)}"

    def timed(url: str) -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            fail(f"{url} answered {response.status_code}")
        return elapsed

    def queries(url: str) -> int:
        # Counting needs the debug cursor, whatever DEBUG says.
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured)

    for _ in range(WARMUP):
        timed(dashboard_url())
        timed(review_url())
    dashboard_times, review_times = [], []
    for _ in range(requests):  # interleaved, so both see the same conditions
        dashboard_times.append(timed(dashboard_url()))
        review_times.append(timed(review_url()))
    busiest = (
        DealEvent.objects.values("deal_id")
        .order_by("-seq")
        .values_list("deal_id", flat=True)
        .first()
    )
    return {
        "dashboard": summary(dashboard_times, queries("/deals/dashboard/")),
        "review": summary(review_times, queries(f"/deals/{busiest}/review/")),
    }


def counts() -> dict[str, int]:
    from negotiation.models import Commitment, Deal, DealEvent, Message, Trade

    return {
        "deals": Deal.objects.count(),
        "agreed": Deal.objects.filter(status="agreed").count(),
        "no_deal": Deal.objects.filter(status="no_deal").count(),
        "events": DealEvent.objects.count(),
        "trades": Trade.objects.count(),
        "messages": Message.objects.count(),
        "commitments": Commitment.objects.count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--debug",
        action="store_true",
        help="Measure with DJANGO_DEBUG=1 (development settings) instead.",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep an already seeded database instead of seeding it again.",
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        fail("set DATABASE_URL=postgres://…/parley_dash_bench (PostgreSQL only)")
    if database_name(database_url) in ("", "postgres", "template0", "template1"):
        fail("DATABASE_URL must name a database of its own for the bench")

    ensure_database(database_url, recreate=False)
    setup_django(database_url, debug=args.debug)
    from django.core.management import call_command
    from django.db import connection

    from negotiation.models import Team

    seeded_before = False
    if args.reuse:
        call_command("migrate", verbosity=0, interactive=False)
        seeded_before = Team.objects.filter(name=TEAM_NAME).exists()
    seconds = 0.0
    if not seeded_before:
        connection.close()
        ensure_database(database_url, recreate=True)
        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        seed(args.deals, random.Random(args.seed))
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    results = measure(args.requests, random.Random(args.seed + 1))
    report = {
        "database": "postgresql",
        "seeded": counts(),
        "seed_seconds": round(seconds, 1),
        "server_time": "in-process (Django test client): middleware, view, "
        "queries, template; no network",
        "settings": "development (DEBUG=1)" if args.debug else "production (DEBUG=0)",
        **results,
        "bar": BAR,
        "pass": results["dashboard"]["p95_ms"] <= BAR["dashboard_p95_ms"]
        and results["review"]["p95_ms"] <= BAR["review_p95_ms"],
    }
    print(json.dumps(report, indent=2))
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())

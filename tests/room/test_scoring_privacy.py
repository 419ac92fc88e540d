"""A side's private scoring never reaches the other side: every byte, proved
by difference.

Looking for the other side's figures in what a side receives is weak for
scores: "37" or "50" turn up in any page by accident, so a search either
misses a leak or fails for nothing. These tests compare instead. The same deal
is built and negotiated twice, identically, except for one side's private
scoring (other weights, ratings, value-function points and reservation
score, and a different new scoring saved mid-way). Everything the *other*
side can get is recorded both times:

- every GET page of the negotiation, room and review apps it can reach, with
  this deal's ids filled in (the URL patterns are enumerated from the
  resolver; a pattern the walk does not know fails the test), the htmx
  partials, "show earlier" pages, the review's replay of every step, the
  exports (Markdown, iCalendar, print), status, headers and body;
- every websocket frame its sockets receive while the varied side performs
  every room action that renders scores (trades proposed, countered,
  accepted, declined and withdrawn, terms, MESO sets and answers, positions,
  concessions, messages, consent to the joint check, a stage change), the
  resync after a reconnect, a heartbeat, and the ``scores`` frame of a
  scoring saved by its own side.

Both recordings must be byte-for-byte the same once what legitimately
differs between two runs is normalized (``normalized``: CSRF tokens, CSP
nonces, per-form client ids, session cookies, clock times). If anything the
varied scoring decides reached the other side, a byte would differ.

The joint check's verdict, which both scorings decide by design, is checked
apart (``test_the_joint_checks_words_carry_no_figure_of_the_other_side``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import factory.random
import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management import call_command
from django.template.defaultfilters import floatformat
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from negotiation.access import DealAccess, deal_access_for_user
from negotiation.models import Deal, Issue, Membership, Party, Scoring
from negotiation.selectors import own_scoring
from negotiation.services import deals as deal_services
from negotiation.services import preparation as prep_services
from negotiation.services.preparation import IssueScoreInput, scoring_save
from review.models import Lesson
from room import services
from room.models import (
    Concession,
    MesoSet,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
)
from room.render import render_events
from room.services import jointcheck
from tests.factories import (
    IssueFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    make_deal,
)
from tests.room.conftest import access_of_guest, join_as, session_cookie
from tests.room.sockets import TIMEOUT, db, socket

HOST, COUNTERPART = Party.Side.HOST, Party.Side.COUNTERPART
OTHER_SIDE = {HOST: COUNTERPART, COUNTERPART: HOST}

# --- the scorings -------------------------------------------------------------

# Per issue: (weight, value-function points) for a number, (weight, ratings)
# for a set of options; and the reservation score. The two of a side differ
# in every figure; the "saved later" ones are what the side saves mid-way.
Spec = dict[str, Any]

ONBOARDING = ["Remote only", "Two on-site weeks", "Dedicated lead"]
LENGTH = ["12 months", "24 months", "36 months"]

HOST_SCORINGS: dict[str, Spec] = {
    "one": {
        "reservation": "44.17",
        "Price": (40, [("100000", 0), ("250000", 100)]),
        "Payment terms": (30, [("0", 100), ("90", 0)]),
        "Onboarding": (20, {"Remote only": 100, "Two on-site weeks": 55,
                            "Dedicated lead": 0}),
        "Contract length": (10, {"12 months": 0, "24 months": 40,
                                 "36 months": 100}),
    },
    "two": {
        "reservation": "61.83",
        "Price": (13, [("120000", 3), ("180000", 71), ("240000", 97)]),
        "Payment terms": (47, [("15", 92), ("75", 8)]),
        "Onboarding": (9, {"Remote only": 83, "Two on-site weeks": 26,
                           "Dedicated lead": 14}),
        "Contract length": (31, {"12 months": 19, "24 months": 67,
                                 "36 months": 88}),
    },
    "saved later": {
        "reservation": "52.09",
        "Price": (35, [("110000", 6), ("230000", 94)]),
        "Payment terms": (35, [("10", 96), ("80", 4)]),
        "Onboarding": (15, {"Remote only": 91, "Two on-site weeks": 43,
                            "Dedicated lead": 7}),
        "Contract length": (15, {"12 months": 12, "24 months": 58,
                                 "36 months": 79}),
    },
    "saved later, two": {
        "reservation": "33.71",
        "Price": (22, [("105000", 11), ("245000", 89)]),
        "Payment terms": (28, [("5", 77), ("85", 23)]),
        "Onboarding": (27, {"Remote only": 64, "Two on-site weeks": 38,
                            "Dedicated lead": 21}),
        "Contract length": (23, {"12 months": 31, "24 months": 49,
                                 "36 months": 73}),
    },
}  # fmt: skip

COUNTERPART_SCORINGS: dict[str, Spec] = {
    "one": {
        "reservation": "38.29",
        "Price": (35, [("100000", 100), ("250000", 0)]),
        "Payment terms": (40, [("0", 0), ("90", 100)]),
        "Onboarding": (15, {"Remote only": 0, "Two on-site weeks": 60,
                            "Dedicated lead": 100}),
        "Contract length": (10, {"12 months": 100, "24 months": 50,
                                 "36 months": 0}),
    },
    "two": {
        "reservation": "57.63",
        "Price": (21, [("110000", 94), ("170000", 36), ("230000", 12)]),
        "Payment terms": (18, [("20", 7), ("70", 89)]),
        "Onboarding": (44, {"Remote only": 16, "Two on-site weeks": 72,
                            "Dedicated lead": 93}),
        "Contract length": (17, {"12 months": 81, "24 months": 34,
                                 "36 months": 9}),
    },
    "saved later": {
        "reservation": "47.51",
        "Price": (30, [("100000", 97), ("240000", 3)]),
        "Payment terms": (30, [("5", 2), ("95", 98)]),
        "Onboarding": (25, {"Remote only": 13, "Two on-site weeks": 52,
                            "Dedicated lead": 87}),
        "Contract length": (15, {"12 months": 92, "24 months": 46,
                                 "36 months": 6}),
    },
    "saved later, two": {
        "reservation": "26.93",
        "Price": (33, [("115000", 83), ("235000", 17)]),
        "Payment terms": (12, [("25", 19), ("65", 81)]),
        "Onboarding": (39, {"Remote only": 24, "Two on-site weeks": 59,
                            "Dedicated lead": 76}),
        "Contract length": (16, {"12 months": 68, "24 months": 42,
                                 "36 months": 11}),
    },
}  # fmt: skip

SCORINGS = {HOST: HOST_SCORINGS, COUNTERPART: COUNTERPART_SCORINGS}
# What the side that does not vary always has (and saves mid-way).
FIXED, FIXED_LATER = "one", "saved later"
# The varied side's scoring in each run, and what it saves mid-way.
VARIANTS = (("one", "saved later"), ("two", "saved later, two"))


def score_inputs(deal: Deal, spec: Spec) -> dict[int, IssueScoreInput]:
    inputs = {}
    for issue in deal.issues.all():
        weight, worth = spec[issue.name]
        if isinstance(worth, dict):
            inputs[issue.pk] = IssueScoreInput(weight, ratings=dict(worth))
        else:
            points = [(Decimal(value), score) for value, score in worth]
            inputs[issue.pk] = IssueScoreInput(weight, points=points)
    return inputs


def save_scoring(access: DealAccess, spec: Spec) -> None:
    scoring = Scoring.objects.filter(party=access.party).first()
    scoring_save(
        access=access,
        version=scoring.version if scoring else None,
        reservation_score=Decimal(spec["reservation"]),
        issues=score_inputs(access.deal, spec),
    )


# --- what may differ between two runs -------------------------------------------

# Each pattern matches something that is new on every request or every run
# and that no scoring decides. Nothing else is touched.
NORMALIZE: list[tuple[re.Pattern[str], str]] = [
    # CSRF tokens (masked afresh per response) in forms, hx-headers and cookies.
    # (In a JSON frame the quotes are escaped: \".)
    (re.compile(r'(name=\\?"csrfmiddlewaretoken\\?" value=\\?")\w+'), r"\1<csrf>"),
    (re.compile(r"(X-CSRFToken(?:&quot;|\"|\\\")\s*:\s*(?:&quot;|\"|\\\"))\w+"),
     r"\1<csrf>"),
    (re.compile(r"(csrftoken=)\w+"), r"\1<csrf>"),
    (re.compile(r"(sessionid=)\w+"), r"\1<session>"),
    # The team's join code (random, made with the team).
    (re.compile(r"(signup/\?team=)[\w-]+"), r"\1<join-code>"),
    # A side's own nudges are named by a random key (never by the row ids both
    # sides' nudges share, whose gaps would count the other side's nudges).
    (re.compile(r'(nudge-|name=\\?"nudge_key\\?" value=\\?")[\w-]+'), r"\1<key>"),
    # A share link's token (random per run), where a link is shown or sent to.
    (re.compile(r"(/join/#)[\w-]+"), r"\1<token>"),
    # CSP nonces, in the header and on script tags.
    (re.compile(r"(nonce-)[\w+/=-]+"), r"\1<nonce>"),
    (re.compile(r'(nonce=(?:"|\\"))[\w+/=-]+'), r"\1<nonce>"),
    # The id each rendered form carries so a resubmission applies once.
    (re.compile(r'(name=(?:"|\\")client_msg_id(?:"|\\") value=(?:"|\\"))\w+'),
     r"\1<client-msg-id>"),
    # Clock times and the instants Parley stamps (ISO, iCalendar), which move
    # between runs: "08:41", "2026-11-29T08:41:07.123+00:00", "20261129T084107Z".
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?"),  # noqa: E501
     "<instant>"),
    (re.compile(r"\b\d{8}T\d{6}Z?\b"), "<instant>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?( ?[ap]\.?m\.?)?"), "<time>"),
    # The time-in-stage chart is drawn to the wall-clock time each stage took.
    (re.compile(r'<svg [^>]*class="chart bars stages".*?</svg>', re.S),
     "<time-in-stage chart>"),
    # The review's charts number their SVG ids from a counter of the process.
    (re.compile(r"\bchart-\d+-"), "chart-<n>-"),
]  # fmt: skip


def normalized(text: str) -> str:
    for pattern, replacement in NORMALIZE:
        text = pattern.sub(replacement, text)
    return text


# --- the deal, built the same way on every run ------------------------------------


@dataclasses.dataclass
class World:
    deal: Deal
    host: DealAccess
    guest: DealAccess
    issues: dict[str, Issue]
    token: str
    team_id: int
    clients: dict[str, Client]  # viewer → browser
    cookies: dict[str, str]  # viewer → session cookie
    invite_id: int
    evidence_ids: dict[str, int]  # side → an item of its evidence pack
    lesson_id: int


VIEWERS_OF = {HOST: ("rep", "manager"), COUNTERPART: ("guest",)}
SIDE_OF = {"rep": HOST, "manager": HOST, "guest": COUNTERPART}


def fresh_database() -> None:
    """Empty every table and restart every id sequence, so that a run makes
    the very same rows, with the very same ids, as the run before it."""
    call_command("flush", interactive=False, verbosity=0, reset_sequences=True)
    ContentType.objects.clear_cache()
    cache.clear()
    factory.random.reseed_random("parley")


def build(host_spec: Spec, guest_spec: Spec) -> World:
    """A deal in Midgame with issues of both kinds, both sides prepared and
    scored, and something of every kind on the table."""
    fresh_database()
    team = TeamFactory(name="Northwind")
    rep = UserFactory(username="rep", first_name="Riley")
    MembershipFactory(user=rep, team=team)
    manager = UserFactory(username="manager", first_name="Morgan")
    MembershipFactory(user=manager, team=team, role=Membership.Role.MANAGER)
    deal = make_deal(
        owner=rep, team=team, title="Depot renewal", counterpart_organisation="Acme"
    )
    host = deal_access_for_user(rep, deal.pk)
    add = deal_services.issue_add
    issues = {
        "Price": add(access=host, name="Price", unit="EUR"),
        "Payment terms": add(access=host, name="Payment terms", unit="days"),
        "Onboarding": add(
            access=host, name="Onboarding", kind=Issue.Kind.OPTIONS, options=ONBOARDING
        ),
        "Contract length": add(
            access=host, name="Contract length", kind=Issue.Kind.OPTIONS, options=LENGTH
        ),
    }
    invite, token = services.invite_create(access=host, label="Dana")
    guest_client = Client()
    participant = join_as(guest_client, token, "Dana Ortiz")
    guest = access_of_guest(deal, participant)
    evidence_ids = {}
    for access in (host, guest):
        for importance, issue in enumerate(issues.values(), start=2):
            prep_services.priority_set(
                access=access, issue_id=issue.pk, version=None, importance=importance
            )
        evidence_ids[access.side] = prep_services.evidence_add(
            access=access, kind="benchmark", title="Market rates", detail=""
        ).pk
    lesson_id = _lesson(host, team)

    price, payment, onboarding, length = issues.values()
    _move(host, guest, Deal.Stage.FIRST_MOVE)
    for access, order in ((host, [price, length]), (guest, [payment, onboarding])):
        ranking = [i.pk for i in order] + [
            i.pk for i in issues.values() if i not in order
        ]
        services.position_update(
            access=access, version=None, interests="Growth.", ranking=ranking
        )
    _move(guest, host, Deal.Stage.MIDGAME)
    save_scoring(host, host_spec)
    save_scoring(guest, guest_spec)

    # On the table: terms, open trades of both sides (each side answers the
    # other's over the socket), MESO sets of both sides, concessions, talk.
    services.term_set(access=host, issue_id=price.pk, version=None, value="180000")
    services.term_set(
        access=guest, issue_id=onboarding.pk, version=None, value="Two on-site weeks"
    )
    for access in (host, guest):
        for give, give_value, ask, ask_value in (
            (payment, "45 days", price, "200000"),
            (onboarding, "Dedicated lead", length, "36 months"),
            (onboarding, "Two on-site weeks", length, "24 months"),
            (price, "170000", payment, "30 days"),
        ):
            services.trade_propose(
                access=access, give_issue_id=give.pk, give_value=give_value,
                ask_issue_id=ask.pk, ask_value=ask_value,
            )  # fmt: skip
    for access in (host, guest):
        services.meso_present(access=access, packages=_packages(issues), note="Equal")
    services.concession_add(
        access=guest, item="Reference call", we_give="Two calls",
        value_to_us=Decimal("3000"), value_to_them=Decimal("9000"),
    )  # fmt: skip
    services.message_post(access=host, body="Shall we look at payment first?")

    clients = {"guest": guest_client}
    for name, user in (("rep", rep), ("manager", manager)):
        clients[name] = Client()
        clients[name].force_login(user)
    return World(
        deal=Deal.objects.get(pk=deal.pk),
        host=host,
        guest=guest,
        issues=issues,
        token=token,
        team_id=team.pk,
        clients=clients,
        cookies={name: session_cookie(client) for name, client in clients.items()},
        invite_id=invite.pk,
        evidence_ids=evidence_ids,
        lesson_id=lesson_id,
    )


def _lesson(host: DealAccess, team) -> int:
    return Lesson.objects.create(
        team=team, context=host.deal.context, text="Trade on differences."
    ).pk


def _move(proposer: DealAccess, answerer: DealAccess, stage: str) -> None:
    change = services.stage_change_propose(access=proposer, to_stage=stage)
    services.stage_change_respond(access=answerer, change_id=change.pk, accept=True)


def _packages(issues: dict[str, Issue]) -> list[dict]:
    price, payment, onboarding, length = (str(i.pk) for i in issues.values())
    return [
        {"name": name, "values": {price: p, payment: d, onboarding: o, length: c}}
        for name, p, d, o, c in (
            ("Fast", "210000", "30 days", "Dedicated lead", "12 months"),
            ("Lean", "160000", "60 days", "Remote only", "24 months"),
            ("Long", "190000", "45 days", "Two on-site weeks", "36 months"),
        )
    ]


# --- every GET page, for one viewer ---------------------------------------------

# Whole URL namespaces and root patterns the walk leaves out, and why: none
# of them renders anything of a deal.
NOT_DEAL_PAGES = {
    "admin": "Django admin: staff only, none of the viewers is staff",
    "playbooks": "the method's content, the same for everyone",
    "healthz": "a health probe",
    "favicon": "the site icon, the same for everyone",
    "signup": "account creation",
    "login": "authentication pages",
    "logout": "authentication pages",
    "password_change": "authentication pages",
    "password_change_done": "authentication pages",
    "password_reset": "authentication pages",
    "password_reset_done": "authentication pages",
    "password_reset_confirm": "authentication pages",
    "password_reset_complete": "authentication pages",
}

# The patterns no GET reaches (405 for every viewer): the walk cannot open
# them, so they are named here. A new page or form endpoint fails the walk
# until it is listed in one place or the other.
POST_ONLY = {
    "team-rotate-code",
    "review:lesson-delete",
    "review:review-save",
    "review:review-comment",
    "review:review-lesson",
    "negotiation:issue-add",
    "negotiation:issue-delete",
    "negotiation:issue-move",
    "negotiation:prep-priority",
    "negotiation:prep-anchor",
    "negotiation:prep-evidence-add",
    "negotiation:prep-evidence-delete",
    "live:invite-revoke",
    "live:act",
    "live:join-open",
    "live:seen",
    "live:orientation-dismiss",
}

# What each viewer opens with a 200, by pattern; everything else it gets is
# a redirect, a 403, a 404 or a 409 (recorded all the same). Named so that a
# page silently turning into an error cannot empty the comparison.
PAGES_OPEN_TO = {
    "rep": {
        "team", "review:lessons", "review:review", "review:review-ics",
        "review:review-summary", "review:review-markdown",
        "negotiation:deal-list", "negotiation:deal-create",
        "negotiation:deal-detail", "negotiation:deal-edit",
        "negotiation:issue-list", "negotiation:issue-edit", "negotiation:prep",
        "negotiation:prep-section", "live:invites", "live:room", "live:sync",
        "live:earlier", "live:summary", "live:meso-suggest", "live:join",
    },
    "manager": {
        "team", "review:dashboard", "review:dashboard-csv",
        "review:lessons", "review:review", "review:review-ics",
        "review:review-summary", "review:review-markdown",
        "negotiation:deal-list", "negotiation:deal-create",
        "negotiation:deal-detail", "negotiation:issue-list", "negotiation:prep",
        "negotiation:prep-section", "live:invites", "live:room", "live:sync",
        "live:earlier", "live:summary", "live:join",
    },
    "guest": {
        "home", "review:review", "review:review-ics", "review:review-summary",
        "review:review-markdown", "negotiation:prep", "negotiation:prep-section",
        "live:room", "live:sync", "live:earlier", "live:summary",
        "live:meso-suggest", "live:join", "live:leave",
    },
}  # fmt: skip


def url_patterns() -> list[tuple[str, list[str]]]:
    """Every named URL pattern (namespaced) and its URL arguments, from the
    resolver, minus ``NOT_DEAL_PAGES``."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns, namespace: str | None, inherited: list[str]) -> None:
        for entry in patterns:
            arguments = inherited + list(entry.pattern.converters)
            if isinstance(entry, URLResolver):
                inner = entry.namespace or namespace
                if inner in NOT_DEAL_PAGES:
                    continue
                walk(entry.url_patterns, inner, arguments)
            elif isinstance(entry, URLPattern) and entry.name:
                if entry.name in NOT_DEAL_PAGES:
                    continue
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.append((name, arguments))
            else:
                raise AssertionError(f"An unnamed URL pattern: {entry.pattern}")

    walk(get_resolver().url_patterns, None, [])
    return found


def argument_values(world: World, viewer: str) -> dict[str, list[Any]]:
    """Each URL argument's values to try: this deal's objects, every value a
    slug can take, and the other side's objects too (refused, but recorded)."""
    from negotiation.views.preparation import PAGES
    from room.views.room import EARLIER

    return {
        "deal_id": [world.deal.pk],
        "issue_id": [issue.pk for issue in world.issues.values()],
        "section": list(PAGES),
        "list_name": list(EARLIER),
        "side": [HOST, COUNTERPART],
        "token": [world.token],
        "team_id": [world.team_id],
        "invite_id": [world.invite_id],
        "evidence_id": list(world.evidence_ids.values()),
        "lesson_id": [world.lesson_id],
        "action": ["term.set"],
    }


def _combinations(names: list[str], values: dict[str, list[Any]]):
    if not names:
        yield {}
        return
    first, rest = names[0], names[1:]
    if first not in values:
        raise AssertionError(
            f"The privacy walk does not know how to fill the URL argument "
            f"{first!r}: add its values to argument_values()."
        )
    for value in values[first]:
        for tail in _combinations(rest, values):
            yield {first: value, **tail}


def record(response) -> str:
    """Everything the viewer's browser receives: status, headers, body."""
    # Content-Length follows the body, which is compared itself.
    headers = "\n".join(
        f"{k}: {v}" for k, v in sorted(response.items()) if k != "Content-Length"
    )
    cookies = "\n".join(
        f"Set-Cookie: {morsel.OutputString()}"
        for _, morsel in sorted(response.cookies.items())
    )
    body = b"".join(response) if response.streaming else response.content
    return f"{response.status_code}\n{headers}\n{cookies}\n\n{body.decode()}"


def walk_pages(world: World, viewer: str) -> tuple[dict[str, str], dict[str, int]]:
    """Every GET the viewer can make of this deal's pages: URL → recording,
    and pattern name → the best status it answered with."""
    client = world.clients[viewer]
    values = argument_values(world, viewer)
    pages: dict[str, str] = {}
    statuses: dict[str, int] = {}
    for name, arguments in url_patterns():
        for kwargs in _combinations(arguments, values):
            url = reverse(name, kwargs=kwargs)
            for query, headers in _variants(name, world):
                response = client.get(url + query, headers=headers)
                shown = {k: "<token>" if k == "token" else v for k, v in kwargs.items()}
                key = f"{name} {shown}{query} {sorted(headers.items())}"
                pages[key] = record(response)
                best = statuses.get(name)
                if best != 200:
                    statuses[name] = response.status_code
    return pages, statuses


def _variants(name: str, world: World) -> list[tuple[str, dict[str, str]]]:
    """The query strings and htmx headers each page is asked with."""
    plain = [("", {})]
    if name == "live:earlier":
        # Far past every id: the whole list, a page at a time.
        return [("?before=1000000", {}), ("?before=1000000", {"HX-Request": "true"})]
    if name == "review:review":
        # The full page, and the replay partial (hx-target="replay") of every
        # step of the log: each shows the term sheet as it stood.
        steps = world.deal.last_seq + 1
        return plain + [
            (f"?step={n}", {"HX-Request": "true", "HX-Target": "replay"})
            for n in range(1, steps + 1)
        ]
    if name == "negotiation:issue-list":
        return [*plain, ("?suggestion=payment-terms", {})]
    if name in {"live:room", "live:meso-suggest", "live:sync"}:
        return [*plain, ("", {"HX-Request": "true"})]
    return plain


def check_walk(statuses: dict[str, int], viewer: str) -> None:
    not_gettable = {name for name, status in statuses.items() if status == 405}
    if viewer == "guest":
        # A page for accounts only sends the guest to log in first.
        assert not_gettable <= POST_ONLY
        assert {statuses[name] for name in POST_ONLY - not_gettable} == {302}
    else:
        assert not_gettable == POST_ONLY
    open_pages = {name for name, status in statuses.items() if status == 200}
    assert open_pages == PAGES_OPEN_TO[viewer]


# --- every frame, for each socket -----------------------------------------------


class Recorder:
    """A socket and every frame it received, in order."""

    def __init__(self, name: str, cookie: str, deal_id: int) -> None:
        self.name = name
        self.cookie = cookie
        self.deal_id = deal_id
        self.frames: list[dict] = []
        self.comm: WebsocketCommunicator | None = None

    async def open(self) -> None:
        self.comm = socket(self.deal_id, self.cookie)
        connected, _ = await self.comm.connect(timeout=TIMEOUT)
        assert connected

    async def shut(self) -> None:
        """Close the socket. What arrives while it closes is not recorded:
        whether another socket's departure reaches it first is a race."""
        if self.comm is not None:
            self.pump()
            comm, self.comm = self.comm, None
            await comm.disconnect()

    def pump(self) -> None:
        """Take every frame that has arrived, without waiting."""
        if self.comm is None:
            return
        queue = self.comm.output_queue
        while not queue.empty():
            output = queue.get_nowait()
            if output["type"] == "websocket.send":
                frame = json.loads(output["text"])
                assert frame["type"] != "error", (self.name, frame)
                self.frames.append(frame)
            else:
                self.frames.append({"type": output["type"]})


class Room:
    """The sockets of one run: the rep's, the guest's and the manager's."""

    SETTLE = 0.15  # quiet long enough for a coach frame after an ack

    def __init__(self, world: World, later: str) -> None:
        self.world = world
        self.later = later  # the varied side's new scoring, saved mid-way
        self.sockets = {
            name: Recorder(name, world.cookies[name], world.deal.pk)
            for name in ("rep", "guest", "manager")
        }
        self.count = 0

    async def open(self, *names: str) -> None:
        for name in names:
            await self.sockets[name].open()
        await self.settle()

    async def until(self, done: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            for recorder in self.sockets.values():
                recorder.pump()
            if done():
                return
            assert loop.time() < deadline, "a frame never came"
            await asyncio.sleep(0.01)

    async def settle(self) -> None:
        """Wait until no socket has received anything for ``SETTLE`` seconds."""
        seen = -1
        while True:
            for recorder in self.sockets.values():
                recorder.pump()
            now = sum(len(r.frames) for r in self.sockets.values())
            if now == seen:
                return
            seen = now
            await asyncio.sleep(self.SETTLE)

    async def keep_present(self) -> None:
        """A heartbeat from every open socket (silent when it is up to date),
        so nobody shows as away however long the run takes: presence is
        judged by the wall clock (``PRESENCE_WINDOW``)."""
        for recorder in self.sockets.values():
            if recorder.comm is not None:
                await recorder.comm.send_json_to({"action": "ping"})
        await self.settle()

    async def act(self, who: str, action: str, data: dict) -> None:
        """``who`` sends an action; wait for its ack, then for every frame
        its consequences bring to every open socket."""
        await self.keep_present()
        self.count += 1
        client_msg_id = f"{who}-{self.count}"
        recorder = self.sockets[who]
        # Each side goes past the warnings it may confirm past (its own
        # limits, which follow its scoring; a pick over agreed terms; a
        # pitfall): both runs then apply the same actions, and a warning is
        # an error frame to its sender only.
        data = {
            **data,
            "confirm_limit": True,
            "confirm_overwrite": True,
            "confirm_pitfall": True,
        }
        await recorder.comm.send_json_to(
            {"action": action, "client_msg_id": client_msg_id, "data": data}
        )
        await self.until(
            lambda: any(
                f.get("type") == "ack" and f.get("client_msg_id") == client_msg_id
                for f in recorder.frames
            )
        )
        await self.settle()

    async def shut(self) -> None:
        for recorder in self.sockets.values():
            recorder.pump()
        for recorder in self.sockets.values():
            recorder.comm, comm = None, recorder.comm
            if comm is not None:
                await comm.disconnect()


def _trades(world: World, side: str, **filters) -> list[tuple[int, int]]:
    party = world.host.party if side == HOST else world.guest.party
    return list(
        Trade.objects.filter(deal=world.deal, party=party, **filters)
        .order_by("pk")
        .values_list("pk", "version")
    )


def _term_version(issue: Issue) -> int | str:
    entry = TermSheetEntry.objects.filter(issue=issue).first()
    return entry.version if entry else ""


def _position_version(access: DealAccess) -> int:
    return SharedPosition.objects.get(party=access.party).version


async def negotiate(room: Room, varied: str) -> None:
    """The varied side performs every room action that renders scores while
    the other side watches (and answers), then: a reconnect and resync, a
    heartbeat, a new scoring from each side, and a stage change."""
    world = room.world
    issues = world.issues
    price, payment, onboarding, length = (i.pk for i in issues.values())
    by_side = {HOST: "rep", COUNTERPART: "guest"}
    actor, watcher = by_side[varied], by_side[OTHER_SIDE[varied]]
    acting = world.host if varied == HOST else world.guest
    watching = world.guest if varied == HOST else world.host
    await room.open("rep", "guest", "manager")

    theirs = await db(_trades)(world, watching.side, status=Trade.Status.OPEN)
    await room.act(actor, "message.post", {"body": "Let us look at the packages."})
    await room.act(
        actor,
        "position.update",
        {
            "version": await db(_position_version)(acting),
            "interests": "Cash flow and a fast start.",
            "ranking": [payment, onboarding, price, length],
        },
    )
    await room.act(
        actor,
        "trade.propose",
        {"give_issue_id": length, "give_value": "24 months",
         "ask_issue_id": payment, "ask_value": "60 days", "rationale": ""},
    )  # fmt: skip
    await room.act(
        actor,
        "trade.counter",
        {"trade_id": theirs[0][0], "version": theirs[0][1],
         "give_issue_id": price, "give_value": "190000",
         "ask_issue_id": payment, "ask_value": "50 days", "rationale": "Closer"},
    )  # fmt: skip
    await room.act(
        actor,
        "trade.accept",
        {"trade_id": theirs[1][0], "version": theirs[1][1], "confirm": True},
    )
    await room.act(
        actor,
        "trade.decline",
        {"trade_id": theirs[2][0], "version": theirs[2][1], "reason": "Not now"},
    )
    for issue, value in ((issues["Payment terms"], "40 days"),
                         (issues["Contract length"], "24 months")):  # fmt: skip
        await room.act(
            actor,
            "term.set",
            {"issue_id": issue.pk, "version": await db(_term_version)(issue),
             "value": value},
        )  # fmt: skip
    meso = {"note": "Three ways to get there", "counter_of_id": ""}
    for n, package in enumerate(_packages(issues), start=1):
        meso[f"p{n}_name"] = package["name"] + " II"
        for pk, value in package["values"].items():
            meso[f"p{n}_{pk}"] = value
    await room.act(actor, "meso.present", meso)
    watching_meso = await db(
        lambda: (
            MesoSet.objects.filter(deal=world.deal, party=watching.party)
            .values_list("pk", "version")
            .get()
        )
    )()
    packages = await db(
        lambda: list(
            MesoSet.objects.get(pk=watching_meso[0])
            .packages.order_by("pk")
            .values_list("pk", flat=True)
        )
    )()
    await room.act(
        actor,
        "meso.respond",
        {"meso_id": watching_meso[0], "version": watching_meso[1],
         "preference": list(reversed(packages))},
    )  # fmt: skip
    await room.act(
        actor,
        "concession.add",
        {"item": "Training", "we_give": "Two training days", "we_get": "A case study",
         "value_to_us": "1500", "value_to_them": "4000"},
    )  # fmt: skip
    concession = await db(
        lambda: (
            Concession.objects.filter(party=acting.party)
            .order_by("-pk")
            .values_list("pk", "version")
            .first()
        )
    )()
    await room.act(
        actor,
        "concession.value",
        {"concession_id": concession[0], "version": concession[1],
         "value_to_us": "1800", "value_to_them": "4200"},
    )  # fmt: skip
    own_open = await db(_trades)(world, varied, status=Trade.Status.OPEN)
    await room.act(
        actor, "trade.withdraw", {"trade_id": own_open[0][0], "version": own_open[0][1]}
    )
    await room.act(actor, "jointcheck.allow", {})

    # The watcher answers and acts too: its own frames are recorded as well.
    mine = await db(_trades)(world, varied, status=Trade.Status.OPEN)
    await room.act(
        watcher,
        "trade.accept",
        {"trade_id": mine[-1][0], "version": mine[-1][1], "confirm": True},
    )
    await room.act(
        watcher,
        "term.set",
        {"issue_id": price, "version": await db(_term_version)(issues["Price"]),
         "value": "175000"},
    )  # fmt: skip
    await room.act(watcher, "message.post", {"body": "That works for us."})

    # The watcher's socket drops; the varied side goes on; it comes back,
    # catches up with a sync, and sends a heartbeat.
    behind = max(f["seq"] for f in room.sockets[watcher].frames if f.get("seq"))
    await room.sockets[watcher].shut()
    await room.settle()
    await room.act(actor, "message.post", {"body": "Are you still there?"})
    await room.act(
        actor,
        "term.set",
        {"issue_id": onboarding,
         "version": await db(_term_version)(issues["Onboarding"]),
         "value": "Dedicated lead"},
    )  # fmt: skip
    await room.keep_present()
    await room.sockets[watcher].open()
    await room.settle()
    await room.sockets[watcher].comm.send_json_to({"action": "sync", "since": behind})
    await room.until(
        lambda: any(f["type"] == "sync" for f in room.sockets[watcher].frames)
    )
    await room.sockets[watcher].comm.send_json_to({"action": "ping"})
    await room.settle()

    # A new scoring from each side: only the saving side's sockets hear of it.
    before = len(room.sockets[watcher].frames)
    await db(save_scoring)(acting, SCORINGS[varied][room.later])
    await room.settle()
    assert room.sockets[watcher].frames[before:] == []
    await db(save_scoring)(watching, SCORINGS[watching.side][FIXED_LATER])
    await room.until(
        lambda: any(f["type"] == "scores" for f in room.sockets[watcher].frames)
    )
    await room.settle()


async def move_to_close(room: Room, varied: str) -> None:
    """The varied side proposes Close, the watcher accepts (the whole room is
    rendered again), and the varied side settles a term there."""
    world = room.world
    by_side = {HOST: "rep", COUNTERPART: "guest"}
    actor, watcher = by_side[varied], by_side[OTHER_SIDE[varied]]
    price = world.issues["Price"]
    await room.act(actor, "stage.propose", {"to_stage": Deal.Stage.CLOSE, "note": ""})
    change = await db(
        lambda: StageChange.objects.filter(deal=world.deal).order_by("-pk").first().pk
    )()
    await room.act(
        watcher,
        "stage.respond",
        {"change_id": change, "accept": "yes", "confirm": True},
    )
    await room.act(
        actor,
        "term.set",
        {"issue_id": price.pk, "version": await db(_term_version)(price),
         "value": "185000"},
    )  # fmt: skip
    await room.shut()


# --- one run ------------------------------------------------------------------------


@dataclasses.dataclass
class Seen:
    """What one viewer received in one run."""

    pages: dict[str, str]
    frames: list[str]


async def run(varied: str, variant: int) -> dict[str, Seen]:
    """Build the deal with the varied side's scoring number ``variant``,
    negotiate, walk every page; return what each viewer of the *other* side
    received."""
    scoring, later = VARIANTS[variant]
    specs = {
        HOST: HOST_SCORINGS[scoring if varied == HOST else FIXED],
        COUNTERPART: COUNTERPART_SCORINGS[scoring if varied == COUNTERPART else FIXED],
    }
    world = await db(build)(specs[HOST], specs[COUNTERPART])
    room = Room(world, later)
    viewers = VIEWERS_OF[OTHER_SIDE[varied]]
    seen = {viewer: Seen({}, []) for viewer in viewers}
    # Every page in Midgame (with its tools open), then again in Close.
    await negotiate(room, varied)
    for viewer in viewers:
        pages, statuses = await db(walk_pages)(world, viewer)
        check_walk(statuses, viewer)
        seen[viewer].pages.update({f"midgame {k}": v for k, v in pages.items()})
    await move_to_close(room, varied)
    for viewer in viewers:
        pages, _ = await db(walk_pages)(world, viewer)
        seen[viewer].pages.update({f"close {k}": v for k, v in pages.items()})
        seen[viewer].frames = comparable(room.sockets[viewer].frames)
    # With both consents the room offers to run the check: still nothing of
    # the varied side's scoring in it.
    watcher_access = world.guest if varied == HOST else world.host
    await db(jointcheck.joint_check_allow)(access=watcher_access)
    for viewer in viewers:
        for headers in ({}, {"HX-Request": "true"}):
            response = await db(world.clients[viewer].get)(
                reverse("live:room", args=[world.deal.pk]), headers=headers
            )
            seen[viewer].pages[f"room, both consents {headers}"] = record(response)
    return seen


# Who is online, in a presence frame: rendered from the connections as they
# are when the frame is made, so a socket leaving and coming back shows in
# states that depend on timing (over Redis, a race).
PRESENCE_STATUS = re.compile(r'class="(online|offline)"|\((online|away)\)')


def comparable(frames: list[dict]) -> list[str]:
    """The frames as text. In a presence frame who is online is left out
    (``PRESENCE_STATUS``; the names and everything else stay), and such a
    frame repeated word for word is kept once: how many times "who is in
    the room" is sent again is the same race."""
    texts, presence = [], set()
    for frame in frames:
        if frame.get("type") == "presence":
            frame = {**frame, "html": PRESENCE_STATUS.sub("<status>", frame["html"])}
        text = json.dumps(frame, sort_keys=True)
        if frame.get("type") == "presence":
            if text in presence:
                continue
            presence.add(text)
        texts.append(text)
    return texts


def assert_same(first: dict[str, str], second: dict[str, str], what: str) -> None:
    missing, extra = first.keys() - second.keys(), second.keys() - first.keys()
    assert not missing, (what, [first[k][:300] for k in missing])
    assert not extra, (what, [second[k][:300] for k in extra])
    for key in first:
        a, b = normalized(first[key]), normalized(second[key])
        if a != b:
            raise AssertionError(f"{what} differs at {key}:\n{_differences(a, b)}")


def _differences(a: str, b: str, context: int = 200) -> str:
    """Where two long strings differ (a page or a frame can be one long
    line): the stretch between their common start and their common end."""
    start = next(
        (n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
        min(len(a), len(b)),
    )
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    lo = max(start - context, 0)
    return (
        f"…{a[lo : len(a) - end + context]}…\n   became\n"
        f"…{b[lo : len(b) - end + context]}…"
    )


@pytest.mark.usefixtures("own_channel_layer")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("varied", [COUNTERPART, HOST])
async def test_nothing_the_other_side_receives_depends_on_a_sides_scoring(varied):
    """Two runs, identical but for ``varied``'s scoring: every page and
    frame of the other side (for the host side: its rep and its manager)
    is the same byte for byte."""
    first = await run(varied, 0)
    second = await run(varied, 1)

    for viewer, seen in first.items():
        other = second[viewer]
        assert_same(seen.pages, other.pages, f"{viewer}'s page")
        only_first = Counter(map(normalized, seen.frames))
        only_first.subtract(Counter(map(normalized, other.frames)))
        odd = {frame[:400]: n for frame, n in only_first.items() if n}
        assert not odd, f"{viewer}'s frames differ (+ first run, - second): {odd}"
        frames = dict(enumerate(sorted(normalized(f) for f in seen.frames)))
        other_frames = dict(enumerate(sorted(normalized(f) for f in other.frames)))
        assert_same(
            {str(k): v for k, v in frames.items()},
            {str(k): v for k, v in other_frames.items()},
            f"{viewer}'s frame",
        )
        # The recording is the real thing: the viewer's own scores and every
        # kind of frame are in it.
        kinds = {json.loads(f)["type"] for f in seen.frames}
        if viewer != "manager":
            assert {"hello", "event", "sync", "scores", "ack", "presence"} <= kinds
            assert any("Your score" in f for f in seen.frames)
            assert any("Your score" in p for p in seen.pages.values())
        else:
            assert {"hello", "event", "presence"} <= kinds
        # Without both consents the review (the manager's too) shows the
        # side's own score path only, never the frontier of both scorings.
        for walk in ("midgame", "close"):
            review = seen.pages[f"{walk} review:review {{'deal_id': 1}} []"]
            assert 'class="chart score-path"' in review
            assert 'class="frontier"' not in review
            assert "Both sides allowed the joint check, so" not in review


# --- the joint check's words ----------------------------------------------------

# Distinctive figures: weights, ratings, value-function scores, minimums.
JOINT_SCORINGS: dict[str, Spec] = {
    HOST: {
        "reservation": "41.37",
        "Price": (47, [("100", 7), ("200", 93)]),
        "Payment terms": (31, [("0", 86), ("100", 13)]),
        "Onboarding": (22, {"Remote only": 17, "Two on-site weeks": 62,
                            "Dedicated lead": 4}),
    },
    COUNTERPART: {
        "reservation": "38.29",
        "Price": (19, [("100", 91), ("200", 9)]),
        "Payment terms": (58, [("0", 3), ("100", 97)]),
        "Onboarding": (23, {"Remote only": 8, "Two on-site weeks": 29,
                            "Dedicated lead": 83}),
    },
}  # fmt: skip


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def region_text(html: str) -> str:
    """The text of the joint check's region in ``html`` (its markup aside)."""
    start = html.index('<section id="region-jointcheck"')
    region = html[start : html.index("</section>", start)]
    parser = _Text()
    parser.feed(region)
    return " ".join(" ".join(parser.parts).split())


def figures_of(spec: Spec, utilities: list[Decimal]) -> set[str]:
    """A side's figures as a page could spell them: each weight, rating and
    value-function score, its minimum, and its score of each package, whole
    (as ``room/scores.py`` writes scores) and with decimals."""
    figures = set()
    for key, value in spec.items():
        if key == "reservation":
            continue
        weight, worth = value
        scores = worth.values() if isinstance(worth, dict) else [s for _, s in worth]
        figures |= {str(weight), *(str(score) for score in scores)}
    for number in [Decimal(spec["reservation"]), *utilities]:
        figures |= {
            str(round(number)),
            floatformat(number, "-2"),
            floatformat(number, 1),
            floatformat(number, 2),
        }
    return figures


NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def test_the_joint_checks_words_carry_no_figure_of_the_other_side(
    midgame, host_access, guest_access, rep_client, guest_client
):
    """Both sides read a verdict both scorings decide (allowed: words and
    packages); none of the other side's figures is in its text."""
    IssueFactory(
        deal=midgame, name="Onboarding", kind=Issue.Kind.OPTIONS,
        options=ONBOARDING, position=2,
    )  # fmt: skip
    price, payment, onboarding = midgame.issues.order_by("position")
    for access in (host_access, guest_access):
        save_scoring(access, JOINT_SCORINGS[access.side])
    for issue, value in ((price, "150"), (payment, "50 days"),
                         (onboarding, "Remote only")):  # fmt: skip
        services.term_set(access=host_access, issue_id=issue.pk, version=None,
                          value=value)  # fmt: skip
    jointcheck.joint_check_allow(access=host_access)
    jointcheck.joint_check_allow(access=guest_access)
    check = jointcheck.joint_check_run(access=host_access)
    assert check.suggestions, "the terms should leave value behind here"
    event = midgame.events.order_by("-seq").first()
    assert event.kind == "jointcheck.ran"

    packages = [
        {int(pk): value for pk, value in package.items()}
        for package in check.suggestions
    ]
    terms = dict(TermSheetEntry.objects.values_list("issue_id", "value"))
    for viewer, client, other in (
        (host_access, rep_client, guest_access),
        (guest_access, guest_client, host_access),
    ):
        scoring = own_scoring(other.party)
        utilities = [scoring.score(values).total for values in [*packages, terms]]
        secrets = figures_of(JOINT_SCORINGS[other.side], utilities)
        page = client.get(reverse("live:room", args=[midgame.pk])).content.decode()
        frame = render_events(viewer, [event])
        for html in (page, frame):
            text = region_text(html)
            assert "The terms on the table leave value behind" in text
            assert "Your score" in text
            # What the words legitimately hold: the packages' values, the
            # check's date and time, "Package n".
            for package in check.suggestions:
                for value in package.values():
                    text = text.replace(value, " ")
            text = re.sub(r"The check of [^:]*:\d\d", " ", text)
            text = re.sub(r"[Pp]ackage \d", " ", text)
            leaked = set(NUMBER.findall(text)) & secrets
            assert not leaked, (viewer.side, leaked, text)

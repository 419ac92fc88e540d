"""The privacy proof of the room: a whole negotiation, both sides, every byte.

The host (a rep who logs in) and the counterpart (a guest who joins through a
share link) run the demo deal from Setup to Implementation against a real
daphne, over plain HTTP and real websockets, exactly as their browsers would:
every stage's tools are used, every page each side can reach is opened, and
every response and frame each side receives is recorded.

Then: nothing of one side's private preparation is in what the other side
received (the seed's private values, and values typed into the preparation
pages during the test: walk-away figures, BATNA sentences, matrix texts that
were not shared, concession valuations that were not shared), while one matrix
cell shared on purpose does reach the other side, and each side's own private
values did reach that side (so the recording is known to be complete enough
to catch a leak).
"""

from __future__ import annotations

import datetime
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from negotiation.models import Deal, Issue, Preparation
from room.coaching.culture import STYLE_TIPS
from room.models import (
    CadenceProposal,
    Commitment,
    MesoSet,
    Pause,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
)
from tests.live_server import (
    Browser,
    LiveServer,
    RoomSocket,
    database_url_for,
    extract_input_value,
    invite_and_join,
    log_in,
    seed_demo,
    start_servers,
    stop_servers,
)

PREP_SECTIONS = (
    "walkaway",
    "matrix",
    "counterparty",
    "evidence",
    "anchors",
    "scoring",
    "readiness",
)

# Typed into each side's private preparation pages during the test. Each is
# distinctive, so finding it anywhere can only mean it was sent there.
HOST_TYPED = {
    "readiness": "HOSTPRIV-readiness: our CFO caps any discount at 7.5 percent",
    "evidence_title": "HOSTPRIV-evidence: Zephyr churn model",
    "evidence_detail": "HOSTPRIV-detail: churn falls by 31 points with a lead",
    "anchor": "HOSTPRIV-anchor: open at 40 months, settle at 30",
    "anchor_benchmark": "HOSTPRIV-benchmark: renewals average 29 months",
    "want_get": "HOSTPRIV-want: a referral to Acme Group's other brands",
    "ideal_outcome": "HOSTPRIV-ideal: adoption rate measured per region",
}
HOST_SHARED_CELL = "HOST-SHARED-can-give: quarterly adoption reviews on site"
GUEST_TYPED = {
    "readiness": "GUESTPRIV-readiness: the board must approve anything over 200k",
    "evidence_title": "GUESTPRIV-evidence: Lumen pilot feedback",
    "evidence_detail": "GUESTPRIV-detail: Lumen dashboards failed at 14 stores",
    "anchor": "GUESTPRIV-anchor: open at EUR 172k and hold",
    "anchor_benchmark": "GUESTPRIV-benchmark: Lumen lists EUR 171k",
    "can_give": "GUESTPRIV-give: 36 months if the price is held flat",
    "ideal_outcome": "GUESTPRIV-ideal: 30 months with a break clause",
}
GUEST_SHARED_CELL = "GUEST-SHARED-want: a named customer success manager"
# Each side's private reading of the other side's culture, recorded in the
# room: the host reads the counterpart as high-context, the counterpart reads
# the host as direct. The coach's advice for it shows only on the reader's
# screen (it is shown in every stage, so the final visits see it too).
CULTURE_READINGS = {"host": "high_context", "counterpart": "direct"}
CULTURE_ADVICE = {
    side: next(t.advice for t in STYLE_TIPS[style] if t.key.endswith("disagree"))
    for side, style in CULTURE_READINGS.items()
}
# Concession valuations logged without sharing them, and the ways a decimal
# could be written out.
HOST_CONCESSION_VALUES = ("48123.45", "51234.56")
GUEST_CONCESSION_VALUES = ("37111.22", "39222.33")


def _spellings(value: str) -> list[str]:
    whole, cents = value.split(".")
    grouped = f"{int(whole):,}"
    return [value, f"{whole},{cents}", f"{grouped}.{cents}", grouped]


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Keep the real password hashers (overrides tests/conftest.py's MD5): the
    demo rep logs in through daphne, which only knows the project's hashers."""


@pytest.fixture(scope="module")
def server(
    django_db_setup, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One daphne on the test database (after it exists, stopped before it goes)."""
    from django.db import connection

    servers = start_servers(
        1,
        database_url=database_url_for(connection.settings_dict),
        log_dir=tmp_path_factory.mktemp("daphne"),
    )
    try:
        yield servers[0]
    finally:
        stop_servers(servers)


# --- the negotiation ---------------------------------------------------------


@dataclass
class Room:
    """Both sides of one deal: their browsers and their room sockets."""

    deal_id: int
    host: Browser
    guest: Browser
    issues: dict[str, int]
    host_ws: RoomSocket | None = None
    guest_ws: RoomSocket | None = None

    @property
    def path(self) -> str:
        return f"/room/{self.deal_id}/"

    def sockets(self, side: str) -> tuple[RoomSocket, RoomSocket]:
        assert self.host_ws is not None
        assert self.guest_ws is not None
        if side == "host":
            return self.host_ws, self.guest_ws
        return self.guest_ws, self.host_ws

    def act(self, side: str, action: str, **data: Any) -> dict[str, Any]:
        """One side acts over its socket; both sockets then get the event.

        Returns the event frame the *other* side received for it.
        """
        own, peer = self.sockets(side)
        own_mark, peer_mark = own.mark(), peer.mark()
        ack = own.act(action, data)
        seq = ack["seq"]

        def is_event(frame: dict[str, Any]) -> bool:
            return frame.get("type") == "event" and frame.get("seq", 0) >= seq

        own.wait_for(is_event, since=own_mark, what=f"own event of {action}")
        return peer.wait_for(is_event, since=peer_mark, what=f"peer event of {action}")

    def move_to(self, stage: str, *, proposer: str = "host") -> None:
        """Propose a stage change and have the other side accept it (binding)."""
        responder = "counterpart" if proposer == "host" else "host"
        self.act(proposer, "stage.propose", to_stage=stage, note=f"Ready for {stage}")
        change = StageChange.objects.get(
            deal_id=self.deal_id, status=StageChange.Status.PENDING
        )
        self.act(
            responder, "stage.respond", change_id=change.pk, accept="yes", confirm="on"
        )
        assert Deal.objects.get(pk=self.deal_id).stage == stage


def prepare(browser: Browser, deal_id: int, issues: dict[str, int], typed, *,
            matrix_issue: str, shared_column: str, shared_value: str,
            anchor_issue: str) -> None:  # fmt: skip
    """Type private values into this side's preparation pages, like a person."""
    prep = f"/deals/{deal_id}/prep"
    page = browser.get(f"{prep}/readiness/").body
    browser.post(
        f"{prep}/readiness/",
        {
            "version": extract_input_value(page, "version"),
            "readiness_notes": typed["readiness"],
        },
    )
    browser.get(f"{prep}/evidence/")
    browser.post(
        f"{prep}/evidence/add/",
        {
            "kind": "benchmark",
            "title": typed["evidence_title"],
            "detail": typed["evidence_detail"],
        },
    )
    browser.post(
        f"{prep}/anchors/{issues[anchor_issue]}/",
        {
            "version": "",
            "low": "30",
            "high": "40",
            "opening_position": typed["anchor"],
            "benchmark": typed["anchor_benchmark"],
        },
    )
    row = {
        "version": "",
        "importance": "3",
        "can_give": typed.get("can_give", ""),
        "want_get": typed.get("want_get", ""),
        "ideal_outcome": typed["ideal_outcome"],
        shared_column: shared_value,
    }
    browser.post(f"{prep}/matrix/{issues[matrix_issue]}/", row)


def textareas(page: str) -> dict[str, str]:
    """What a page's text areas hold, by name: posted back unchanged."""
    return {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<textarea[^>]*\bname="([^"]+)"[^>]*>\n?(.*?)</textarea>', page, re.S
        )
    }


def visit_everything(browser: Browser, deal_id: int, *, host: bool) -> None:
    """Open every page this side can reach (and the room's sync, both ways)."""
    paths = [
        f"/room/{deal_id}/",
        f"/room/{deal_id}/summary/",
        f"/room/{deal_id}/sync/",
        f"/deals/{deal_id}/prep/",
        *(f"/deals/{deal_id}/prep/{section}/" for section in PREP_SECTIONS),
    ]
    if host:
        paths += [
            "/deals/",
            f"/deals/{deal_id}/",
            f"/deals/{deal_id}/issues/",
            f"/deals/{deal_id}/invites/",
        ]
    for path in paths:
        browser.get(path)


def shared_lines(event_html: str, side: str) -> list[tuple[str, str]]:
    """The matrix cells shown for ``side``'s position in a positions fragment."""
    block = re.search(
        rf'<div class="position position-{side}"[^>]*>(.*?)</div>', event_html, re.S
    )
    assert block, f"no position block for {side} in the fragment"
    return [
        (label, html.unescape(value))
        for label, value in re.findall(
            r"<small>(Can give|Wants|Ideal): (.*?)</small>", block.group(1)
        )
    ]


def open_trade(room: Room, side: str) -> Trade:
    """The newest open trade proposed by ``side``."""
    return Trade.objects.filter(
        deal_id=room.deal_id, party__side=side, status=Trade.Status.OPEN
    ).latest("pk")


def negotiate(room: Room) -> None:
    """Drive every stage's tools, as both sides, over the websockets."""
    issues = room.issues
    fee, length, payment = (
        issues["Annual licence fee"],
        issues["Contract length"],
        issues["Payment terms"],
    )

    # The demo deal starts in Midgame: walk back to Setup (either side may
    # propose a step back; the other accepts), co-edit, then forward again.
    assert Deal.objects.get(pk=room.deal_id).stage == Deal.Stage.MIDGAME
    room.move_to("first_move")
    room.move_to("setup", proposer="counterpart")
    deal = Deal.objects.get(pk=room.deal_id)
    room.act(
        "host",
        "setup.update",
        version=deal.version,
        shared_purpose="Every Acme store live on dashboards before peak season.",
        ground_rules="We share interests, never walk-away points.",
    )
    deal.refresh_from_db()
    room.act(
        "counterpart",
        "setup.update",
        version=deal.version,
        shared_purpose=deal.shared_purpose,
        ground_rules="We share interests, never walk-away points. No surprises.",
    )
    # Each side records, privately, how the other side communicates: the
    # host from the room's coach panel, the counterpart on its counterparty
    # map page (keeping the map as it is).
    version = Preparation.objects.get(
        party__deal_id=room.deal_id, party__side="host"
    ).version
    page = room.host.post(
        f"{room.path}act/culture.set/",
        {
            "client_msg_id": "culture-host",
            "version": str(version),
            "their_style": CULTURE_READINGS["host"],
        },
    )
    assert CULTURE_ADVICE["host"] in html.unescape(page.body)
    map_url = f"/deals/{room.deal_id}/prep/counterparty/"
    map_page = room.guest.get(map_url).body
    guest_map = textareas(map_page)
    assert guest_map["their_constraints"]  # the seed's, kept below
    room.guest.post(
        map_url,
        {
            "version": extract_input_value(map_page, "version"),
            **guest_map,
            "their_style": CULTURE_READINGS["counterpart"],
        },
    )
    assert textareas(room.guest.get(map_url).body) == guest_map
    page = room.guest.get(room.path)
    assert CULTURE_ADVICE["counterpart"] in html.unescape(page.body)
    room.move_to("first_move")

    # First Move: each side shares its interests, its ranking and exactly one
    # matrix cell, which the other side must see, and nothing else of it.
    ranking = list(issues.values())
    positions = dict(
        SharedPosition.objects.filter(party__deal_id=room.deal_id).values_list(
            "party__side", "version"
        )
    )
    seen_by_guest = room.act(
        "host",
        "position.update",
        version=positions.get("host"),
        interests="Predictable revenue and a reference customer.",
        ranking=ranking,
        share=[f"{issues['Success metric']}:can_give"],
    )
    assert shared_lines(seen_by_guest["html"], "host") == [
        ("Can give", HOST_SHARED_CELL)
    ]
    seen_by_host = room.act(
        "counterpart",
        "position.update",
        version=positions.get("counterpart"),
        interests="Fast onboarding and a budget finance can plan.",
        ranking=list(reversed(ranking)),
        share=[f"{length}:want_get"],
    )
    assert shared_lines(seen_by_host["html"], "counterpart") == [
        ("Wants", GUEST_SHARED_CELL)
    ]
    room.move_to("midgame", proposer="counterpart")

    # Midgame: a conditional trade, countered and accepted; MESO; concessions
    # whose valuations stay private; discussion.
    room.act(
        "host", "trade.propose", give_issue_id=payment, give_value="60 days",
        ask_issue_id=length, ask_value="36 months", rationale="Cash flow for term.",
    )  # fmt: skip
    trade = open_trade(room, "host")
    room.act(
        "counterpart", "trade.counter", trade_id=trade.pk, version=trade.version,
        give_issue_id=length, give_value="30 months", ask_issue_id=payment,
        ask_value="75 days", rationale="Thirty months fits our planning cycle.",
    )  # fmt: skip
    counter = open_trade(room, "counterpart")
    room.act(
        "host", "trade.accept", trade_id=counter.pk, version=counter.version,
        confirm="on",
    )  # fmt: skip
    packages: dict[str, str] = {}
    for n, (name, price) in enumerate(
        [("Lean", "EUR 188k"), ("Balanced", "EUR 199k"), ("Full", "EUR 209k")], 1
    ):
        packages[f"p{n}_name"] = name
        for issue_name, pk in issues.items():
            packages[f"p{n}_{pk}"] = price if pk == fee else f"{name} {issue_name}"
    room.act("host", "meso.present", note="Three equally good options.", **packages)
    meso = MesoSet.objects.get(deal_id=room.deal_id)
    package_ids = list(meso.packages.order_by("pk").values_list("pk", flat=True))
    # Picked over terms the trades already set: confirmed, as "Pick it anyway".
    room.act(
        "counterpart", "meso.respond", meso_id=meso.pk, version=meso.version,
        preference=package_ids[::-1], picked_id=package_ids[1], confirm="on",
        confirm_overwrite="on",
    )  # fmt: skip
    host_us, host_them = HOST_CONCESSION_VALUES
    room.act(
        "host", "concession.add", item="Onboarding lead", we_give="A dedicated lead",
        we_get="A public case study", value_to_us=host_us, value_to_them=host_them,
        trigger="Case study signed",
    )  # fmt: skip
    guest_us, guest_them = GUEST_CONCESSION_VALUES
    room.act(
        "counterpart", "concession.add", item="Reference call",
        we_give="A reference call", we_get="Two on-site weeks",
        value_to_us=guest_us, value_to_them=guest_them,
    )  # fmt: skip
    # A message goes only where it shows: appended to the discussion, or to
    # its trade's comments; no region is rendered again.
    seen = room.act(
        "host", "message.post", body="Shall we write this up?", kind="question"
    )
    assert 'hx-swap-oob="beforeend:#messages-list"' in seen["html"]
    assert 'id="region-trades"' not in seen["html"]
    seen = room.act(
        "counterpart", "message.post", body="Thirty months is firm for us.",
        trade_id=counter.pk,
    )  # fmt: skip
    assert f'hx-swap-oob="beforeend:#trade-{counter.pk}-comments"' in seen["html"]
    assert 'id="region-trades"' not in seen["html"]
    assert "Thirty months is firm for us." in seen["html"]
    room.act("counterpart", "message.post", body="Yes, let us close.")
    # Pause and revisit: proposed, answered with another date, agreed.
    soon = datetime.date.today() + datetime.timedelta(days=2)
    room.act(
        "host", "pause.propose", resume_on=soon.isoformat(),
        note="Time to check with finance",
    )  # fmt: skip
    pause = Pause.objects.get(deal_id=room.deal_id, status=Pause.Status.PENDING)
    seen = room.act(
        "counterpart", "pause.counter", pause_id=pause.pk,
        resume_on=(soon + datetime.timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert "proposes to pause and resume" in html.unescape(seen["html"])
    pause = Pause.objects.get(deal_id=room.deal_id, status=Pause.Status.PENDING)
    room.act("host", "pause.accept", pause_id=pause.pk)
    room.move_to("close")

    # Close: the term sheet, commitments confirmed by both, the agreement.
    term = TermSheetEntry.objects.get(deal_id=room.deal_id, issue_id=payment)
    room.act(
        "counterpart", "term.set", issue_id=payment, version=term.version,
        value="75 days",
    )  # fmt: skip
    due = (datetime.date.today() + datetime.timedelta(days=60)).isoformat()
    for owner, confirmer, description in (
        ("host", "counterpart", "Every store live on dashboards"),
        ("counterpart", "host", "Store managers trained"),
    ):
        room.act(
            owner, "commitment.add", owner_side=owner, owner_name="Robin",
            description=description, metric="stores live", target="95%",
            due_date=due, contingency="Weekly joint review until done",
        )  # fmt: skip
        commitment = Commitment.objects.get(
            deal_id=room.deal_id, description=description
        )
        for side in (owner, confirmer):  # each side confirms explicitly
            room.act(
                side, "commitment.confirm", commitment_id=commitment.pk,
                version=commitment.version, confirm="on",
            )  # fmt: skip
    # The review cadence and first check-in: proposed, then accepted.
    first = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    room.act("counterpart", "cadence.propose", cadence="weekly", first_check_in=first)
    proposal = CadenceProposal.objects.get(deal_id=room.deal_id, status="pending")
    room.act(
        "host", "cadence.respond", proposal_id=proposal.pk, accept="yes",
        confirm="on",
    )  # fmt: skip
    for side, browser in (("host", room.host), ("counterpart", room.guest)):
        page = browser.get(room.path).body
        region = re.search(r'<section id="region-agreement".*?</section>', page, re.S)
        assert region, "the room page has an agreement region"
        assert 'name="digest"' in region.group(0), region.group(0)
        digest = extract_input_value(region.group(0), "digest")
        room.act(side, "agreement.confirm", digest=digest, confirm="on")
    assert Deal.objects.get(pk=room.deal_id).status == Deal.Status.AGREED
    room.move_to("implementation")

    # Implementation: a check-in, and the discussion goes on.
    statuses = {
        f"status_{pk}": Commitment.Status.ON_TRACK
        for pk in Commitment.objects.filter(deal_id=room.deal_id).values_list(
            "pk", flat=True
        )
    }
    room.act(
        "counterpart", "checkin.add", held_on=datetime.date.today().isoformat(),
        notes="First stores are live.", **statuses,
    )  # fmt: skip
    room.act("host", "message.post", body="Great start, see you next month.")

    # The same room over plain HTTP (the socket-less path), and a full sync.
    for browser in (room.host, room.guest):
        browser.get(room.path)
        page = browser.post(
            f"{room.path}act/message.post/",
            {"client_msg_id": f"http-{browser.name}", "body": f"{browser.name} here"},
        )
        assert f"{browser.name} here" in page.body
    for ws in (room.host_ws, room.guest_ws):
        assert ws is not None
        mark = ws.mark()
        ws.send({"action": "sync", "since": 0})
        ws.wait_for(lambda f: f.get("type") == "sync", since=mark, what="sync")


# --- what each side received ---------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def haystack(received: list[str]) -> str:
    """Everything a side received, raw, decoded from JSON and HTML-unescaped."""
    parts: list[str] = []
    for record in received:
        parts += [record, html.unescape(record)]
        try:
            decoded = json.loads(record)
        except ValueError:
            continue
        for text in _strings(decoded):
            parts += [text, html.unescape(text)]
    return "\n\x00\n".join(parts)


# Random tokens (form and frame message ids, CSRF tokens): a figure such as
# 186500 can turn up inside one by chance, which is no leak.
RANDOM_TOKENS = re.compile(
    # A form's hidden field (its quotes escaped inside a JSON frame), an id in
    # a frame, the CSRF cookie.
    r'(name=\\?"(?:client_msg_id|csrfmiddlewaretoken)\\?" value=\\?"'
    r'|"client_msg_id": "|csrftoken=)[0-9A-Za-z]+'
)


def found(needles: list[str], text: str) -> dict[str, str]:
    """Each needle present in ``text`` (random tokens left out), with a little
    context around it."""
    text = RANDOM_TOKENS.sub(r"\1<random>", text)
    hits = {}
    for needle in needles:
        at = text.find(needle)
        if at >= 0:
            hits[needle] = text[max(0, at - 120) : at + len(needle) + 60]
    return hits


def private_values(demo: dict[str, Any]) -> dict[str, list[str]]:
    """Each side's private values, as it typed or seeded them."""
    return {
        "host": [
            *demo["private"]["host"],
            *HOST_TYPED.values(),
            *HOST_CONCESSION_VALUES,
            CULTURE_ADVICE["host"],
        ],
        "counterpart": [
            *demo["private"]["counterpart"],
            *GUEST_TYPED.values(),
            *GUEST_CONCESSION_VALUES,
            CULTURE_ADVICE["counterpart"],
        ],
    }


def must_never_reach(values: list[str]) -> list[str]:
    """The values, with every way a decimal among them could be written out."""
    spelled = []
    for value in values:
        is_decimal = re.fullmatch(r"\d+\.\d\d", value) is not None
        spelled += _spellings(value) if is_decimal else [value]
    return spelled


@pytest.mark.django_db(transaction=True)
def test_a_whole_negotiation_never_sends_a_side_the_other_sides_private_data(
    server: LiveServer, tmp_path: Path
):
    demo = seed_demo(server.base_url)
    deal_id = int(re.search(r"/deals/(\d+)/", demo["deal_url"]).group(1))
    issues = dict(Issue.objects.filter(deal_id=deal_id).values_list("name", "pk"))
    host = Browser(server.base_url, "host")
    guest = Browser(server.base_url, "counterpart")
    room = Room(deal_id=deal_id, host=host, guest=guest, issues=issues)

    log_in(host, demo["host"]["username"], demo["host"]["password"])
    invite_and_join(host, guest, deal_id, "Dana Ortiz (Acme Retail)")
    prepare(
        host, deal_id, issues, HOST_TYPED, matrix_issue="Success metric",
        shared_column="can_give", shared_value=HOST_SHARED_CELL,
        anchor_issue="Contract length",
    )  # fmt: skip
    prepare(
        guest, deal_id, issues, GUEST_TYPED, matrix_issue="Contract length",
        shared_column="want_get", shared_value=GUEST_SHARED_CELL,
        anchor_issue="Annual licence fee",
    )  # fmt: skip
    visit_everything(host, deal_id, host=True)
    visit_everything(guest, deal_id, host=False)

    room.host_ws = host.websocket(f"/ws/room/{deal_id}/")
    room.guest_ws = guest.websocket(f"/ws/room/{deal_id}/")
    try:
        for ws, side in ((room.host_ws, "host"), (room.guest_ws, "counterpart")):
            hello = ws.wait_for(lambda f: f.get("type") == "hello", what="hello")
            assert hello["side"] == side
        negotiate(room)
        visit_everything(host, deal_id, host=True)
        visit_everything(guest, deal_id, host=False)
    finally:
        for ws in (room.host_ws, room.guest_ws):
            if ws is not None:
                ws.close()

    private = private_values(demo)
    seen = {"host": haystack(host.received), "counterpart": haystack(guest.received)}
    # Kept for whoever debugs a failure: what each side received, verbatim.
    for side, text in seen.items():
        (tmp_path / f"received-{side}.txt").write_text(text)

    assert found(must_never_reach(private["host"]), seen["counterpart"]) == {}, (
        "the counterpart received the host side's private data"
    )
    assert found(must_never_reach(private["counterpart"]), seen["host"]) == {}, (
        "the host side received the counterpart's private data"
    )
    # The recording is complete enough to notice a leak: each side's own
    # private values, and the other side's one shared cell, reached it.
    for side in ("host", "counterpart"):
        assert set(found(private[side], seen[side])) == set(private[side]), side
    assert HOST_SHARED_CELL in seen["counterpart"]
    assert GUEST_SHARED_CELL in seen["host"]
    assert len(host.received) > 60
    assert len(guest.received) > 60
    assert "Traceback" not in server.log(), server.log()[-4000:]

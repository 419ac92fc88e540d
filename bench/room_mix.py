"""The room's realistic mix of actions, built the way a browser builds them.

One place for what every room benchmark sends:

- ``MIXES``: which actions, in what proportions;
- ``FIELDS``: the names of the form fields the bench fills that were renamed
  when the room's forms took their services' keyword arguments as field names
  (a one-line change here if they move again);
- ``RoomView``: what one side's page knows of the room's objects (the other
  side's open trades it may answer, the versions its edits must name), read
  from the HTML the server sends it; ``DatabaseView`` answers the same
  questions from the database, for in-process seeding and benchmarks;
- ``next_action``: the next edit of a mix, from such a view.

Commitments are only allowed in Close and Implementation, and the benchmarks'
rooms sit in Midgame, so the mix's 5 % of "terms and commitments" are term
edits only.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

# What each socket sends, and how often (issue 10's realistic mix). A
# ``trade.answer`` accepts or declines (half each) one of the other side's
# open trades; a ``trade.counter`` counters one. With none open, either
# proposes a trade instead.
MIXES: dict[str, tuple[tuple[str, int], ...]] = {
    "messages": (("message.post", 100),),
    "realistic": (
        ("message.post", 35),
        ("trade.propose", 20),
        ("trade.counter", 5),
        ("trade.answer", 10),
        ("position.update", 10),
        ("concession.add", 10),
        ("meso.present", 5),
        ("term.set", 5),
    ),
}

# The room forms' names for the fields that name other objects. Before the
# rename they were give_issue, ask_issue and counter_of.
FIELDS = {
    "give_issue": "give_issue_id",
    "ask_issue": "ask_issue_id",
    "counter_of": "counter_of_id",
}

# The kinds of object whose root element carries ``id="<kind>-<pk>"`` and
# ``data-version`` (a term's pk is its issue's, a position's its party's).
KINDS = ("trade", "term", "concession", "meso", "position", "commitment")
OBJECT_TAG = re.compile(
    r"<([a-zA-Z][\w-]*)\s[^>]*?(?<![\w-])id=\"(" + "|".join(KINDS) + r")-(\d+)\"[^>]*>"
)
VERSION_ATTRIBUTE = re.compile(r"(?<![\w-])data-version=\"(\d*)\"")
CLASS_ATTRIBUTE = re.compile(r"(?<![\w-])class=\"([^\"]*)\"")
VERSION_INPUT = re.compile(
    r"<input\b[^>]*?(?<![\w-])name=\"version\"[^>]*?(?<![\w-])value=\"(\d*)\""
)
POSITION_FORM_VERSION = re.compile(
    r"data-action=\"position\.update\".*?(?<![\w-])name=\"version\"[^>]*?"
    r"(?<![\w-])value=\"(\d*)\"",
    re.S,
)


class View(Protocol):
    """What ``next_action`` asks of one side's view of the room."""

    def take_answerable(self) -> tuple[int, int] | None:
        """The other side's latest open trade this side may answer, and its
        version, which the view then forgets (one answer per trade)."""

    def term_version(self, issue_id: int) -> int | None:
        """The version of the term entry of ``issue_id``; None if unset."""

    def position_version(self) -> int | None:
        """The version of this side's shared position; None if none yet."""


@dataclass
class RoomView:
    """One socket's knowledge of the room, from the HTML it received.

    Each object's version comes from its root element's ``data-version``,
    or, when that is absent, from the first ``<input name="version">``
    inside it. A trade is answerable while it is open and shows this side an
    accept form. A version of 0 means "not set yet" (a term or a position).
    """

    side: str | None = None
    versions: dict[tuple[str, int], int] = field(default_factory=dict)
    answerable: dict[int, int] = field(default_factory=dict)  # trade → version
    party_of_side: dict[str, int] = field(default_factory=dict)
    position_form_version: int | None = None

    def read(self, html: str) -> None:
        for tag in OBJECT_TAG.finditer(html):
            kind, pk = tag[2], int(tag[3])
            body = html[tag.end() : _element_end(html, tag[1], tag.end())]
            version = VERSION_ATTRIBUTE.search(tag[0]) or VERSION_INPUT.search(body)
            if version is not None and version[1]:
                self.versions[(kind, pk)] = int(version[1])
            classes = CLASS_ATTRIBUTE.search(tag[0])
            names = classes[1].split() if classes else []
            if kind == "trade" and version is not None and version[1]:
                if "trade-open" in names and 'data-action="trade.accept"' in body:
                    self.answerable[pk] = int(version[1])
                else:
                    self.answerable.pop(pk, None)
            elif kind == "position":
                for side in ("host", "counterpart"):
                    if f"position-{side}" in names:
                        self.party_of_side[side] = pk
        if found := POSITION_FORM_VERSION.search(html):
            self.position_form_version = int(found[1]) if found[1] else None

    def take_answerable(self) -> tuple[int, int] | None:
        if not self.answerable:
            return None
        pk = max(self.answerable)
        return pk, self.answerable.pop(pk)

    def term_version(self, issue_id: int) -> int | None:
        return self.versions.get(("term", issue_id)) or None

    def position_version(self) -> int | None:
        party = self.party_of_side.get(self.side or "")
        if party is not None and ("position", party) in self.versions:
            return self.versions[("position", party)] or None
        return self.position_form_version


def _element_end(html: str, name: str, start: int) -> int:
    """Where the element named ``name`` whose start tag ends at ``start``
    closes (the end of ``html`` if it never does)."""
    depth = 1
    for tag in _tags_named(name).finditer(html, start):
        depth += -1 if tag[1] else 1
        if depth == 0:
            return tag.start()
    return len(html)


@functools.cache
def _tags_named(name: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(name)}\b[^>]*>")


class DatabaseView:
    """The same answers as ``RoomView``, read from the database for one
    side (for seeding and in-process benchmarks: no HTML involved)."""

    def __init__(self, deal_id: int, party_id: int) -> None:
        self.deal_id = deal_id
        self.party_id = party_id
        self.answered: set[int] = set()

    def take_answerable(self) -> tuple[int, int] | None:
        from room.models import Trade

        found = (
            Trade.objects.filter(deal_id=self.deal_id, status=Trade.Status.OPEN)
            .exclude(party_id=self.party_id)
            .exclude(pk__in=self.answered)
            .order_by("-pk")
            .values_list("pk", "version")
            .first()
        )
        if found is not None:
            self.answered.add(found[0])
        return found

    def term_version(self, issue_id: int) -> int | None:
        from room.models import TermSheetEntry

        return (
            TermSheetEntry.objects.filter(issue_id=issue_id)
            .values_list("version", flat=True)
            .first()
        )

    def position_version(self) -> int | None:
        from room.models import SharedPosition

        return (
            SharedPosition.objects.filter(party_id=self.party_id)
            .values_list("version", flat=True)
            .first()
        )


@dataclass(frozen=True)
class Edit:
    """One action to send: its name and form data, and what the other side's
    frame must contain to show it (the nonce, or the answered trade's row)."""

    action: str
    data: dict[str, Any]
    shows: str


def _version(value: int | None) -> int | str:
    """A version as the form's hidden input holds it: empty when unset."""
    return "" if value is None else value


def next_action(
    mix: str,
    view: View,
    issue_ids: tuple[int, ...],
    rng: random.Random,
    nonce: str,
) -> Edit:
    """The next edit of ``mix``, built from ``view`` as a browser builds it
    from its page. Every text carries ``nonce`` so the other side's copy of
    the edit can be found."""
    actions, weights = zip(*MIXES[mix], strict=True)
    action = rng.choices(actions, weights)[0]
    give, ask = rng.sample(issue_ids, 2)
    trade = {
        FIELDS["give_issue"]: give,
        "give_value": f"{nonce} 30 days sooner",
        FIELDS["ask_issue"]: ask,
        "ask_value": "5% more volume",
        "rationale": "",
    }
    theirs = None
    if action in ("trade.counter", "trade.answer"):
        theirs = view.take_answerable()
        if theirs is None:
            action = "trade.propose"
    if action == "message.post":
        return Edit(action, {"body": f"{nonce} a thought on volume"}, nonce)
    if action == "trade.propose":
        return Edit(action, trade, nonce)
    if theirs is not None:
        answered = {"trade_id": theirs[0], "version": theirs[1]}
        if action == "trade.counter":
            return Edit(action, answered | trade, nonce)
        if rng.random() < 0.5:
            data = answered | {"confirm": True}
            return Edit("trade.accept", data, f'id="trade-{theirs[0]}"')
        return Edit("trade.decline", answered | {"reason": f"{nonce} not yet"}, nonce)
    if action == "position.update":
        data = {
            "version": _version(view.position_version()),
            "interests": f"{nonce} predictable cash flow",
            "ranking": rng.sample(issue_ids, len(issue_ids)),
        }
        return Edit(action, data, nonce)
    if action == "concession.add":
        # Traded, not given away: a concession for nothing is held back for
        # a second confirmation (room.actions), which a user would rarely add.
        data = {"item": nonce, "we_give": "A dedicated lead", "we_get": "A case study"}
        return Edit(action, data, nonce)
    if action == "meso.present":
        data = {"note": nonce, FIELDS["counter_of"]: ""}
        for n in (1, 2, 3):
            data[f"p{n}_name"] = f"Package {n}"
            for pk in issue_ids:
                data[f"p{n}_{pk}"] = f"{n}-{pk}"
        return Edit(action, data, nonce)
    data = {
        "issue_id": give,
        "version": _version(view.term_version(give)),
        "value": f"{nonce} 45 days",
    }
    return Edit("term.set", data, nonce)

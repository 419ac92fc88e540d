"""What waits for one side of a room, and what happened while a participant
was away.

``waiting_for`` reads the room's state, not the log: a trade of the other
side still open, a stage change they proposed, a commitment they confirmed
and this side has not, a set of packages to answer, a joint check they
allowed or a package of it they accepted, the agreement they confirmed. Each
item names the card it concerns (its DOM id) and a key that stays the same
while it waits (the waiting emails are sent once per key). Only shared facts
go in, and each side gets only its own items.

``away_summary`` tells the other side's events since the participant last
saw the room, in the event vocabulary's replay words, and which cards they
changed (shown as unread until seen).
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from negotiation.events import EventKind, spec_of
from negotiation.fixed_sql import column, table
from negotiation.models import Deal, DealEvent, Issue, Participant, Party
from room.models import (
    AgreementConfirmation,
    CadenceProposal,
    Commitment,
    JointCheck,
    JointCheckConsent,
    MesoSet,
    Pause,
    RoomVisit,
    StageChange,
    Trade,
)
from room.services.closing import agreement_digest
from room.services.rules import tool_refusal


@dataclass(frozen=True)
class Waiting:
    """One thing the other side waits for this side to do."""

    key: str  # stable while it waits: "trade:12"
    text: str  # what it is, in a sentence
    action: str  # the button's words
    target: str  # the DOM id of the card to go to


@dataclass(frozen=True)
class Suggestion:
    """The stage's next move, when nothing waits."""

    text: str
    action: str
    target: str


# One suggested move per stage, in Parley's words (after the method's five
# stages): what a side can do next when the other side waits for nothing.
SUGGESTED_MOVES: dict[str, Suggestion] = {
    Deal.Stage.SETUP: Suggestion(
        "Write down the goal you share and the issues you will work on; when "
        "both of you are happy with them, propose moving to First Move.",
        "Set the shared goal",
        "region-setup",
    ),
    Deal.Stage.FIRST_MOVE: Suggestion(
        "Explore before you bargain: rank the issues by what matters to you, "
        "and ask what a good outcome looks like for them.",
        "Share your priorities",
        "region-positions",
    ),
    Deal.Stage.MIDGAME: Suggestion(
        "Offer a conditional trade: give on an issue that matters less to "
        "you, for one that matters more.",
        "Propose a trade",
        "region-trades",
    ),
    Deal.Stage.CLOSE: Suggestion(
        "Make each commitment measurable (owner, metric, target, date) and "
        "say what happens if it slips, then confirm the agreement.",
        "Review the commitments",
        "region-commitments",
    ),
    Deal.Stage.IMPLEMENTATION: Suggestion(
        "Meet at the agreed rhythm and record a check-in on every commitment.",
        "Record a check-in",
        "region-checkins",
    ),
}
ENDED = Suggestion(
    "This negotiation ended without agreement: the room is read-only.",
    "Read the outcome",
    "region-status",
)


@dataclass(frozen=True)
class Attention:
    items: list[Waiting]
    suggestion: Suggestion | None

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def first(self) -> Waiting | None:
        return self.items[0] if self.items else None


def _usable(deal: Deal, tool: str) -> bool:
    return tool_refusal(deal, tool) is None


def waiting_for(deal: Deal, party: Party) -> list[Waiting]:
    """What waits for ``party``'s side of ``deal`` now: the stage change
    first, then trades, packages and commitments oldest first, the review
    cadence, the pause, the joint check and the agreement.

    One statement (``_waiting_rows``) reads every table a waiting item can
    come from; the stage's rules then keep the tools it allows. The box is
    rendered again for each side at every proposal and answer, so the reads
    are the room's most frequent after a message's."""
    items: list[Waiting] = []
    if deal.status == Deal.Status.NO_DEAL:
        return items
    other = party.other_side
    rows: dict[str, list[tuple]] = {}
    for kind, *row in _waiting_rows(deal, party):
        rows.setdefault(kind, []).append(tuple(row))
    usable = functools.partial(_usable, deal)
    if usable("stage"):
        for pk, to_stage, *_ in rows.get("stage", ()):
            items.append(
                Waiting(
                    f"stage:{pk}",
                    f"They propose moving to {Deal.Stage(to_stage).label}.",
                    "Answer the stage change",
                    "region-stagebar",
                )
            )
    if usable("trades"):
        for pk, counter_of, give_issue, give_value, ask_issue, ask_value in sorted(
            rows.get("trade", ())
        ):
            what = "counter-offer" if counter_of else "trade"
            items.append(
                Waiting(
                    f"trade:{pk}",
                    f"Their {what}: they give {give_issue} “{give_value}” if you "
                    f"give {ask_issue} “{ask_value}”.",
                    f"Answer their {what}",
                    f"trade-{pk}",
                )
            )
    if usable("packages"):
        for pk, *_ in sorted(rows.get("meso", ())):
            items.append(
                Waiting(
                    f"meso:{pk}",
                    "They presented a set of packages worth the same to them: "
                    "rank them or pick one.",
                    "Answer their packages",
                    f"meso-{pk}",
                )
            )
    if usable("commitments"):
        for pk, version, description, *_ in sorted(rows.get("commitment", ())):
            items.append(
                Waiting(
                    f"commitment:{pk}:{version}",
                    f"They confirmed the commitment “{description}”.",
                    "Confirm the commitment",
                    f"commitment-{pk}",
                )
            )
    if usable("cadence"):
        for pk, cadence, first_check_in, *_ in rows.get("cadence", ()):
            items.append(
                Waiting(
                    f"cadence:{pk}",
                    "They propose a review cadence: "
                    f"{_CADENCES.get(cadence, cadence).lower()}, the first "
                    f"check-in on {_date(first_check_in):%-d %b %Y}.",
                    "Answer the review cadence",
                    "region-cadence",
                )
            )
    if usable("pause"):
        for pk, resume_on, *_ in rows.get("pause", ()):
            items.append(
                Waiting(
                    f"pause:{pk}",
                    "They propose to pause and resume on "
                    f"{_date(resume_on):%-d %b %Y}.",
                    "Answer the pause",
                    "region-pause",
                )
            )
    if usable("jointcheck"):
        items.extend(_joint_check_items(rows, party, other))
    if usable("agreement"):
        confirmed = {side: digest for _, side, digest, *_ in rows.get("agreed", ())}
        if other in confirmed and party.side not in confirmed:
            digest = agreement_digest(deal)
            if confirmed[other] == digest:
                items.append(
                    Waiting(
                        f"agreement:{digest[:16]}",
                        "They confirmed the agreement as it stands.",
                        "Review and confirm the agreement",
                        "region-agreement",
                    )
                )
    return items


def _joint_check_items(
    rows: dict[str, list[tuple]], party: Party, other: str
) -> list[Waiting]:
    items = []
    consents = {side: pk for pk, side, *_ in rows.get("consent", ())}
    if other in consents and party.side not in consents:
        items.append(
            Waiting(
                f"jointcheck:allow:{consents[other]}",
                "They allow a blind joint check of both sides' scorings.",
                "Decide on the joint check",
                "region-jointcheck",
            )
        )
    for pk, applied, accepted, *_ in rows.get("check", ()):
        if applied in ("1", "true"):
            continue
        accepted = json.loads(accepted or "{}")
        theirs, ours = accepted.get(other), accepted.get(party.side)
        if theirs is not None and ours != theirs:
            items.append(
                Waiting(
                    f"jointcheck:{pk}:accept:{theirs}",
                    "They accepted a package the joint check suggested.",
                    "Look at the suggested package",
                    "region-jointcheck",
                )
            )
    return items


_CADENCES = dict(CadenceProposal._meta.get_field("cadence").choices)


def _date(value: Any) -> datetime.date:
    """A date column read as text (``_waiting_rows``)."""
    return (
        value
        if isinstance(value, datetime.date)
        else datetime.date.fromisoformat(value)
    )


def _waiting_rows(deal: Deal, party: Party) -> list[tuple]:
    """Every row a waiting item can come from, as ``(kind, id, a, b, c, d,
    e)`` text columns: pending proposals of the other side, open trades and
    presented packages of the other side, commitments the other side
    confirmed and this side has not, the consents to a joint check, the
    latest joint check, and the agreement's confirmations."""
    own = "host" if party.side == Party.Side.HOST else "counterpart"
    with connection.cursor() as cursor:
        cursor.execute(_waiting_sql(own), {"deal": deal.pk, "party": party.pk})
        return cursor.fetchall()


@functools.cache
def _waiting_sql(own: str) -> str:
    """The statement behind ``_waiting_rows`` for the side ``own``, written
    once per process: six queries the ORM compiled at every render of the
    box before."""
    theirs = "counterpart" if own == "host" else "host"

    def text(expression: str) -> str:
        return f"CAST({expression} AS TEXT)"

    null = text("NULL")

    def part(kind: str, model, columns: list[str], where: str, joins: str = "") -> str:
        columns = [*columns, *[null] * (6 - len(columns))]
        return (
            f"SELECT '{kind}', {', '.join(columns)} FROM {table(model)} x {joins}"
            f" WHERE x.{column(model, 'deal')} = %(deal)s AND {where}"
        )

    def col(model, name: str, alias: str = "x") -> str:
        return f"{alias}.{column(model, name)}"

    def other_party(model) -> str:
        return f"{col(model, 'party')} <> %(party)s"

    def pending(model, status: str) -> str:
        return f"{col(model, 'status')} = '{status}' AND {other_party(model)}"

    issue = Issue
    parts = [
        part(
            "stage",
            StageChange,
            [text(col(StageChange, "id")), col(StageChange, "to_stage")],
            pending(StageChange, StageChange.Status.PENDING),
        ),
        part(
            "trade",
            Trade,
            [
                text(col(Trade, "id")),
                text(col(Trade, "counter_of")),
                col(issue, "name", "g"),
                col(Trade, "give_value"),
                col(issue, "name", "a"),
                col(Trade, "ask_value"),
            ],
            pending(Trade, Trade.Status.OPEN),
            joins=(
                f"JOIN {table(issue)} g ON g.{column(issue, 'id')} = "
                f"{col(Trade, 'give_issue')} JOIN {table(issue)} a ON "
                f"a.{column(issue, 'id')} = {col(Trade, 'ask_issue')}"
            ),
        ),
        part(
            "meso",
            MesoSet,
            [text(col(MesoSet, "id"))],
            pending(MesoSet, MesoSet.Status.PRESENTED),
        ),
        part(
            "commitment",
            Commitment,
            [
                text(col(Commitment, "id")),
                text(col(Commitment, "version")),
                col(Commitment, "description"),
            ],
            f"{col(Commitment, f'{own}_confirmed_at')} IS NULL AND "
            f"{col(Commitment, f'{theirs}_confirmed_at')} IS NOT NULL",
        ),
        part(
            "cadence",
            CadenceProposal,
            [
                text(col(CadenceProposal, "id")),
                col(CadenceProposal, "cadence"),
                text(col(CadenceProposal, "first_check_in")),
            ],
            pending(CadenceProposal, CadenceProposal.Status.PENDING),
        ),
        part(
            "pause",
            Pause,
            [text(col(Pause, "id")), text(col(Pause, "resume_on"))],
            pending(Pause, Pause.Status.PENDING),
        ),
        part(
            "consent",
            JointCheckConsent,
            [text(col(JointCheckConsent, "id")), col(Party, "side", "p")],
            "1 = 1",
            joins=(
                f"JOIN {table(Party)} p ON p.{column(Party, 'id')} = "
                f"{col(JointCheckConsent, 'party')}"
            ),
        ),
        part(
            "check",
            JointCheck,
            [
                text(col(JointCheck, "id")),
                text(col(JointCheck, "applied")),
                text(col(JointCheck, "accepted")),
            ],
            f"{col(JointCheck, 'id')} = (SELECT MAX(y.{column(JointCheck, 'id')})"
            f" FROM {table(JointCheck)} y"
            f" WHERE y.{column(JointCheck, 'deal')} = %(deal)s)",
        ),
        part(
            "agreed",
            AgreementConfirmation,
            [
                text(col(AgreementConfirmation, "id")),
                col(Party, "side", "p"),
                col(AgreementConfirmation, "digest"),
            ],
            "1 = 1",
            joins=(
                f"JOIN {table(Party)} p ON p.{column(Party, 'id')} = "
                f"{col(AgreementConfirmation, 'party')}"
            ),
        ),
    ]
    return " UNION ALL ".join(parts)


def attention_for(deal: Deal, party: Party | None) -> Attention | None:
    """What one side sees in its attention box; None for a viewer with no
    side (a reviewing manager)."""
    if party is None:
        return None
    items = waiting_for(deal, party)
    if deal.status == Deal.Status.NO_DEAL:
        return Attention(items, ENDED)
    return Attention(items, SUGGESTED_MOVES.get(deal.stage))


# --- while you were away ------------------------------------------------------

# How many of the other side's events the summary tells; the rest are counted.
SUMMARY_LINES = 8
SUMMARY_EVENTS = 200


@dataclass
class AwaySummary:
    seq: int  # the summary runs up to this event
    lines: list[str] = field(default_factory=list)
    more: int = 0
    unread: list[str] = field(default_factory=list)  # DOM ids

    def __bool__(self) -> bool:
        return bool(self.lines)


# The card each kind of event changes, from the ids in its payload.
_UNREAD_TARGETS = {
    "trade_id": "trade-{}",
    "meso_id": "meso-{}",
    "commitment_id": "commitment-{}",
    "concession_id": "concession-{}",
}
_KIND_REGIONS = {
    "stage.": "region-stagebar",
    "agreement.": "region-agreement",
    "jointcheck.": "region-jointcheck",
    "position.": "region-positions",
    "setup.": "region-setup",
}


def _unread_ids(event: DealEvent) -> list[str]:
    payload = event.payload or {}
    ids = [
        template.format(payload[key])
        for key, template in _UNREAD_TARGETS.items()
        if isinstance(payload.get(key), int)
    ]
    if event.kind == EventKind.TERM_UPDATED and isinstance(
        payload.get("issue_id"), int
    ):
        ids.append(f"term-{payload['issue_id']}")
    for prefix, region in _KIND_REGIONS.items():
        if event.kind.startswith(prefix):
            ids.append(region)
    return ids


class _Facts(dict):
    """The shared facts a replay line names ({who}, {trade}, {issue}…).

    The review fills the same lines with more detail
    (``review.analysis.narrative``); the room may not import the review, so
    this is the short form: names from the agenda and the trades only."""

    def __init__(self, event: DealEvent, who: str, issues, trades) -> None:
        super().__init__(who=who)
        self.event, self.issues, self.trades = event, issues, trades

    def __missing__(self, name: str) -> str:
        payload = self.event.payload or {}
        if name == "issue":
            return self.issues.get(payload.get("issue_id"), "an issue")
        if name == "stage":
            return (
                Deal.Stage(payload["stage"]).label
                if payload.get("stage") in Deal.Stage.values
                else "the next stage"
            )
        if name == "trade":
            trade = self.trades.get(payload.get("trade_id"))
            if trade is None:
                return "a trade"
            return (
                f"“{trade.give_issue.name} {trade.give_value} for "
                f"{trade.ask_issue.name} {trade.ask_value}”"
            )
        if name == "answer":
            return "answered a set of packages"
        if name == "to_value":
            value = payload.get("value")
            return f" to “{value}”" if value is not None else ""
        if name == "quote":
            return " in the discussion."
        return ""  # "about" and any field added later: left out, not failed


def away_summary(participant: Participant, deal: Deal) -> AwaySummary:
    """The other side's events since ``participant`` last saw the room."""
    seen = (
        RoomVisit.objects.filter(participant=participant)
        .values_list("seen_seq", flat=True)
        .first()
    )
    summary = AwaySummary(seq=deal.last_seq)
    if seen is None or seen >= deal.last_seq:
        return summary  # a first visit is not a return
    theirs = (
        DealEvent.objects.filter(deal=deal, seq__gt=seen, seq__lte=deal.last_seq)
        .exclude(actor__party_id=participant.party_id)
        .exclude(actor__isnull=True)
    )
    # The latest only: a side away for weeks gets the gist, and the page
    # costs the same after 5 or 5,000 events.
    events = list(theirs.select_related("actor").order_by("-seq")[:SUMMARY_EVENTS])[
        ::-1
    ]
    if not events:
        return summary
    issues = dict(Issue.objects.filter(deal=deal).values_list("pk", "name"))
    trade_ids = {
        e.payload.get("trade_id") for e in events if isinstance(e.payload, dict)
    }
    trades = Trade.objects.filter(deal=deal, pk__in=trade_ids - {None})
    trades = {t.pk: t for t in trades.select_related("give_issue", "ask_issue")}
    lines: list[str] = []
    unread: list[str] = []
    for event in events:
        facts = _Facts(event, event.actor.display_name, issues, trades)
        lines.append(spec_of(event.kind).replay.format_map(facts))
        for dom_id in _unread_ids(event):
            if dom_id not in unread:
                unread.append(dom_id)
    merged = _merged(lines)
    summary.lines = merged[-SUMMARY_LINES:]
    summary.more = max(0, len(merged) - SUMMARY_LINES)
    if len(events) == SUMMARY_EVENTS:
        summary.more += theirs.count() - SUMMARY_EVENTS
    summary.unread = unread
    return summary


def _merged(lines: Iterable[str]) -> list[str]:
    """Runs of the same line (ten messages in a row) told once, counted."""
    merged: list[tuple[str, int]] = []
    for line in lines:
        if merged and merged[-1][0] == line:
            merged[-1] = (line, merged[-1][1] + 1)
        else:
            merged.append((line, 1))
    return [line if n == 1 else f"{line} (×{n})" for line, n in merged]

"""One plain sentence per logged event, for the review's timeline replay.

The log holds ids; ``EventNames`` maps them to the shared facts a sentence
needs (issue names, trade values, commitment wording). Only shared facts go
in: a concession's valuation or a side's preparation never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from review.analysis.replay import LoggedEvent, TradeValues


@dataclass(frozen=True)
class EventNames:
    issues: Mapping[int, str] = field(default_factory=dict)
    trades: Mapping[int, TradeValues] = field(default_factory=dict)
    packages: Mapping[int, str] = field(default_factory=dict)  # meso id → picked
    concessions: Mapping[int, str] = field(default_factory=dict)
    commitments: Mapping[int, str] = field(default_factory=dict)
    messages: Mapping[int, str] = field(default_factory=dict)
    stages: Mapping[str, str] = field(default_factory=dict)
    sides: Mapping[str, str] = field(default_factory=dict)  # side → organisation


PLAIN: dict[str, str] = {
    "deal.created": "{who} created the deal.",
    "deal.updated": "{who} updated the deal's facts.",
    "setup.updated": "{who} updated the shared purpose or ground rules.",
    "issue.reordered": "{who} reordered the agenda.",
    "participant.joined": "{who} joined the room.",
    "invite.revoked": "{who} revoked a share link.",
    "stage.proposed": "{who} proposed a stage change.",
    "stage.declined": "{who} declined the stage change.",
    "stage.withdrawn": "{who} withdrew the stage change.",
    "position.updated": "{who} updated their shared interests and ranking.",
    "meso.presented": "{who} presented a set of equivalent packages.",
    "agreement.confirmed": "{who} confirmed the agreement.",
    "checkin.added": "{who} recorded a check-in.",
    "deal.no_deal": "{who} ended the negotiation without agreement.",
    "nudge.dismissed": "{who} dismissed a coaching note.",
}


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _trade_text(trade: TradeValues | None, names: EventNames) -> str:
    if trade is None:
        return "a trade"
    give = names.issues.get(trade.give_issue_id, "an issue")
    ask = names.issues.get(trade.ask_issue_id, "an issue")
    return (
        f"“if we give {give}: {trade.give_value}, "
        f"can you give {ask}: {trade.ask_value}?”"
    )


def who(event: LoggedEvent, names: EventNames) -> str:
    organisation = names.sides.get(event.side or "", "")
    if event.actor and organisation:
        return f"{event.actor} ({organisation})"
    return event.actor or organisation or "Someone"


def describe(event: LoggedEvent, names: EventNames) -> str:
    """What happened at this step, in one sentence."""
    payload = event.payload or {}
    actor = who(event, names)
    kind = event.kind
    issue = names.issues.get(_int(payload.get("issue_id")) or 0, "an issue")
    if kind in PLAIN:
        return PLAIN[kind].format(who=actor)
    if kind == "issue.added":
        return f"{actor} put {issue} on the agenda."
    if kind == "issue.updated":
        return f"{actor} edited the issue {issue}."
    if kind == "issue.removed":
        return f"{actor} took an issue off the agenda."
    if kind == "stage.accepted":
        stage = names.stages.get(str(payload.get("stage")), "the next stage")
        return f"{actor} accepted the move: the deal is now in {stage}."
    if kind.startswith("trade."):
        trade = _trade_text(names.trades.get(_int(payload.get("trade_id")) or 0), names)
        verb = {
            "trade.proposed": "proposed",
            "trade.countered": "countered with",
            "trade.accepted": "accepted",
            "trade.declined": "declined",
            "trade.withdrawn": "withdrew",
        }.get(kind, "changed")
        return f"{actor} {verb} {trade}."
    if kind == "meso.answered":
        picked = names.packages.get(_int(payload.get("meso_id")) or 0)
        if picked:
            return f"{actor} picked the package “{picked}”."
        return f"{actor} ranked a set of packages."
    if kind in ("concession.added", "concession.valued"):
        item = names.concessions.get(_int(payload.get("concession_id")) or 0)
        about = f" “{item}”" if item else ""
        if kind == "concession.added":
            return f"{actor} logged the concession{about}."
        return f"{actor} valued their concession{about}."
    if kind == "term.updated":
        value = payload.get("value")
        if value is not None:
            return f"{actor} set {issue} to “{value}” on the term sheet."
        return f"{actor} changed {issue} on the term sheet."
    if kind.startswith("commitment."):
        text = names.commitments.get(_int(payload.get("commitment_id")) or 0)
        about = f" “{text}”" if text else ""
        verb = {
            "commitment.added": "added the commitment",
            "commitment.updated": "edited the commitment",
            "commitment.confirmed": "confirmed the commitment",
        }.get(kind, "changed a commitment")
        return f"{actor} {verb}{about}."
    if kind == "message.posted":
        text = names.messages.get(_int(payload.get("message_id")) or 0)
        return f"{actor} wrote: “{text}”" if text else f"{actor} wrote a message."
    return f"{actor}: {kind.replace('.', ' ')}."

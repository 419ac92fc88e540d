"""One plain sentence per logged event, for the review's timeline replay.

The log holds ids; ``EventNames`` maps them to the shared facts a sentence
needs (issue names, trade values, commitment wording). Only shared facts go
in: a concession's valuation or a side's preparation never does.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from negotiation.events import spec_of
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


# The cadences a replay names (a payload holds one of them, never free text).
CADENCES = frozenset({"weekly", "fortnightly", "monthly", "quarterly"})


def _day(raw: Any) -> str | None:
    try:
        day = datetime.date.fromisoformat(str(raw))
    except ValueError:
        return None
    return f"{day.day} {day:%B %Y}"


def who(event: LoggedEvent, names: EventNames) -> str:
    organisation = names.sides.get(event.side or "", "")
    if event.actor and organisation:
        return f"{event.actor} ({organisation})"
    return event.actor or organisation or "Someone"


class _Facts(dict):
    """The shared facts a replay sentence may name, computed on first use."""

    def __init__(self, event: LoggedEvent, names: EventNames) -> None:
        super().__init__()
        self.event, self.names = event, names
        self.payload = event.payload or {}

    def _id(self, key: str) -> int:
        return _int(self.payload.get(key)) or 0

    def __missing__(self, field: str) -> str:
        names, kind = self.names, self.event.kind
        if field == "who":
            value = who(self.event, names)
        elif field == "issue":
            value = names.issues.get(self._id("issue_id"), "an issue")
        elif field == "stage":
            value = names.stages.get(str(self.payload.get("stage")), "the next stage")
        elif field == "trade":
            value = _trade_text(names.trades.get(self._id("trade_id")), names)
        elif field == "answer":
            picked = names.packages.get(self._id("meso_id"))
            value = (
                f"picked the package “{picked}”"
                if picked
                else "ranked a set of packages"
            )
        elif field == "about":
            if kind.startswith("concession."):
                text = names.concessions.get(self._id("concession_id"))
            else:
                text = names.commitments.get(self._id("commitment_id"))
            # A withdrawn or removed one is gone: its event kept its words.
            text = text or self.payload.get("text")
            value = f" “{text}”" if text else ""
        elif field == "to_value":
            raw = self.payload.get("value")
            value = f" to “{raw}”" if raw is not None else ""
        elif field == "cadence":
            cadence = self.payload.get("cadence")
            cadence = cadence if cadence in CADENCES else None
            first = _day(self.payload.get("first_check_in"))
            value = (
                f"{cadence} reviews from {first}"
                if cadence and first
                else "a review cadence"
            )
        elif field == "resume":
            day = _day(self.payload.get("resume_on"))
            note = str(self.payload.get("note") or "")
            value = f"on {day}" if day else "later"
            if note:
                value += f" (“{note}”)"
        elif field == "quote":
            text = names.messages.get(self._id("message_id"))
            value = f": “{text}”" if text else " a message."
        else:
            raise KeyError(field)
        self[field] = value
        return value


def describe(event: LoggedEvent, names: EventNames) -> str:
    """What happened at this step, in one sentence: the kind's replay line
    (``negotiation.events.EVENTS``) with its shared facts filled in."""
    return spec_of(event.kind).replay.format_map(_Facts(event, names))

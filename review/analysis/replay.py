"""Rebuild how the term sheet stood after each event of a deal's log.

Only three events write the term sheet, and each names what it wrote by id:

- ``trade.accepted`` {trade_id}: the trade's give and ask values, on its two
  issues (a trade's values never change once proposed);
- ``meso.answered`` {meso_id}: the values of the package that was picked, on
  the issues it holds (a package's values never change either);
- ``term.updated`` {issue_id, value}: a direct edit. Logs written before the
  value was recorded in the payload hold the issue only.

A direct edit without its value is still known when it was the last write to
its issue: the term sheet as it stands now holds what it wrote. Any other is
shown as changed, value not recorded — never guessed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from negotiation.events import EventKind

WRITES_TERMS = (
    EventKind.TRADE_ACCEPTED,
    EventKind.MESO_ANSWERED,
    EventKind.TERM_UPDATED,
)


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime.datetime
    side: str | None = None
    actor: str = ""


@dataclass(frozen=True)
class TradeValues:
    give_issue_id: int
    give_value: str
    ask_issue_id: int
    ask_value: str


@dataclass(frozen=True)
class TermChange:
    seq: int
    issue_id: int
    # None: the log does not say what was written.
    value: str | None
    source: str  # "trade", "package" or "edit"

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class TermCell:
    value: str | None
    known: bool
    changed: bool  # written by this very step
    since_seq: int


@dataclass(frozen=True)
class ReplayStep:
    number: int  # 1-based position in the log
    event: LoggedEvent
    changes: tuple[TermChange, ...]
    terms: Mapping[int, TermCell]

    @property
    def writes_terms(self) -> bool:
        return bool(self.changes)


@dataclass
class Replay:
    steps: list[ReplayStep]
    changes: list[TermChange] = field(default_factory=list)
    # False when the rebuilt final sheet differs from the stored one (a log
    # that predates something, or data loaded around the services).
    reconciles: bool = True

    def __len__(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> ReplayStep | None:
        """Step ``number`` (clamped into the log), or None for an empty log."""
        if not self.steps:
            return None
        number = min(max(number, 1), len(self.steps))
        return self.steps[number - 1]

    def series(self, issue_id: int) -> list[TermChange]:
        """Every write to one issue's term, in order."""
        return [change for change in self.changes if change.issue_id == issue_id]

    @property
    def unknown_count(self) -> int:
        return sum(1 for change in self.changes if not change.known)


def _changes_of(
    event: LoggedEvent,
    *,
    issue_ids: set[int],
    trades: Mapping[int, TradeValues],
    picks: Mapping[int, Mapping[str, str]],
    last_answer_seq: Mapping[int, int],
) -> list[TermChange]:
    payload = event.payload or {}
    changes: list[TermChange] = []
    if event.kind == EventKind.TRADE_ACCEPTED:
        trade = trades.get(_int(payload.get("trade_id")))
        if trade is not None:
            changes = [
                TermChange(event.seq, trade.give_issue_id, trade.give_value, "trade"),
                TermChange(event.seq, trade.ask_issue_id, trade.ask_value, "trade"),
            ]
    elif event.kind == EventKind.MESO_ANSWERED:
        meso_id = _int(payload.get("meso_id"))
        # A set answered twice only remembers its last pick: an earlier answer
        # may have picked another package (or none), so it writes nothing here.
        if meso_id in picks and last_answer_seq.get(meso_id) == event.seq:
            changes = [
                TermChange(event.seq, int(issue_id), str(value), "package")
                for issue_id, value in picks[meso_id].items()
                if str(issue_id).isdigit()
            ]
    elif event.kind == EventKind.TERM_UPDATED:
        issue_id = _int(payload.get("issue_id"))
        if issue_id is not None:
            value = payload.get("value")
            changes = [
                TermChange(
                    event.seq, issue_id, None if value is None else str(value), "edit"
                )
            ]
    return [change for change in changes if change.issue_id in issue_ids]


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def replay_term_sheet(
    events: Sequence[LoggedEvent],
    *,
    issue_ids: Iterable[int],
    trades: Mapping[int, TradeValues],
    picks: Mapping[int, Mapping[str, str]],
    final_terms: Mapping[int, str],
) -> Replay:
    """The term sheet after each event of ``events`` (ordered by ``seq``).

    ``issue_ids``: the deal's current agenda (writes to removed issues are
    left out). ``picks``: per answered MESO set, the values of the package
    picked. ``final_terms``: the term sheet as stored now, per issue id.
    """
    issue_ids = set(issue_ids)
    last_answer_seq: dict[int, int] = {}
    for event in events:
        if event.kind == EventKind.MESO_ANSWERED:
            meso_id = _int((event.payload or {}).get("meso_id"))
            if meso_id is not None:
                last_answer_seq[meso_id] = event.seq
    per_event = [
        _changes_of(
            event,
            issue_ids=issue_ids,
            trades=trades,
            picks=picks,
            last_answer_seq=last_answer_seq,
        )
        for event in events
    ]
    # An unrecorded edit that was the last write to its issue wrote what the
    # term sheet holds now.
    last_write: dict[int, tuple[int, int]] = {}
    for index, changes in enumerate(per_event):
        for position, change in enumerate(changes):
            last_write[change.issue_id] = (index, position)
    for issue_id, (index, position) in last_write.items():
        change = per_event[index][position]
        if not change.known and issue_id in final_terms:
            per_event[index][position] = replace(change, value=final_terms[issue_id])

    steps: list[ReplayStep] = []
    all_changes: list[TermChange] = []
    terms: dict[int, TermCell] = {}
    for number, (event, changes) in enumerate(zip(events, per_event, strict=True), 1):
        terms = {
            issue_id: replace(cell, changed=False) if cell.changed else cell
            for issue_id, cell in terms.items()
        }
        for change in changes:
            terms[change.issue_id] = TermCell(
                value=change.value,
                known=change.known,
                changed=True,
                since_seq=event.seq,
            )
        all_changes.extend(changes)
        steps.append(
            ReplayStep(number=number, event=event, changes=tuple(changes), terms=terms)
        )
    reconciles = {
        issue_id: cell.value for issue_id, cell in terms.items() if cell.known
    } == {
        issue_id: value
        for issue_id, value in final_terms.items()
        if issue_id in issue_ids
    }
    return Replay(steps=steps, changes=all_changes, reconciles=reconciles)

"""The final term sheet against one side's own targets and walk-away point.

Called with one side's preparation only (its ideal outcome per issue, its
opening ranges and its walk-away figure), for a viewer allowed to read it.
Nothing here ever combines both sides' private figures.

Which way is "better" on a numeric issue is read from the side's own
preparation: from the walk-away figure towards the target, or else from the
target towards the opening range (openings are more ambitious than targets).
When neither tells, the gap is shown without a verdict.

The walk-away figure (``Preparation.reservation_value``) belongs to the
deal's headline number: the side's most important numeric issue, the first
on the agenda among equals.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from common.numbers import parse_number


@dataclass(frozen=True)
class IssueTarget:
    issue_id: int
    name: str
    unit: str = ""
    numeric: bool = True
    importance: int | None = None
    ideal: str = ""
    opening_low: Decimal | None = None
    opening_high: Decimal | None = None

    @property
    def opening_mid(self) -> Decimal | None:
        ends = [v for v in (self.opening_low, self.opening_high) if v is not None]
        if not ends:
            return None
        return sum(ends, Decimal(0)) / len(ends)


@dataclass(frozen=True)
class IssueOutcome:
    target: IssueTarget
    final: str | None
    final_number: Decimal | None
    target_number: Decimal | None
    direction: int  # +1 higher is better for this side, -1 lower, 0 unknown
    verdict: str  # "beat", "met", "short", "differs", "open", "no_target"
    # Signed in this side's favour: > 0 beyond target, < 0 short of it.
    gap: Decimal | None = None

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def verdict_label(self) -> str:
        return {
            "beat": "Beat the target",
            "met": "Met the target",
            "short": "Short of the target",
            "differs": "Not comparable",
            "open": "No agreed value",
            "no_target": "No target set",
        }[self.verdict]


@dataclass(frozen=True)
class Headline:
    """The headline number between walk-away and target."""

    issue_id: int
    name: str
    unit: str
    final: Decimal | None
    reservation: Decimal
    target: Decimal | None
    direction: int
    # How far beyond the walk-away point the deal landed (value secured) and
    # how far short of the target (value left), in this side's favour.
    surplus: Decimal | None
    left: Decimal | None
    share_of_range: float | None  # 0 at walk-away, 1 at target

    @property
    def below_walkaway(self) -> bool:
        return self.surplus is not None and self.surplus < 0


@dataclass(frozen=True)
class OutcomeReport:
    issues: list[IssueOutcome]
    headline: Headline | None

    @property
    def created(self) -> list[IssueOutcome]:
        return [i for i in self.issues if i.verdict in ("beat", "met")]

    @property
    def left(self) -> list[IssueOutcome]:
        return [i for i in self.issues if i.verdict == "short"]

    @property
    def compared(self) -> int:
        return sum(1 for i in self.issues if i.verdict in ("beat", "met", "short"))


# What may differ between two writings of the same option: a leading article,
# case, spacing, hyphens and dashes, quotes, and closing punctuation or "…".
_LEADING_ARTICLE = re.compile(r"^(?:a|an|the)\s+")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_/]+")
_QUOTES = re.compile(r"[\"'‘’“”«»]")
_TRAILING = re.compile(r"[\s.,;:!?…]+$")


def option_key(text: str) -> str:
    """The value an option's wording names, for comparing two writings of it.

    "a 12-week pilot…", "12-week pilot" and "12 week Pilot." give the same
    key; "6-week pilot", "no pilot" or "pilot" do not.
    """
    key = unicodedata.normalize("NFKC", text).casefold()
    key = _QUOTES.sub("", key)
    key = _TRAILING.sub("", key.strip())
    key = _SEPARATORS.sub(" ", key).strip()
    return _LEADING_ARTICLE.sub("", key)


def _sign(value: Decimal | None) -> int:
    if value is None or value == 0:
        return 0
    return 1 if value > 0 else -1


def _direction(
    target: IssueTarget, target_number: Decimal | None, reservation: Decimal | None
) -> int:
    if reservation is not None:
        if target_number is not None and target_number != reservation:
            return _sign(target_number - reservation)
        if target.opening_mid is not None:
            return _sign(target.opening_mid - reservation)
    if target_number is not None and target.opening_mid is not None:
        return _sign(target.opening_mid - target_number)
    return 0


def headline_issue(targets: Sequence[IssueTarget]) -> IssueTarget | None:
    numeric = [t for t in targets if t.numeric]
    if not numeric:
        return None
    return max(numeric, key=lambda t: (t.importance or 0, -numeric.index(t)))


def _issue_outcome(
    target: IssueTarget, final: str | None, reservation: Decimal | None
) -> IssueOutcome:
    if not final:
        return IssueOutcome(target, None, None, None, 0, "open")
    if not target.ideal.strip():
        number = parse_number(final) if target.numeric else None
        return IssueOutcome(target, final, number, None, 0, "no_target")
    if not target.numeric:
        same = option_key(final) == option_key(target.ideal)
        return IssueOutcome(target, final, None, None, 0, "met" if same else "short")
    final_number = parse_number(final)
    target_number = parse_number(target.ideal)
    direction = _direction(target, target_number, reservation)
    if final_number is None or target_number is None:
        return IssueOutcome(
            target, final, final_number, target_number, direction, "differs"
        )
    raw_gap = final_number - target_number
    if raw_gap == 0:
        return IssueOutcome(
            target, final, final_number, target_number, direction, "met", Decimal(0)
        )
    if direction == 0:
        return IssueOutcome(
            target, final, final_number, target_number, 0, "differs", raw_gap
        )
    gap = raw_gap * direction
    verdict = "beat" if gap > 0 else "short"
    return IssueOutcome(
        target, final, final_number, target_number, direction, verdict, gap
    )


def compare_outcome(
    *,
    targets: Sequence[IssueTarget],
    final_terms: Mapping[int, str],
    reservation_value: Decimal | None,
) -> OutcomeReport:
    """Each issue's final value against this side's ideal outcome for it, and
    the headline number against this side's walk-away figure."""
    headline_target = headline_issue(targets) if reservation_value is not None else None
    outcomes = []
    headline = None
    for target in targets:
        is_headline = headline_target is not None and target == headline_target
        outcome = _issue_outcome(
            target,
            final_terms.get(target.issue_id),
            reservation_value if is_headline else None,
        )
        outcomes.append(outcome)
        if is_headline:
            headline = _headline(outcome, reservation_value)
    return OutcomeReport(issues=outcomes, headline=headline)


def _headline(outcome: IssueOutcome, reservation: Decimal) -> Headline:
    target = outcome.target
    target_number = parse_number(target.ideal) if target.ideal else None
    direction = outcome.direction or _direction(target, target_number, reservation)
    final = outcome.final_number
    surplus = left = share = None
    if final is not None and direction:
        surplus = (final - reservation) * direction
        if target_number is not None:
            left = max((target_number - final) * direction, Decimal(0))
            span = (target_number - reservation) * direction
            if span > 0:
                share = float(surplus / span)
    return Headline(
        issue_id=target.issue_id,
        name=target.name,
        unit=target.unit,
        final=final,
        reservation=reservation,
        target=target_number,
        direction=direction,
        surplus=surplus,
        left=left,
        share_of_range=share,
    )

"""A first scoring, proposed from what the side already prepared.

The side adjusts it before using it; nothing here is saved by itself.

- Weights follow the priority matrix: in proportion to each issue's
  importance (an issue with no matrix row counts as "important", 3 of 5),
  rounded so they add up to exactly 100.
- A numeric issue's value function runs from its worst acceptable value
  (worth 0) through the target (75) to the best value (100). Which way is
  better is read as the review reads it: from the walk-away figure towards
  the target, or from the target towards the opening range. The walk-away
  figure belongs to the headline issue (the most important numeric issue,
  the first on the agenda among equals); elsewhere the worst value is the
  end of the issue's range on the wrong side. When the preparation does
  not tell which way is better, or gives no worst value, nothing is
  proposed and the side draws the function itself.
- An option issue's ratings: 100 for the ideal option the matrix names,
  50 for the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from negotiation.scoring.values import SCORE_MAX, Point, largest_remainder

DEFAULT_IMPORTANCE = 3
TARGET_SCORE = 75
OTHER_OPTION_SCORE = 50


def propose_weights(importances: Mapping[int, int | None]) -> dict[int, int]:
    """Whole weights adding up to 100, in proportion to ``importances``
    (issue id → importance, None when unranked), largest remainders first,
    ties to the earlier issue."""
    ranks = [value or DEFAULT_IMPORTANCE for value in importances.values()]
    return dict(zip(importances, largest_remainder(ranks), strict=True))


def headline_issue(
    numeric_ids: Sequence[int], importances: Mapping[int, int | None]
) -> int | None:
    """The numeric issue a single walk-away figure belongs to."""
    if not numeric_ids:
        return None
    return max(
        numeric_ids,
        key=lambda key: (importances.get(key) or 0, -numeric_ids.index(key)),
    )


@dataclass(frozen=True)
class NumericPrep:
    """What the side prepared for one numeric issue."""

    target: Decimal | None = None
    walk_away: Decimal | None = None  # only on the headline issue
    opening_low: Decimal | None = None
    opening_high: Decimal | None = None
    range_min: Decimal | None = None
    range_max: Decimal | None = None

    @property
    def opening_mid(self) -> Decimal | None:
        ends = [v for v in (self.opening_low, self.opening_high) if v is not None]
        return sum(ends, Decimal(0)) / len(ends) if ends else None

    def direction(self) -> int:
        """+1 when higher is better for the side, -1 when lower, 0 unknown."""
        mid = self.opening_mid
        if self.walk_away is not None:
            if self.target is not None and self.target != self.walk_away:
                return _sign(self.target - self.walk_away)
            if mid is not None:
                return _sign(mid - self.walk_away)
        if self.target is not None and mid is not None:
            return _sign(mid - self.target)
        return 0


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def propose_points(prep: NumericPrep) -> tuple[Point, ...]:
    """A value function for one numeric issue, or () when the preparation
    does not say enough to draw one."""
    direction = prep.direction()
    if direction == 0:
        return ()
    higher = direction > 0
    worst = prep.walk_away
    if worst is None:
        worst = prep.range_min if higher else prep.range_max
    best = (prep.opening_high if higher else prep.opening_low) or prep.target
    if best is None:
        best = prep.range_max if higher else prep.range_min
    if worst is None or best is None or (best - worst) * direction <= 0:
        return ()
    points = [(worst, 0), (best, SCORE_MAX)]
    target = prep.target
    if (
        target is not None
        and (target - worst) * direction > 0
        and (best - target) * direction > 0
    ):
        points.append((target, TARGET_SCORE))
    return tuple(sorted(points))


def propose_ratings(options: Sequence[str], ideal: str = "") -> dict[str, int]:
    """100 for the option the side named as its ideal, 50 for the others."""
    wanted = ideal.strip().casefold()
    return {
        option: SCORE_MAX if option.casefold() == wanted else OTHER_OPTION_SCORE
        for option in options
    }

"""The issues both sides negotiate, and what one side's package is worth to it.

A side's profile is additive: per issue a weight (the weights sum to 1 here,
and to 100 in the app, converted at the edge by ``Profile.from_scores``) and an
evaluation in [0, 1] of each value of the issue: a rating per option, or a
straight-line value function through a few ``(value, score)`` points, flat
beyond its two ends, for a numeric issue. A package's utility is the sum over
issues of weight × evaluation, in [0, 1]; its score is that utility on the
app's 0–100 scale. The reservation is the utility below which the side would
rather walk away.

Arithmetic. Inputs are read exactly (as fractions), and each issue's part of a
utility is then rounded once to a whole number of ``UNITS`` (10⁹ per whole
utility). Everything downstream (package totals, the frontier, the Nash
product, the reservation test) adds and compares those integers, so it is
exact and independent of the order of the sums; the rounding moves a utility
by at most half a unit per issue (a few parts in 10⁹), far below what a person
can see. Decimal inputs (weights like 0.3, ratings like 70) need no rounding
at all, so equal packages stay exactly equal.

A numeric issue is discretised at its declared step (coarsened to a multiple
of the step when that gives more than ``MAX_LEVELS`` values), or, without a
step, into ``MAX_LEVELS`` evenly spaced values; the upper end is always one
of the values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

import numpy as np

UNITS = 10**9
MAX_LEVELS = 101
SCORE_MAX = 100

Value = str | Decimal
Outcome = Mapping[str, Value]


def exact(number: object) -> Fraction:
    """``number`` (int, float, Decimal, Fraction or a numeric string) read
    exactly as written: 0.3 is 3/10, not the binary float nearest to it."""
    if isinstance(number, Fraction | int):
        return Fraction(number)
    try:
        return Fraction(str(number).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"“{number}” is not a number.") from None


def _decimal(number: object) -> Decimal:
    fraction = exact(number)
    return Decimal(fraction.numerator) / Decimal(fraction.denominator)


@dataclass(frozen=True)
class OptionIssue:
    """An issue settled by picking one of a few named options."""

    name: str
    options: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        if not self.options:
            raise ValueError(f"The issue “{self.name}” has no options.")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"The issue “{self.name}” lists an option twice.")

    @property
    def values(self) -> tuple[str, ...]:
        return self.options

    def read(self, value: object) -> str:
        """``value`` as one of this issue's options, or ValueError."""
        if str(value) not in self.options:
            raise ValueError(f"“{value}” is not an option of the issue “{self.name}”.")
        return str(value)


@dataclass(frozen=True)
class NumericIssue:
    """An issue settled by a number between ``low`` and ``high``."""

    name: str
    low: Decimal
    high: Decimal
    step: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _decimal(self.low))
        object.__setattr__(self, "high", _decimal(self.high))
        if self.step is not None:
            object.__setattr__(self, "step", _decimal(self.step))
            if self.step <= 0:
                raise ValueError(f"The step of “{self.name}” must be above zero.")
        if self.high < self.low:
            raise ValueError(f"The range of “{self.name}” ends below where it starts.")

    @cached_property
    def values(self) -> tuple[Decimal, ...]:
        """The discrete values the analysis considers, from ``low`` to ``high``."""
        span = self.high - self.low
        if span == 0:
            return (self.low,)
        if self.step is None:
            intervals = MAX_LEVELS - 1
            return tuple(self.low + span * i / intervals for i in range(MAX_LEVELS))
        step = self.step
        intervals = math.ceil(span / step)
        if intervals > MAX_LEVELS - 1:
            step *= math.ceil(Decimal(intervals) / (MAX_LEVELS - 1))
            intervals = math.ceil(span / step)
        inner = tuple(self.low + step * i for i in range(intervals))
        return (*inner, self.high)

    def read(self, value: object) -> Decimal:
        """``value`` as a number of this issue's range, or ValueError."""
        number = _decimal(value)
        if not self.low <= number <= self.high:
            raise ValueError(
                f"{number} is outside the range of “{self.name}” "
                f"({self.low} to {self.high})."
            )
        return number


Issue = OptionIssue | NumericIssue


@dataclass(frozen=True)
class Domain:
    """The issues on the table, in agenda order, shared by both sides."""

    issues: tuple[Issue, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "issues", tuple(self.issues))
        if not self.issues:
            raise ValueError("A domain needs at least one issue.")
        names = [issue.name for issue in self.issues]
        if len(set(names)) != len(names):
            raise ValueError("Two issues share a name.")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(issue.name for issue in self.issues)

    @property
    def outcomes(self) -> int:
        """How many complete packages the domain holds."""
        return math.prod(len(issue.values) for issue in self.issues)

    def outcome(self, choice: Sequence[int]) -> dict[str, Value]:
        """The package picking value ``choice[i]`` of the i-th issue."""
        return {
            issue.name: issue.values[int(index)]
            for issue, index in zip(self.issues, choice, strict=True)
        }

    def read(self, outcome: Outcome) -> tuple[Value, ...]:
        """A complete package's values in issue order, or ValueError."""
        missing = [name for name in self.names if name not in outcome]
        if missing:
            raise ValueError(f"The package leaves open: {', '.join(missing)}.")
        unknown = sorted(set(outcome) - set(self.names))
        if unknown:
            raise ValueError(f"The package names unknown issues: {', '.join(unknown)}.")
        return tuple(issue.read(outcome[issue.name]) for issue in self.issues)


@dataclass(frozen=True)
class IssueScoring:
    """One issue of a side's profile: its weight (0–1) and an evaluation (0–1)
    per option (``ratings``) or a value function (``points``, sorted by value)."""

    weight: Fraction
    ratings: tuple[tuple[str, Fraction], ...] | None = None
    points: tuple[tuple[Decimal, Fraction], ...] = ()

    def evaluation(self, value: Value) -> Fraction:
        """What ``value`` is worth on this issue, 0–1 (an option without a
        rating is worth nothing)."""
        if self.ratings is not None:
            return dict(self.ratings).get(str(value), Fraction(0))
        return _value_function(self.points, Fraction(Decimal(value)))


def _value_function(
    points: Sequence[tuple[Decimal, Fraction]], x: Fraction
) -> Fraction:
    """Straight lines between ``points``, flat beyond the two ends."""
    if not points:
        return Fraction(0)
    if x <= points[0][0]:
        return points[0][1]
    if x >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        left, right = Fraction(x0), Fraction(x1)
        if left <= x <= right:
            return y0 + (y1 - y0) * (x - left) / (right - left)
    raise AssertionError("unreachable: the value lies between the ends")


@dataclass(frozen=True)
class Profile:
    """One side's additive profile over ``domain``: a scoring per issue, in
    the domain's order, weights summing to 1, and a reservation utility."""

    domain: Domain
    scorings: tuple[IssueScoring, ...]
    reservation: Fraction = Fraction(0)
    tables: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scorings", tuple(self.scorings))
        object.__setattr__(self, "reservation", exact(self.reservation))
        if len(self.scorings) != len(self.domain.issues):
            raise ValueError("Give one scoring per issue of the domain.")
        object.__setattr__(self, "scorings", tuple(self._matched()))
        if any(s.weight < 0 for s in self.scorings):
            raise ValueError("A weight cannot be negative.")
        if sum(s.weight for s in self.scorings) != 1:
            raise ValueError("The weights must add up to exactly 1 (100 in the app).")
        if not 0 <= self.reservation <= 1:
            raise ValueError("The reservation must lie between 0 and 1 (0–100).")
        object.__setattr__(self, "tables", tuple(self._tables()))

    def _matched(self) -> list[IssueScoring]:
        """The scorings, each checked against its issue's kind (an option
        issue without ratings rates every option 0)."""
        matched = []
        for issue, scoring in zip(self.domain.issues, self.scorings, strict=True):
            if isinstance(issue, OptionIssue):
                if scoring.points:
                    raise ValueError(f"“{issue.name}” has options, not a range.")
                if scoring.ratings is None:
                    scoring = IssueScoring(scoring.weight, ratings=())
            elif scoring.ratings is not None:
                raise ValueError(f"“{issue.name}” is numeric: give it points.")
            matched.append(scoring)
        return matched

    def _tables(self) -> list[np.ndarray]:
        """Per issue, each discrete value's part of the utility, in units."""
        tables = []
        for issue, scoring in zip(self.domain.issues, self.scorings, strict=True):
            parts = [self._units(scoring, value) for value in issue.values]
            tables.append(np.array(parts, dtype=np.int64))
        return tables

    @staticmethod
    def _units(scoring: IssueScoring, value: Value) -> int:
        evaluation = scoring.evaluation(value)
        if not 0 <= evaluation <= 1:
            raise ValueError("Each evaluation must lie between 0 and 1 (0–100).")
        return round(scoring.weight * evaluation * UNITS)

    @cached_property
    def reservation_units(self) -> int:
        return round(self.reservation * UNITS)

    @classmethod
    def from_scores(
        cls,
        domain: Domain,
        *,
        weights: Mapping[str, object],
        ratings: Mapping[str, Mapping[str, object]] | None = None,
        points: Mapping[str, Sequence[tuple[object, object]]] | None = None,
        reservation: object = 0,
    ) -> Profile:
        """A profile from the app's 0–100 figures: weights adding up to 100,
        a 0–100 rating per option of each option issue, ``(value, score)``
        points (score 0–100) for each numeric issue, a reservation score."""
        ratings, points = ratings or {}, points or {}
        scale = Fraction(SCORE_MAX)
        unknown = sorted(set(weights) - set(domain.names))
        if unknown:
            raise ValueError(f"Weights name unknown issues: {', '.join(unknown)}.")
        scorings = []
        for issue in domain.issues:
            weight = exact(weights.get(issue.name, 0)) / scale
            if isinstance(issue, OptionIssue):
                given = ratings.get(issue.name, {})
                stray = sorted(set(given) - set(issue.options))
                if stray:
                    raise ValueError(
                        f"“{issue.name}” has no option {', '.join(stray)} to rate."
                    )
                scorings.append(
                    IssueScoring(
                        weight,
                        ratings=tuple(
                            (option, exact(score) / scale)
                            for option, score in given.items()
                        ),
                    )
                )
            else:
                function = sorted(
                    (_decimal(value), exact(score) / scale)
                    for value, score in points.get(issue.name, ())
                )
                if any(a[0] == b[0] for a, b in itertools.pairwise(function)):
                    raise ValueError(
                        f"The value function of “{issue.name}” lists a value twice."
                    )
                scorings.append(IssueScoring(weight, points=tuple(function)))
        return cls(domain, tuple(scorings), exact(reservation) / scale)

    def utility_units(self, outcome: Outcome) -> int:
        """A complete package's utility in units (``UNITS`` = 1)."""
        values = self.domain.read(outcome)
        return sum(
            self._units(scoring, value)
            for scoring, value in zip(self.scorings, values, strict=True)
        )


def package_utility(profile: Profile, outcome: Outcome) -> float:
    """0–1: what a complete package is worth to the side (GENIUS's scale)."""
    return profile.utility_units(outcome) / UNITS


def package_score(profile: Profile, outcome: Outcome) -> float:
    """0–100: what a complete package is worth to the side (the app's scale)."""
    return profile.utility_units(outcome) * SCORE_MAX / UNITS


def clears_reservation(profile: Profile, outcome: Outcome) -> bool:
    """Whether the side would take this package rather than walk away: its
    utility is at least the reservation (meeting it exactly clears it)."""
    return profile.utility_units(outcome) >= profile.reservation_units

"""What a value is worth to a side, and what a whole package totals.

Scores are on the 0–100 scale the side types in. Checking a side's input
(``points_problem``, ``ratings_problem``) lives here too, so the model, the
form and any importer agree on what a well-formed scoring is.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from common.numbers import parse_number

SCORE_MAX = 100
POINTS_MIN = 2
POINTS_MAX = 5

Point = tuple[Decimal, int]


def value_at(points: Sequence[Point], value: Decimal) -> float:
    """The score of ``value`` on a value function through ``points`` (sorted by
    value): straight lines between the points, flat beyond the two ends."""
    if not points:
        return 0.0
    first, last = points[0], points[-1]
    if value <= first[0]:
        return float(first[1])
    if value >= last[0]:
        return float(last[1])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= value <= x1:
            share = (value - x0) / (x1 - x0)
            return float(Decimal(y0) + (Decimal(y1) - Decimal(y0)) * share)
    raise AssertionError("unreachable: the value lies between the ends")


def points_problem(points: Sequence[Sequence]) -> str | None:
    """Why ``points`` is not a usable value function, or None when it is."""
    if not POINTS_MIN <= len(points) <= POINTS_MAX:
        return (
            f"Give the value function between {POINTS_MIN} and {POINTS_MAX} "
            "points: a value and what it is worth to you."
        )
    values = [Decimal(str(value)) for value, _ in points]
    if any(later <= earlier for earlier, later in itertools.pairwise(values)):
        return "List each value once, from the lowest to the highest."
    if any(not 0 <= score <= SCORE_MAX for _, score in points):
        return f"Each score is between 0 and {SCORE_MAX}."
    return None


def ratings_problem(ratings: Mapping[str, int], options: Sequence[str]) -> str | None:
    """Why ``ratings`` does not rate exactly ``options``, or None."""
    if set(ratings) != set(options):
        return "Rate every option of the issue, and only those."
    if any(not 0 <= score <= SCORE_MAX for score in ratings.values()):
        return f"Each rating is between 0 and {SCORE_MAX}."
    return None


def read_value(text: str | None, options: Sequence[str] | None) -> str | Decimal | None:
    """A typed value ("EUR 212k", " net 60 ") as an issue's value: one of
    ``options`` (matched regardless of case and spaces) for an option issue,
    the one number it holds otherwise; None when open or unreadable."""
    if not text:
        return None
    if options is not None:
        wanted = text.strip().casefold()
        return next((o for o in options if o.casefold() == wanted), None)
    return parse_number(text)


def largest_remainder(shares: Sequence, total: int = SCORE_MAX) -> list[int]:
    """Whole numbers adding up to ``total`` in proportion to ``shares`` (any
    exact numbers: ints, Decimals, Fractions), the units left over going to
    the largest remainders, ties to the earlier share."""
    exact_shares = [Fraction(share) for share in shares]
    whole = sum(exact_shares)
    if not whole:
        return [0] * len(exact_shares)
    exact = [share * total / whole for share in exact_shares]
    result = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - result[i]), i))
    for index in by_remainder[: total - sum(result)]:
        result[index] += 1
    return result


@dataclass(frozen=True)
class IssueValue:
    """One issue of a side's scoring, ready to score values."""

    weight: int
    points: tuple[Point, ...] = ()
    ratings: Mapping[str, int] | None = None

    @classmethod
    def from_saved(
        cls, weight: int, *, options: bool, points: Sequence, ratings: Mapping
    ) -> IssueValue:
        """From what is stored: points as ``[["value", score], …]``."""
        if options:
            return cls(weight, ratings=dict(ratings))
        return cls(weight, points=tuple((Decimal(v), int(s)) for v, s in points))

    def worth_text(self, text: str) -> float | None:
        """What a typed value ("EUR 212k", "Net 60") is worth, or None when
        this issue's scoring cannot read it (no single number, an option it
        does not know)."""
        if self.ratings is not None:
            option = read_value(text, tuple(self.ratings))
            return None if option is None else float(self.ratings[option])
        number = read_value(text, None)
        return None if number is None else value_at(self.points, number)


@dataclass(frozen=True)
class TermsScore:
    """A package of typed values, scored: the total (an open or unreadable
    issue counts as worth nothing) and how many issues were so."""

    total: float
    open: int = 0
    unread: int = 0


def score_terms(
    issues: Mapping[int, IssueValue],
    terms: Mapping[int, str | None],
    memo: dict[tuple[int, str], float | None] | None = None,
) -> TermsScore:
    """Score typed values (issue id → text, None or missing when open).
    ``memo`` keeps what each typed value was worth between calls: scoring
    every open trade against one term sheet reads each term once."""
    total, open_, unread = 0.0, 0, 0
    for issue_id, issue in issues.items():
        text = terms.get(issue_id)
        if not text:
            open_ += 1
            continue
        if memo is None:
            worth = issue.worth_text(text)
        elif (issue_id, text) in memo:
            worth = memo[issue_id, text]
        else:
            worth = memo[issue_id, text] = issue.worth_text(text)
        if worth is None:
            unread += 1
            continue
        total += issue.weight * worth / SCORE_MAX
    return TermsScore(total, open_, unread)

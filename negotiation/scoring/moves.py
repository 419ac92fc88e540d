"""What the room will ask of two profiles (or of one side's alone).

Joint questions (``zopa_exists``, ``is_efficient``, ``improvements``) combine
both sides' private profiles: per the privacy rules they are for the joint
analysis both sides consented to, which shows both the same words and
packages and never a score of the other side. ``equivalent_packages`` and
``score_spread`` read one side's profile only, for that side.

Numeric issues are compared on their discrete values (``profiles``), so
"efficient" means that no package of the discretised domain beats the terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from negotiation.scoring.frontier import FrontierPoint, frontier_of
from negotiation.scoring.profiles import (
    SCORE_MAX,
    UNITS,
    NumericIssue,
    Outcome,
    Profile,
    Value,
    package_score,
)

# equivalent_packages works on a grid of 0.01 score points.
_BUCKET = UNITS // (SCORE_MAX * 100)
# An issue the other side did not rank still counts, a little, so that two
# packages differ somewhere when they can.
_UNRANKED_WEIGHT = 1e-6


def zopa_exists(a: Profile, b: Profile) -> bool:
    """Whether some package clears both sides' reservations."""
    return frontier_of(a, b).nash is not None


def is_efficient(a: Profile, b: Profile, current_outcome: Outcome) -> bool:
    """Whether no package is at least as good for both sides as the current
    terms and better for one of them."""
    frontier = frontier_of(a, b)
    current = a.utility_units(current_outcome), b.utility_units(current_outcome)
    return len(frontier.dominating(*current)) == 0


def improvements(
    a: Profile, b: Profile, current_outcome: Outcome, k: int = 3
) -> list[FrontierPoint]:
    """Up to ``k`` efficient packages that both sides score at least as high
    as the current terms and one side higher, nearest the Nash point first.

    Without a Nash point (no package clears both reservations) the anchor is
    the improvement that maximises the product of both sides' gains over the
    current terms. Empty when the current terms are efficient.
    """
    frontier = frontier_of(a, b)
    ca, cb = a.utility_units(current_outcome), b.utility_units(current_outcome)
    better = frontier.dominating(ca, cb)
    if not len(better) or k <= 0:
        return []
    ua, ub = frontier.ua[better], frontier.ub[better]
    if frontier.nash is not None:
        anchor = frontier.ua[frontier.nash], frontier.ub[frontier.nash]
    else:
        best = int(np.argmax((ua - ca) * (ub - cb)))
        anchor = ua[best], ub[best]
    # Floats: squared distances in units would overflow int64.
    distance = (ua - anchor[0]).astype(float) ** 2 + (ub - anchor[1]).astype(float) ** 2
    nearest = better[np.argsort(distance, kind="stable")[:k]]
    return [frontier.point(int(index)) for index in nearest]


def score_spread(profile: Profile, packages: Sequence[Outcome]) -> float:
    """0–100: how far apart the side's own scores of ``packages`` are (the
    highest minus the lowest; 0 for fewer than two)."""
    scores = [package_score(profile, package) for package in packages]
    return max(scores) - min(scores) if len(scores) > 1 else 0.0


def equivalent_packages(
    profile: Profile,
    other_side_priority_order: Sequence[str],
    n: int = 3,
    tolerance: float = 2.0,
    *,
    around: float | None = None,
) -> list[dict[str, Value]]:
    """Up to ``n`` different packages (a MESO set) that the side scores
    within ±``tolerance`` points of ``around`` (0–100), and that differ as much
    as possible on the issues the other side ranks highest.

    ``other_side_priority_order`` lists issue names, most important first (the
    other side's shared ranking); issues it leaves out count least. Each
    issue weighs half the one ranked above it, so differing on a higher
    issue outweighs differing on every issue below it, and a pair of
    packages differs on a numeric issue in proportion to the gap between
    their values. ``around`` defaults to halfway between the side's
    reservation and its best possible score.

    Packages are chosen one at a time, each the most different from those
    already chosen (a dynamic programme over the score, in 0.01-point steps,
    per issue); fewer than ``n`` come back when the band holds fewer.
    Scores finer than 0.01 points are rounded on that grid, and the band is
    narrowed by the worst rounding, so every package returned is within it.
    """
    domain = profile.domain
    unknown = [name for name in other_side_priority_order if name not in domain.names]
    if unknown:
        raise ValueError(
            f"The priority order names unknown issues: {', '.join(unknown)}."
        )
    if around is None:
        best = sum(int(table.max()) for table in profile.tables)
        around = (profile.reservation_units + best) / 2 * SCORE_MAX / UNITS
    rank = {name: place for place, name in enumerate(other_side_priority_order)}
    importance = [
        0.5 ** rank[issue.name] if issue.name in rank else _UNRANKED_WEIGHT
        for issue in domain.issues
    ]
    buckets = [np.rint(table / _BUCKET).astype(np.int64) for table in profile.tables]
    # Keep the grid's rounding (none for scores in 0.01 steps) inside the band,
    # so that every package found scores within it exactly.
    margin = sum(
        float(np.abs(table / _BUCKET - rounded).max())
        for table, rounded in zip(profile.tables, buckets, strict=True)
    )
    low = math.ceil(round((around - tolerance) * 100 + margin, 6))
    high = math.floor(round((around + tolerance) * 100 - margin, 6))

    chosen: list[tuple[int, ...]] = []
    while len(chosen) < n:
        package = _most_different(profile, buckets, importance, chosen, low, high)
        if package is None:
            break
        chosen.append(package)
    return [domain.outcome(package) for package in chosen]


def _most_different(
    profile: Profile,
    buckets: list[np.ndarray],
    importance: list[float],
    chosen: list[tuple[int, ...]],
    low: int,
    high: int,
) -> tuple[int, ...] | None:
    """The package in the band [low, high] (buckets) most different from
    ``chosen``, and not one of them; None when there is none."""
    gains = []
    for issue_index, issue in enumerate(profile.domain.issues):
        size = len(issue.values)
        values = np.arange(size)
        gain = np.zeros(size)
        for package in chosen:
            if isinstance(issue, NumericIssue) and size > 1:
                gain += np.abs(values - package[issue_index]) / (size - 1)
            else:
                gain += values != package[issue_index]
        gains.append(gain * importance[issue_index])
    allowed = [
        np.ones(len(issue.values), dtype=bool) for issue in profile.domain.issues
    ]
    package = _best_in_band(buckets, gains, allowed, low, high)
    if package is None or package not in chosen:
        return package
    # The best is a package already chosen: force each issue in turn, the
    # most important first, off its value there, and keep the best result.
    duplicate = package
    by_importance = sorted(range(len(importance)), key=lambda i: -importance[i])
    for issue_index in by_importance:
        restricted = [mask.copy() for mask in allowed]
        restricted[issue_index][duplicate[issue_index]] = False
        package = _best_in_band(buckets, gains, restricted, low, high)
        if package is not None and package not in chosen:
            return package
    return None


def _best_in_band(
    buckets: list[np.ndarray],
    gains: list[np.ndarray],
    allowed: list[np.ndarray],
    low: int,
    high: int,
) -> tuple[int, ...] | None:
    """The allowed package with the highest total gain whose bucket total
    lies in [low, high] (among equals, the total nearest the band's middle),
    or None."""
    size = sum(int(b.max()) for b in buckets) + 1
    best = np.full(size, -np.inf)
    best[0] = 0.0
    picks = []
    for issue_buckets, gain, mask in zip(buckets, gains, allowed, strict=True):
        new = np.full(size, -np.inf)
        pick = np.zeros(size, dtype=np.int64)
        for value in np.flatnonzero(mask):
            shift = int(issue_buckets[value])
            candidate = best[: size - shift] + gain[value]
            better = candidate > new[shift:]
            new[shift:][better] = candidate[better]
            pick[shift:][better] = value
        best = new
        picks.append(pick)
    low, high = max(low, 0), min(high, size - 1)
    if low > high:
        return None
    band = best[low : high + 1]
    if not np.isfinite(band).any():
        return None
    middle = (low + high) / 2
    totals = np.arange(low, high + 1)
    # Highest gain first, then nearest the middle of the band.
    order = np.lexsort((np.abs(totals - middle), -band))
    total = int(totals[order[0]])
    package = []
    for issue_buckets, pick in zip(reversed(buckets), reversed(picks), strict=True):
        value = int(pick[total])
        package.append(value)
        total -= int(issue_buckets[value])
    return tuple(reversed(package))

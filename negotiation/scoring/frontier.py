"""The Pareto frontier of two additive profiles, and its Nash point.

The frontier is built issue by issue, never by listing every package. Each
issue's values are first cut down to their own Pareto set (a value both sides
like less than another value of the same issue can never be part of an
efficient package). The frontier of the first k issues is then merged with the
next issue's set: every sum of a partial package and a value (the Minkowski
sum of the two point sets), pruned back to the undominated sums. Pruning a
dominated partial sum loses nothing: whatever completes it, the same
completion of the partial sum that dominates it dominates the whole package.
The work is the sum over issues of (frontier so far × the issue's set), not
the product of all the issues' sizes. Each kept point remembers which partial
point and which value it came from, so every frontier point unwinds into a
complete package.

Exactness and ties. Utilities are the profiles' integer units
(``profiles.UNITS`` per whole), so sums and comparisons are exact and do not
depend on the order of the merges. Packages with exactly the same pair of
utilities are one frontier point; the package kept for it is the first in the
domain's order (compare the first issue's value by its place in the issue's
list, then the second issue's, and so on). The merge keeps its partial
frontiers in that order, and ``brute_force_frontier`` applies the same rule to
the whole space, so the two return the same packages, not merely the same
points.

The Nash point maximises (u_a − r_a)(u_b − r_b) over the frontier points that
clear both reservations (≥ counts); among equal products the one with the
lower u_a. No point on the frontier clears both exactly when no package at all
does (any package that clears both is on the frontier or dominated by a point
that also clears both), so None means no zone of possible agreement.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from negotiation.scoring.profiles import SCORE_MAX, UNITS, Profile, Value

# Utilities in units stay below 2**31 (UNITS = 10**9, plus half a unit of
# rounding per issue), so a pair packs into one int64 sort key.
_SHIFT = 31
_MASK = (1 << _SHIFT) - 1


# Prune the running sums once they would pass this many candidates. Below it,
# a numpy call costs more than sorting the extra sums it would save: with
# random profiles of 10 values per issue, pruning after every issue took
# 174 µs (5 issues) and 327 µs (10); waiting for 1024 sums, 103 and 263 µs.
# Deferring a pruning changes nothing in the result: a sum dominated now is
# still dominated, by the same completion, when it is pruned later.
PRUNE_AT = 1024


def pareto_indices(ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Indices of the points (``ua[i]``, ``ub[i]``: non-negative int64 below
    2**31) that no other point dominates, one per distinct pair (the lowest
    index among equal pairs), in increasing index order."""
    return _pareto_keys((ua << _SHIFT) | ub)


def _pareto_keys(keys: np.ndarray) -> np.ndarray:
    """``pareto_indices`` on packed pairs (ua << 31 | ub). Sorted by key
    descending (ua, then ub), a point survives when its ub beats every ub
    before it: all those points have at least its ua; the stable sort puts
    the lowest index first among equal pairs, and only the first can win."""
    order = np.argsort(-keys, kind="stable")
    best = np.maximum.accumulate(keys[order] & _MASK)
    keep = np.ones(len(best), dtype=bool)
    np.greater(best[1:], best[:-1], out=keep[1:])
    return np.sort(order[keep])


def _issue_sets(
    tables_a: list[np.ndarray], tables_b: list[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each issue's own Pareto set as (packed keys, value indices), in one
    pass over all issues: sorted by issue then key, the running maximum of
    ub restarts at each issue because every issue adds 2**32 to its ub."""
    sizes = [len(table) for table in tables_a]
    flat = (np.concatenate(tables_a) << _SHIFT) | np.concatenate(tables_b)
    issue = np.repeat(np.arange(len(sizes)), sizes)
    order = np.lexsort((-flat, issue))
    best = np.maximum.accumulate((flat[order] & _MASK) + (issue[order] << 32))
    keep = np.ones(len(best), dtype=bool)
    np.greater(best[1:], best[:-1], out=keep[1:])
    kept = np.sort(order[keep])
    starts = np.array([0, *itertools.accumulate(sizes)][:-1])
    kept_keys, local = flat[kept], kept - starts[issue[kept]]
    # Plain slicing: np.split costs more than the whole pass for small issues.
    ends = np.searchsorted(kept, starts[1:]).tolist()
    bounds = itertools.pairwise([0, *ends, len(kept)])
    return [(kept_keys[begin:end], local[begin:end]) for begin, end in bounds]


def merge_frontier(
    tables_a: list[np.ndarray],
    tables_b: list[np.ndarray],
    prune_at: int = PRUNE_AT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact frontier of two additive utilities given per issue as unit
    tables (``tables_a[i][j]``: side a's units for value j of issue i).

    Returns (ua, ub, choices) sorted by ua ascending (so ub descending);
    ``choices[p]`` is the value index per issue of point p's package.
    """
    issue_sets = _issue_sets(tables_a, tables_b)

    # The running sums: the pruned frontier so far ("previous" points, in
    # domain order) times the values of the issues added since, row-major,
    # so a flat index counts packages in domain order.
    keys = np.zeros(1, dtype=np.int64)
    shape: list[int] = [1]
    pending: list[np.ndarray] = []
    blocks: list[tuple[np.ndarray, list[np.ndarray]]] = []

    def prune() -> np.ndarray:
        kept = _pareto_keys(keys)
        digits = np.unravel_index(kept, shape)
        values = [
            issue_values[digit]
            for issue_values, digit in zip(pending, digits[1:], strict=True)
        ]
        blocks.append((digits[0], values))
        return keys[kept]

    for set_keys, values in issue_sets:
        if len(keys) * len(values) > prune_at and pending:
            keys = prune()
            shape, pending = [len(keys)], []
        keys = np.add.outer(keys, set_keys).ravel()
        shape.append(len(values))
        pending.append(values)
    keys = prune()

    # Unwound in the order of side a's utility, which the result is sorted by.
    ua = keys >> _SHIFT
    order = point = np.argsort(ua, kind="stable")
    choices = np.empty((len(keys), len(issue_sets)), dtype=np.int64)
    issue = len(issue_sets)
    for previous, values in reversed(blocks):
        for issue_values in reversed(values):
            issue -= 1
            choices[:, issue] = issue_values[point]
        point = previous[point]
    return ua[order], (keys & _MASK)[order], choices


def brute_force_frontier(
    tables_a: list[np.ndarray], tables_b: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same frontier as ``merge_frontier`` by scoring every package
    (vectorised: one array of all packed utility pairs, one sort, one sweep).
    The reference for the tests and the benchmark; memory grows with the
    number of packages."""
    keys = np.zeros(1, dtype=np.int64)
    for table_a, table_b in zip(tables_a, tables_b, strict=True):
        keys = np.add.outer(keys, (table_a << _SHIFT) | table_b).ravel()
    kept = _pareto_keys(keys)
    sizes = tuple(len(table) for table in tables_a)
    choices = np.stack(np.unravel_index(kept, sizes), axis=1).astype(np.int64)
    ua = keys[kept] >> _SHIFT
    order = np.argsort(ua, kind="stable")
    return ua[order], (keys[kept] & _MASK)[order], choices[order]


def nash_index(ua: np.ndarray, ub: np.ndarray, ra: int, rb: int) -> int | None:
    """The index of the point maximising (ua − ra)(ub − rb) among those with
    ua ≥ ra and ub ≥ rb (the first among equals), or None when none has."""
    clears = (ua >= ra) & (ub >= rb)
    if not clears.any():
        return None
    product = np.where(clears, (ua - ra) * (ub - rb), -1)
    return int(np.argmax(product))


@dataclass(frozen=True)
class FrontierPoint:
    """An efficient package and what it is worth to each side (0–1)."""

    outcome: dict[str, Value]
    utilities: tuple[float, float]

    @property
    def scores(self) -> tuple[float, float]:
        """The utilities on the app's 0–100 scale (units are 10⁻⁷ points, so
        seven decimals lose nothing and drop the float noise of × 100)."""
        return tuple(round(u * SCORE_MAX, 7) for u in self.utilities)


@dataclass(frozen=True)
class Frontier:
    """The frontier of two profiles over one domain, in integer units,
    sorted by side a's utility (``ua`` ascending, ``ub`` descending)."""

    a: Profile
    b: Profile
    ua: np.ndarray
    ub: np.ndarray
    choices: np.ndarray

    def __len__(self) -> int:
        return len(self.ua)

    def point(self, index: int) -> FrontierPoint:
        return FrontierPoint(
            outcome=self.a.domain.outcome(self.choices[index]),
            utilities=(int(self.ua[index]) / UNITS, int(self.ub[index]) / UNITS),
        )

    def points(self) -> list[FrontierPoint]:
        return [self.point(index) for index in range(len(self))]

    @cached_property
    def nash(self) -> int | None:
        return nash_index(
            self.ua, self.ub, self.a.reservation_units, self.b.reservation_units
        )

    def dominating(self, ua: int, ub: int) -> np.ndarray:
        """Indices of the points that Pareto-dominate the pair (ua, ub)."""
        at_least = (self.ua >= ua) & (self.ub >= ub)
        return np.flatnonzero(at_least & ((self.ua > ua) | (self.ub > ub)))


def frontier_of(a: Profile, b: Profile) -> Frontier:
    """The exact frontier of two profiles over the same domain."""
    if a.domain != b.domain:
        raise ValueError("The two profiles do not describe the same issues.")
    ua, ub, choices = merge_frontier(list(a.tables), list(b.tables))
    return Frontier(a, b, ua, ub, choices)


def pareto_frontier(a: Profile, b: Profile) -> list[FrontierPoint]:
    """Every efficient package, one per distinct pair of utilities, sorted by
    side a's utility."""
    return frontier_of(a, b).points()


def nash_point(a: Profile, b: Profile) -> FrontierPoint | None:
    """The frontier package maximising the product of both sides' gains over
    their reservations, or None when no package clears both (no ZOPA)."""
    frontier = frontier_of(a, b)
    return None if frontier.nash is None else frontier.point(frontier.nash)

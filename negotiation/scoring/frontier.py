"""The Pareto frontier of two additive profiles, and its Nash point.

The frontier is built issue by issue, never by listing every package. The
frontier of the first k issues is merged with the next issue's values: every
sum of a partial package and a value (the Minkowski sum of the two point
sets), pruned back to the undominated sums. Pruning a dominated partial sum
loses nothing: whatever completes it, the same completion of the partial sum
that dominates it dominates the whole package. The work is the sum over
issues of (frontier so far × the issue's values), not the product of all the
issues' sizes. Two implementations return the same arrays: the packed merge
holds each partial package (both utilities and the package itself) in one
int64, whenever that fits; the general merge first cuts each issue's values
down to their own Pareto set (a value both sides like less than another value
of the same issue can never be part of an efficient package), and each kept
point remembers which partial point and which value it came from, so every
frontier point unwinds into a complete package.

Exactness and ties. Utilities are the profiles' integer units
(``profiles.UNITS`` per whole), so sums and comparisons are exact and do not
depend on the order of the merges. Packages with exactly the same pair of
utilities are one frontier point; the package kept for it is the first in the
domain's order (compare the first issue's value by its place in the issue's
list, then the second issue's, and so on). The merge applies that rule at
every pruning (a partial package tied with an earlier one is dropped, which
loses nothing: the same completion of the earlier one ties the whole package
and comes first too), and ``brute_force_frontier`` applies it to the whole
space, so the two return the same packages, not merely the same points.

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

# The packed merge's key: both sides' utility fields and the package code in
# a non-negative int64.
_PACKED_BITS = 62


# Prune the running sums once they would pass this many candidates. Below it,
# a numpy call costs more than sorting the extra sums it would save. Deferring
# a pruning changes nothing in the result: a sum dominated now is still
# dominated, by the same completion, when it is pruned later. Measured on the
# bench's 10⁵ cases (5 issues of 10 options): the packed merge took the same
# time (within 5%) at 128, 256 and 512 and 10–30% longer at 1024 and above,
# where the first pruning sorts 1000 sums instead of 100; the general merge
# (opposed profiles) 101 µs at 256 against 125 µs at 1024.
PRUNE_AT = 256


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
    """Each issue's own Pareto set as (packed keys ascending, value indices),
    for all issues at once: one row per issue (a shorter issue padded with
    zero keys, masked out after), each row sorted by key descending (equal
    keys: the lower value index first), then the running maximum of ub along
    the rows keeps a value when its ub beats every ub before it."""
    sizes = [len(table) for table in tables_a]
    width = max(sizes)
    ragged = min(sizes) != width
    if ragged:
        keys = np.zeros((len(sizes), width), dtype=np.int64)
        for row, table_a, table_b in zip(keys, tables_a, tables_b, strict=True):
            row[: len(table_a)] = (table_a << _SHIFT) | table_b
    else:
        keys = np.array(tables_a)
        keys <<= _SHIFT
        keys |= np.array(tables_b)
    order = (-keys).argsort(axis=1, kind="stable")
    sorted_keys = keys.ravel()[order + np.arange(0, keys.size, width)[:, None]]
    ub = sorted_keys & _MASK
    best = np.maximum.accumulate(ub, axis=1)
    keep = np.empty(keys.shape, dtype=bool)
    keep[:, 0] = True
    np.greater(ub[:, 1:], best[:, :-1], out=keep[:, 1:])
    if ragged:
        keep &= order < np.array(sizes)[:, None]
    kept_keys, kept_values = sorted_keys[keep], order[keep]
    ends = list(itertools.accumulate(keep.sum(axis=1).tolist()))
    # Each row's kept values read backwards: keys ascending.
    return [
        (
            kept_keys[end - 1 : begin - 1 if begin else None : -1],
            kept_values[end - 1 : begin - 1 if begin else None : -1],
        )
        for begin, end in itertools.pairwise([0, *ends])
    ]


# A block of the merge: the positions kept by its pruning (None until it is
# pruned), the shape of its running sums (its issues' set sizes, the last
# issue first, then the points kept by the block before), its first issue,
# and the issues' sets (keys, value indices).
_Block = list


def _prune(sums: np.ndarray, blocks: list[_Block]) -> tuple[np.ndarray, np.ndarray]:
    """The undominated running sums of the last block: their flat positions
    and keys, in ascending key order, one per distinct pair (the package
    first in domain order). Ascending keys, the sums are runs of ascending
    keys (the previous points shifted by one value), which the stable sort
    merges cheaply. Sorted by key descending, a sum survives when its ub
    beats every ub before it; of equal keys the first is kept, and when
    equal keys occur at all, ``_break_ties`` puts the right package there."""
    order = sums.argsort(kind="stable")[::-1]
    ranked = sums[order]
    ub = ranked & _MASK
    best = np.maximum.accumulate(ub)
    keep = np.empty(len(ub), dtype=bool)
    keep[0] = True
    np.greater(ub[1:], best[:-1], out=keep[1:])
    kept = keep.nonzero()[0][::-1]
    positions = order[kept]
    if (ranked[1:] == ranked[:-1]).any():
        _break_ties(ranked, order, kept, positions, blocks)
    return positions, ranked[kept]


def _break_ties(
    ranked: np.ndarray,
    order: np.ndarray,
    kept: np.ndarray,
    positions: np.ndarray,
    blocks: list[_Block],
) -> None:
    """For each kept sum that other sums equal exactly (they follow it in
    ``ranked``), keep the one whose package comes first in domain order."""
    count = len(ranked)
    for at, start in enumerate(kept.tolist()):
        stop = start + 1
        while stop < count and ranked[stop] == ranked[start]:
            stop += 1
        if stop > start + 1:
            tied = order[start:stop].tolist()
            positions[at] = min(tied, key=lambda flat: _package(blocks, flat))


def _package(blocks: list[_Block], flat: int) -> tuple[int, ...]:
    """The value indices so far of the running sum at ``flat`` in the last
    block (compared as tuples, they follow the domain's order)."""
    values: list[int] = []
    for index in range(len(blocks) - 1, -1, -1):
        kept, shape, first, sets = blocks[index]
        if index < len(blocks) - 1:
            flat = int(kept[flat])
        digits = np.unravel_index(flat, shape)
        values[:0] = [
            int(sets[issue][1][digit])
            for issue, digit in enumerate(digits[-2::-1], first)
        ]
        flat = int(digits[-1])
    return tuple(values)


def merge_frontier(
    tables_a: list[np.ndarray],
    tables_b: list[np.ndarray],
    prune_at: int = PRUNE_AT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact frontier of two additive utilities given per issue as unit
    tables (``tables_a[i][j]``: side a's units for value j of issue i).

    Returns (ua, ub, choices) sorted by ua ascending (so ub descending);
    ``choices[p]`` is the value index per issue of point p's package.

    ``_merge_packed`` when its one-integer key fits, else ``_merge_general``;
    both return the same arrays. The key fits, for instance, for up to 8
    option issues of up to 16 options rated with the app's whole-number
    weights and 0–100 ratings (each side's units are then multiples of 10⁵,
    so its total takes 14 bits, and each issue's value index 4).
    """
    packed = _merge_packed(tables_a, tables_b, prune_at)
    if packed is None:
        return _merge_general(tables_a, tables_b, prune_at)
    return packed


def _merge_packed(
    tables_a: list[np.ndarray], tables_b: list[np.ndarray], prune_at: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``merge_frontier`` with each partial package held in one int64, or
    None when that key would need more than 62 bits.

    The key. Each side's units are first divided by their greatest common
    divisor (exact: every table entry is a multiple of it; with whole-number
    weights and 0–100 ratings a unit of 10⁵, so a side's total fits in 14
    bits instead of 30). A partial package is then
    ``(A − ua) << (bits_b + code_bits) | (B − ub) << code_bits | code``,
    where A and B are all ones over the bits of each side's highest possible
    total, and ``code`` is the package itself: each issue's value index in
    its own bit field, the first issue highest. Adding a value of an issue
    is one subtraction of that value's key, ``(va << … | vb << …) − (j <<
    offset)``: the fields never carry into each other.

    Sorting these keys ascending orders the sums by ua descending, then ub
    descending, then the package in domain order; so a sum is undominated
    when its ub field (B − ub) is below every one before it, and of equal
    pairs the first, the one first in domain order, is the one kept. One
    ``ndarray.sort`` (no argsort, no gather, no tie-breaking pass), one
    running minimum and one boolean index prune the sums, and the kept keys
    already name their packages, so nothing is unwound at the end. Issues'
    dominated values are not removed first: each pruning drops the sums they
    make, and for the hard case (every value on its issue's own frontier) a
    first pass is pure cost.

    Measured with ``.venv/bin/python bench/frontier.py``, three runs back to
    back on the shared 2-core machine (load 2.4), speed-up against brute
    force at 10⁵ outcomes (median against median): random 154.3, 157.0,
    155.0 (merge 49 µs); opposed 116.6, 121.4, 117.4 (merge 64 µs; it was
    ~120 µs with the general merge alone). Counted with valgrind
    (instructions per call, the bench's 5 issues of 10 options, load
    independent): random 449k → 429k, opposed 902k → 565k.

    Tried and not kept (same count, opposed / random): merging the issues in
    pairs first, all pairs in one sort with a row field in the key, 621k /
    460k; preallocated buffers and an in-place running minimum, 563k / 429k;
    a stable sort (long sorted runs) for the last pruning, 555k / 442k;
    ufunc scalars as 0-d arrays and one 2-D decode, 557k / 429k.
    """
    count = len(tables_a)
    sizes = [len(table) for table in tables_a]
    width = max(sizes)
    if sizes.count(width) == count:
        both = np.concatenate((*tables_a, *tables_b), dtype=np.int64)
        both = both.reshape(2, count, width)
    else:
        both = np.zeros((2, count, width), dtype=np.int64)
        for issue, (table_a, table_b) in enumerate(
            zip(tables_a, tables_b, strict=True)
        ):
            both[0, issue, : len(table_a)] = table_a
            both[1, issue, : len(table_b)] = table_b
    units = np.gcd.reduce(both.reshape(2, -1), axis=1)
    unit_a, unit_b = units.tolist()
    unit_a, unit_b = unit_a or 1, unit_b or 1
    highest_a, highest_b = both.max(axis=2).tolist()
    bits_a = (sum(highest_a) // unit_a).bit_length()
    bits_b = (sum(highest_b) // unit_b).bit_length()
    value_bits = [(size - 1).bit_length() for size in sizes]
    code_bits = sum(value_bits)
    if bits_a + bits_b + code_bits > _PACKED_BITS:
        return None
    if unit_a > 1 or unit_b > 1:
        both //= np.array((unit_a, unit_b))[:, None, None]
    offsets = [code_bits - bits for bits in itertools.accumulate(value_bits)]
    fields = np.array(
        (offsets, [(1 << bits) - 1 for bits in value_bits]), dtype=np.int64
    )
    keys = both[0] << (bits_b + code_bits)
    keys |= both[1] << code_bits
    keys -= np.arange(width) << fields[0, :, None]
    all_a, all_b = (1 << bits_a) - 1, (1 << bits_b) - 1
    ub_field = np.array(all_b << code_bits)
    sums = (((all_a << bits_b) | all_b) << code_bits) - keys[0, : sizes[0]]
    pending = False
    for row, size in zip(keys[1:], sizes[1:], strict=True):
        if pending and len(sums) * size > prune_at:
            sums = _prune_packed(sums, ub_field)
        sums = (sums - row[:size, None]).ravel()
        pending = True
    sums = _prune_packed(sums, ub_field)[::-1]
    ua = all_a - (sums >> (bits_b + code_bits))
    ub = all_b - ((sums >> code_bits) & all_b)
    if unit_a > 1:
        ua *= unit_a
    if unit_b > 1:
        ub *= unit_b
    return ua, ub, ((sums >> fields[0, :, None]) & fields[1, :, None]).T


def _prune_packed(sums: np.ndarray, ub_field: np.ndarray) -> np.ndarray:
    """The undominated packed keys among ``sums`` (sorted in place), in
    ascending order: a key is kept when its (B − ub) field is below the
    field of every key before it."""
    sums.sort()
    best = np.minimum.accumulate(sums & ub_field)
    keep = np.empty(len(sums), dtype=bool)
    keep[0] = True
    np.less(best[1:], best[:-1], out=keep[1:])
    return sums[keep]


def _merge_general(
    tables_a: list[np.ndarray],
    tables_b: list[np.ndarray],
    prune_at: int = PRUNE_AT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frontier for any unit tables (``merge_frontier``'s fallback, when
    the packed key does not fit in 62 bits).

    The running sums of a block are the points kept so far (ascending keys)
    plus each value of each issue added since, the newest issue outermost;
    only the final points are unwound into packages. At these sizes the time
    is mostly numpy's fixed cost per call, so the work is done in few calls:
    all issues' own sets in one pass, no re-sorting of kept points into
    domain order (ties, rare, are broken by ``_break_ties`` instead), sums
    laid out as sorted runs for the stable sort.

    Measured with ``.venv/bin/python bench/frontier.py`` (when this was the
    only merge), run three times back to back on a shared 2-core machine;
    speed-up against brute force at 10⁵ outcomes (median against median):

    - before (re-sorted kept points, per-point unravelling; load 0.5):
      random 51.7, 72.1, 55.2 (worst 51.7); opposed 21.0, 39.8, 22.2
      (worst 21.0);
    - this version (load 2.9–3.1): random 70.3, 114.2, 64.5 (worst 64.5);
      opposed 60.8, 56.0, 29.6 (worst 29.6).

    Counted with valgrind (instructions per call, 5 issues of 10 options,
    load independent): random 545k → 466k, opposed 1167k → 907k.
    """
    sets = _issue_sets(tables_a, tables_b)
    sums = np.zeros(1, dtype=np.int64)
    blocks: list[_Block] = []
    shape, first = [1], 0
    for issue, (set_keys, _) in enumerate(sets):
        if len(shape) > 1 and len(sums) * len(set_keys) > prune_at:
            blocks.append([None, shape, first, sets])
            blocks[-1][0], sums = _prune(sums, blocks)
            shape, first = [len(sums)], issue
        sums = (set_keys[:, None] + sums).ravel()
        shape.insert(0, len(set_keys))
    blocks.append([None, shape, first, sets])
    point, keys = _prune(sums, blocks)

    choices = np.empty((len(keys), len(sets)), dtype=np.int64)
    for index in range(len(blocks) - 1, -1, -1):
        kept, shape, first, _ = blocks[index]
        if index < len(blocks) - 1:
            point = kept[point]
        digits = np.unravel_index(point, shape)
        for issue, digit in enumerate(digits[-2::-1], first):
            choices[:, issue] = sets[issue][1][digit]
        point = digits[-1]
    return keys >> _SHIFT, keys & _MASK, choices


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

"""The exact Pareto frontier, merged issue by issue, against brute force.

    .venv/bin/python bench/frontier.py [--runs 50] [--seed 7]

Prints one JSON object:

- ``versus_brute_force``: for 10⁴, 10⁵ and 10⁶ packages (4, 5 and 6 issues
  of 10 options), the merge's time (``frontier.merge_frontier``) and brute
  force's (``frontier.brute_force_frontier``: every package's two utilities
  in one numpy array by outer sums, then one sort and one sweep, the
  textbook skyline), their ratio, and the frontier's size; the two must
  return the same points and the same packages, or the bench fails;
- ``ten_to_the_ten``: the frontier of 10 issues of 10 options (10¹⁰
  packages), its time and size, packages unwound included.

Each figure comes for two cases, with a fixed seed: ``random`` profiles
(per side, whole weights adding up to 100 and a 0–100 rating per option, as
the app's scoring has them, built with ``Profile.from_scores``), where each
issue's own frontier keeps only a few options; and ``opposed`` ones, where
side b rates every option 100 minus side a's rating, so every option stays
on its issue's frontier and the merge prunes least: the hard case. Times
are in milliseconds, the median and the worst of ``--runs`` runs after a
warm-up (brute force: 3 runs at 10⁶).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from negotiation.scoring.frontier import (
    brute_force_frontier,
    frontier_of,
    merge_frontier,
)
from negotiation.scoring.profiles import Domain, OptionIssue, Profile


def timed(run: Callable[[], object], runs: int) -> dict[str, float]:
    run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median": round(statistics.median(samples), 4),
        "worst": round(max(samples), 4),
    }


def random_profiles(
    issues: int, options: int, seed: int, *, opposed: bool = False
) -> tuple[Profile, Profile]:
    """Two random profiles; ``opposed``: side b rates each option 100 minus
    side a's rating, so every option of every issue is on its issue's own
    frontier and nothing is pruned early (the hard case)."""
    rng = np.random.default_rng(seed)
    domain = Domain(
        tuple(
            OptionIssue(f"issue {i}", tuple(f"option {j}" for j in range(options)))
            for i in range(issues)
        )
    )

    def ratings() -> dict:
        return {
            issue.name: {option: int(rng.integers(0, 101)) for option in issue.options}
            for issue in domain.issues
        }

    def side(rated: dict) -> Profile:
        weights = rng.multinomial(100, rng.dirichlet(np.ones(issues)))
        return Profile.from_scores(
            domain,
            weights={
                name: int(w) for name, w in zip(domain.names, weights, strict=True)
            },
            ratings=rated,
            reservation=int(rng.integers(20, 60)),
        )

    rated_a = ratings()
    rated_b = (
        {
            name: {option: 100 - score for option, score in scores.items()}
            for name, scores in rated_a.items()
        }
        if opposed
        else ratings()
    )
    return side(rated_a), side(rated_b)


def versus_brute_force(issues: int, runs: int, seed: int, opposed: bool) -> dict:
    a, b = random_profiles(issues, 10, seed, opposed=opposed)
    tables_a, tables_b = list(a.tables), list(b.tables)
    merged = merge_frontier(tables_a, tables_b)
    brute = brute_force_frontier(tables_a, tables_b)
    for mine, reference in zip(merged, brute, strict=True):
        assert np.array_equal(mine, reference), "merge and brute force disagree"
    merge_ms = timed(lambda: merge_frontier(tables_a, tables_b), runs)
    brute_ms = timed(
        lambda: brute_force_frontier(tables_a, tables_b), runs if issues < 6 else 3
    )
    return {
        "outcomes": a.domain.outcomes,
        "frontier_size": len(merged[0]),
        "merge_ms": merge_ms,
        "brute_force_ms": brute_ms,
        "speedup_median": round(brute_ms["median"] / merge_ms["median"], 1),
    }


def ten_to_the_ten(runs: int, seed: int, opposed: bool) -> dict:
    a, b = random_profiles(10, 10, seed, opposed=opposed)
    frontier = frontier_of(a, b)
    return {
        "outcomes": a.domain.outcomes,
        "frontier_size": len(frontier),
        "nash": None if frontier.nash is None else frontier.point(frontier.nash).scores,
        "frontier_ms": timed(lambda: frontier_of(a, b), runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    report: dict = {"seed": options.seed}
    for case, opposed in (("random", False), ("opposed", True)):
        report[case] = {
            "versus_brute_force": [
                versus_brute_force(issues, options.runs, options.seed, opposed)
                for issues in (4, 5, 6)
            ],
            "ten_to_the_ten": ten_to_the_ten(options.runs, options.seed, opposed),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

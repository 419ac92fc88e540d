"""A side's private scoring of packages, as pure functions: no Django here.

A package is one value per issue. A side scores it with additive weights that
sum to 100 and a value per issue (0–100): a straight-line value function
through a few points for a numeric issue, a rating per option otherwise.

- ``values``: what one value of an issue is worth; a package's total.
- ``proposal``: the first scoring proposed from what the side already
  prepared (matrix importance, target, opening range, walk-away figure).

Integrative analysis between two additive profiles:

- ``profiles``: the issues (``Domain``) and what a package is worth to a side
  (``Profile``), in exact integer units.
- ``frontier``: the exact Pareto frontier, merged issue by issue (per-issue
  Pareto sets, Minkowski sums, dominance pruning), and the Nash point.
- ``moves``: is there a ZOPA, are the terms efficient, which packages improve
  them for both, which packages are equal for one side and differ where the
  other side cares (a MESO set)?
- ``joint``: the blind joint check, from the room's scorings to one verdict.

These live under the deal's app, not the review's: the room scores packages
with them, and the room may not import the review.
"""

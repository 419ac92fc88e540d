"""A side's private scoring of packages, as pure functions: no Django here.

A package is one value per issue. A side scores it with additive weights that
sum to 100 and a value per issue (0–100): a straight-line value function
through a few points for a numeric issue, a rating per option otherwise.

- ``values``: what one value of an issue is worth; a package's total.
- ``proposal``: the first scoring proposed from what the side already
  prepared (matrix importance, target, opening range, walk-away figure).
"""

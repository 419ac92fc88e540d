"""Integrative bargaining between two additive profiles, as pure functions.

No Django here: the room (or a management command) builds the profiles from
what it has read and calls these functions. Each module answers one question:

- ``profiles``: what are the issues, and what is a package worth to a side?
  (``Domain``, ``Profile``, ``package_score``, ``clears_reservation``)
- ``frontier``: which packages are efficient, and which is the Nash point?
  (``pareto_frontier``, ``nash_point``), built issue by issue, exactly.
- ``moves``: what the room asks: is there a ZOPA, are the current terms
  efficient, which packages improve them for both, which packages are equal
  for one side and different where the other side cares (a MESO set)?
- ``genius``: reading a GENIUS domain and its additive profiles (XML).
"""

from review.analysis.integrative.frontier import (
    FrontierPoint,
    nash_point,
    pareto_frontier,
)
from review.analysis.integrative.moves import (
    equivalent_packages,
    improvements,
    is_efficient,
    score_spread,
    zopa_exists,
)
from review.analysis.integrative.profiles import (
    Domain,
    NumericIssue,
    OptionIssue,
    Profile,
    clears_reservation,
    package_score,
    package_utility,
)

__all__ = [
    "Domain",
    "FrontierPoint",
    "NumericIssue",
    "OptionIssue",
    "Profile",
    "clears_reservation",
    "equivalent_packages",
    "improvements",
    "is_efficient",
    "nash_point",
    "package_score",
    "package_utility",
    "pareto_frontier",
    "score_spread",
    "zopa_exists",
]

"""The blind joint check: both sides' private scorings, one verdict for both.

It answers, in words the same for both sides and with no score of either:

- whether some complete package clears both sides' reservation scores;
- whether the current term sheet is efficient (no package is at least as
  good for both sides and better for one);
- if it is not, up to three complete packages that both sides score at
  least as high as the current terms, one side higher, nearest the Nash
  bargaining point.

The agenda's issues become the analysis' domain: an option issue's options
as they are; a numeric issue between the lowest and the highest value that
either side's value function or the current term names, in at most 101
round levels (beyond a value function's ends its score is flat, so nothing better
lies outside). Typed terms are read as ``negotiation.scoring.values`` reads
them; a term either scoring cannot read makes the sheet incomplete, and the
check then says nothing about its efficiency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from common.numbers import format_number
from negotiation.scoring.frontier import frontier_of
from negotiation.scoring.moves import (
    equivalent_packages,
    improvements,
    is_efficient,
    zopa_exists,
)
from negotiation.scoring.profiles import (
    MAX_LEVELS,
    Domain,
    NumericIssue,
    OptionIssue,
    Profile,
    package_score,
)
from negotiation.scoring.values import IssueValue, read_value

SUGGESTIONS = 3


@dataclass(frozen=True)
class AgendaIssue:
    pk: int
    kind: str  # "numeric" or "options"
    options: tuple[str, ...] = ()
    unit: str = ""

    @property
    def name(self) -> str:
        # The domain names issues by id: two agenda names never clash, and
        # nothing typed reaches the analysis as a key.
        return str(self.pk)


@dataclass(frozen=True)
class SideScoring:
    """One side's scoring, by issue id, and its reservation score."""

    issues: Mapping[int, IssueValue]
    reservation: Decimal | None

    def covers(self, agenda: Sequence) -> bool:
        """Scores every issue of ``agenda`` (issues with ``pk``, ``kind``,
        ``options``) as it stands: each option issue rated on exactly its
        options, each numeric one with a value function."""
        for issue in agenda:
            scored = self.issues.get(issue.pk)
            if scored is None:
                return False
            if issue.kind == "options":
                if set(scored.ratings or ()) != set(issue.options):
                    return False
            elif not scored.points:
                return False
        return True


@dataclass(frozen=True)
class Verdict:
    agreement_possible: bool
    terms_complete: bool
    terms_efficient: bool | None
    # Complete packages, issue id → the value as the term sheet would hold it.
    suggestions: list[dict[int, str]]


def _numeric_range(
    issue: AgendaIssue, sides: Sequence[SideScoring], current: Decimal | None
) -> tuple[Decimal, Decimal]:
    values = [value for side in sides for value, _ in side.issues[issue.pk].points]
    if current is not None:
        values.append(current)
    return min(values), max(values)


def _step(low: Decimal, high: Decimal) -> Decimal | None:
    """A round step for a numeric issue's levels: the smallest 1, 2 or 5
    times a power of ten that cuts the span into at most 100 steps, so a
    suggested value reads as people write it (212,400, not 212,391.37)."""
    span = high - low
    if span <= 0:
        return None
    power = Decimal(10) ** (span.adjusted() - 2)
    for unit in (1, 2, 5, 10):
        if span / (power * unit) <= MAX_LEVELS - 1:
            return power * unit
    return power * 10  # pragma: no cover - ten units always fit


def read_term(issue: AgendaIssue, text: str | None) -> str | Decimal | None:
    """A typed term as a value of the domain's issue, or None (open, or no
    single number, or not one of the options)."""
    return read_value(text, issue.options if issue.kind == "options" else None)


def profile_for(
    domain: Domain, agenda: Sequence[AgendaIssue], side: SideScoring
) -> Profile:
    """One side's scoring as a profile over ``domain``."""
    weights, ratings, points = {}, {}, {}
    for issue in agenda:
        scored = side.issues[issue.pk]
        weights[issue.name] = scored.weight
        if issue.kind == "options":
            ratings[issue.name] = {
                option: score
                for option, score in (scored.ratings or {}).items()
                if option in issue.options
            }
        else:
            points[issue.name] = list(scored.points)
    return Profile.from_scores(
        domain,
        weights=weights,
        ratings=ratings,
        points=points,
        reservation=side.reservation or 0,
    )


def as_text(issue: AgendaIssue, value: str | Decimal) -> str:
    if issue.kind == "options":
        return str(value)
    number = format_number(value)
    return f"{number} {issue.unit}" if issue.unit else number


def domain_for(
    agenda: Sequence[AgendaIssue],
    sides: Sequence[SideScoring],
    current: Mapping[int, str | Decimal | None] | None = None,
) -> Domain:
    """The agenda as the analysis' domain: options as they are, a numeric
    issue over what the scorings (and the current term) name."""
    current = current or {}
    issues = []
    for issue in agenda:
        if issue.kind == "options":
            issues.append(OptionIssue(issue.name, issue.options))
        else:
            low, high = _numeric_range(issue, sides, current.get(issue.pk))
            issues.append(NumericIssue(issue.name, low, high, _step(low, high)))
    return Domain(tuple(issues))


def joint_verdict(
    agenda: Sequence[AgendaIssue],
    host: SideScoring,
    counterpart: SideScoring,
    terms: Mapping[int, str],
) -> Verdict:
    """The verdict for both sides. Both scorings must cover every issue of
    ``agenda`` (the caller checks, and says so in words if not)."""
    current = {issue.pk: read_term(issue, terms.get(issue.pk)) for issue in agenda}
    domain = domain_for(agenda, (host, counterpart), current)
    a = profile_for(domain, agenda, host)
    b = profile_for(domain, agenda, counterpart)
    possible = zopa_exists(a, b)
    complete = all(value is not None for value in current.values())
    if not complete:
        return Verdict(possible, False, None, [])
    outcome = {issue.name: current[issue.pk] for issue in agenda}
    if is_efficient(a, b, outcome):
        return Verdict(possible, True, True, [])
    by_name = {issue.name: issue for issue in agenda}
    suggestions = [
        {
            by_name[name].pk: as_text(by_name[name], value)
            for name, value in point.outcome.items()
        }
        for point in improvements(a, b, outcome, k=SUGGESTIONS)
    ]
    return Verdict(possible, True, False, suggestions)


def suggest_meso(
    agenda: Sequence[AgendaIssue],
    author: SideScoring,
    their_ranking: Sequence[int],
    n: int = SUGGESTIONS,
) -> list[dict[int, str]]:
    """Up to ``n`` packages the author scores alike (within 2 points), as
    different as possible on the issues the other side ranked highest in its
    shared ranking (issue ids, most important first): a MESO set to start
    from. Reads the author's scoring and the other side's shared ranking
    only."""
    domain = domain_for(agenda, (author,))
    profile = profile_for(domain, agenda, author)
    names = {issue.pk: issue for issue in agenda}
    order = [str(pk) for pk in their_ranking if pk in names]
    by_name = {issue.name: issue for issue in agenda}
    return [
        {
            by_name[name].pk: as_text(by_name[name], value)
            for name, value in package.items()
        }
        for package in equivalent_packages(profile, order, n=n, tolerance=2.0)
    ]


@dataclass(frozen=True)
class ValueLeft:
    """The agreement against the frontier, from one side's point of view:
    ``(mine, theirs)`` score pairs (0–100), never the weights behind them."""

    frontier: list[tuple[float, float]]
    nash: tuple[float, float] | None
    agreement: tuple[float, float] | None  # None: the terms were incomplete
    # The package nearest the Nash point that both score at least as high as
    # the agreement: its values and its gains (mine, theirs); None when the
    # agreement is on the frontier.
    better: dict[int, str] | None = None
    gains: tuple[float, float] | None = None


def value_left(
    agenda: Sequence[AgendaIssue],
    mine: SideScoring,
    theirs: SideScoring,
    terms: Mapping[int, str],
) -> ValueLeft:
    current = {issue.pk: read_term(issue, terms.get(issue.pk)) for issue in agenda}
    domain = domain_for(agenda, (mine, theirs), current)
    a = profile_for(domain, agenda, mine)
    b = profile_for(domain, agenda, theirs)
    frontier = frontier_of(a, b)
    points = [p.scores for p in frontier.points()]
    nash = None if frontier.nash is None else frontier.point(frontier.nash).scores
    if any(value is None for value in current.values()):
        return ValueLeft(points, nash, None)
    outcome = {issue.name: current[issue.pk] for issue in agenda}
    agreement = (package_score(a, outcome), package_score(b, outcome))
    best = improvements(a, b, outcome, k=1)
    if not best:
        return ValueLeft(points, nash, agreement)
    by_name = {issue.name: issue for issue in agenda}
    better = {
        by_name[name].pk: as_text(by_name[name], value)
        for name, value in best[0].outcome.items()
    }
    ours, theirs_ = best[0].scores
    return ValueLeft(
        points,
        nash,
        agreement,
        better,
        (ours - agreement[0], theirs_ - agreement[1]),
    )

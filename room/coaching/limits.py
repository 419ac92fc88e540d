"""Never below your own limits without knowing it.

Before a binding step (accepting a trade, picking a package, setting a term,
confirming the agreement, accepting a joint-check package) the room looks at
the term sheet the step would leave, with the side's own preparation:

- **its walk-away figure**, on the deal's headline number (the side's most
  important numeric issue): the sheet must not land on the wrong side of it.
  Which side is wrong is read from the side's own target or opening range,
  as the scoring's proposal reads it;
- **once the side has scored every issue**, its reservation score replaces
  the walk-away figure: the sheet, with every open issue at its best for the
  side, must still reach that score (so an unfinished sheet is flagged only
  when nothing left open could rescue it);
- **a limit the side wrote** for an issue in its matrix (what it can give,
  what it wants, its ideal) or its opening position: "up to 75 days", "at
  least 500 units", "no more than EUR 50k", "max 3%".

Everything here reads one side's own private preparation, and what it finds
goes to that side only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from common.numbers import format_number, parse_number
from negotiation.models import AnchorEntry, Issue, Party, Preparation, PriorityEntry
from negotiation.scoring.profiles import SCORE_MAX
from negotiation.scoring.proposal import NumericPrep, headline_issue
from negotiation.scoring.values import read_value
from negotiation.selectors import OwnScoring, own_scoring

# "up to 75 days" caps the value, "at least 500" floors it. The number may
# carry a currency (a symbol or a three-letter code before it), thousands
# separators or a "k", and a unit after it; the words are the ones
# people write limits with, not comparisons ("over", "under") that also
# describe periods and markets.
_UPPER = "|".join(
    [
        r"up\s+to",
        r"at\s+most",
        r"no\s+more\s+than",
        r"not\s+more\s+than",
        r"no\s+higher\s+than",
        r"not\s+above",
        r"maximum(?:\s+of)?",
        r"max\.?",
        "≤",
        "<=",
    ]
)
_LOWER = "|".join(
    [
        r"at\s+least",
        r"no\s+less\s+than",
        r"not\s+less\s+than",
        r"no\s+lower\s+than",
        r"not\s+below",
        r"minimum(?:\s+of)?",
        r"min\.?",
        "≥",
        ">=",
    ]
)
_FIGURE = (
    r"\s*:?\s*(?:(?:(?-i:[A-Z]{3})|[€$£¥])\s?)?"
    r"(?P<figure>\d(?:[\d,.\u00a0\u202f]*\d)?(?:\s?[kK](?!\w))?)(?!\w)"
    r"(?:\s?(?:%|[^\W\d_]+))?"
)
_LIMIT = re.compile(
    rf"(?<!\w)(?:(?P<upper>{_UPPER})|(?P<lower>{_LOWER})){_FIGURE}", re.IGNORECASE
)


@dataclass(frozen=True)
class WrittenLimit:
    """A bound a side wrote for an issue: ``upper`` caps, otherwise floors."""

    upper: bool
    figure: Decimal
    wording: str

    def broken_by(self, value: Decimal) -> bool:
        return value > self.figure if self.upper else value < self.figure


def written_limits(text: str) -> list[WrittenLimit]:
    """The limits a preparation text states ("payment up to 75 days")."""
    limits = []
    for match in _LIMIT.finditer(text or ""):
        figure = parse_number(match["figure"])
        if figure is None:
            continue
        limits.append(
            WrittenLimit(
                upper=match["upper"] is not None,
                figure=figure,
                wording=" ".join(match.group(0).split()),
            )
        )
    return limits


@dataclass(frozen=True)
class IssueLimits:
    issue_id: int
    name: str
    unit: str
    written: tuple[WrittenLimit, ...] = ()
    # The walk-away figure, on the headline issue only, and which way is
    # better for the side there (+1 higher, -1 lower).
    walk_away: Decimal | None = None
    direction: int = 0


@dataclass(frozen=True)
class SideLimits:
    """Everything one side set as a limit, by issue, and its scoring."""

    issues: Mapping[int, IssueLimits]
    scoring: OwnScoring | None = None

    def __bool__(self) -> bool:
        return bool(self.scoring) or any(
            limits.written or limits.walk_away is not None
            for limits in self.issues.values()
        )


def _figure(value: Decimal, unit: str) -> str:
    return f"{format_number(value)} {unit}".strip()


def breaches(limits: SideLimits, terms: Mapping[int, str]) -> list[str]:
    """What a term sheet (issue id → typed value) breaks of the side's own
    limits, each in one sentence for that side; empty when nothing."""
    found = []
    scored = limits.scoring is not None
    for issue in limits.issues.values():
        value = read_value(terms.get(issue.issue_id), None)
        if not isinstance(value, Decimal):
            continue
        if (
            not scored
            and issue.walk_away is not None
            and (value - issue.walk_away) * issue.direction < 0
        ):
            side = "below" if issue.direction > 0 else "above"
            found.append(
                f"This puts {issue.name} at {_figure(value, issue.unit)}, "
                f"{side} your walk-away figure of "
                f"{_figure(issue.walk_away, issue.unit)}."
            )
        for limit in issue.written:
            if limit.broken_by(value):
                found.append(
                    f"This puts {issue.name} at {_figure(value, issue.unit)}, "
                    f"past the limit you wrote for it: “{limit.wording}”."
                )
                break
    if scored:
        best = _best_score(limits.scoring, terms)
        if best is not None:
            reached, complete = best
            if reached < float(limits.scoring.reservation):
                found.append(
                    f"This leaves your terms at a score of "
                    f"{'' if complete else 'at most '}{reached:.0f}, below "
                    f"your minimum of {format_number(limits.scoring.reservation)} "
                    "in your private scoring."
                )
    return found


def _best_score(
    scoring: OwnScoring, terms: Mapping[int, str]
) -> tuple[float, bool] | None:
    """The highest score the sheet can still reach for the side (each open or
    unreadable issue at its best), and whether nothing is left open."""
    if scoring.reservation is None:
        return None
    total, complete = 0.0, True
    for issue_id, issue in scoring.issues.items():
        text = terms.get(issue_id)
        worth = issue.worth_text(text) if text else None
        if worth is None:
            complete = False
            worth = float(SCORE_MAX)
        total += issue.weight * worth / SCORE_MAX
    return total, complete


def side_limits(party: Party, agenda: list[Issue]) -> SideLimits:
    """``party``'s limits over the agenda, from its own private preparation
    (three queries, four with a scoring)."""
    prep = Preparation.objects.filter(party=party).first()
    priorities = {p.issue_id: p for p in PriorityEntry.objects.filter(party=party)}
    anchors = {a.issue_id: a for a in AnchorEntry.objects.filter(party=party)}
    scoring = own_scoring(party)
    if scoring is not None and (
        scoring.reservation is None or not scoring.covers(agenda)
    ):
        scoring = None
    numeric = [i.pk for i in agenda if i.kind == Issue.Kind.NUMERIC]
    importance = {
        pk: priorities[pk].importance if pk in priorities else None for pk in numeric
    }
    headline = headline_issue(numeric, importance)
    walk_away = prep.reservation_value if prep is not None else None
    issues = {}
    for issue in agenda:
        if issue.kind != Issue.Kind.NUMERIC:
            continue
        priority, anchor = priorities.get(issue.pk), anchors.get(issue.pk)
        texts = [
            priority.can_give if priority else "",
            priority.want_get if priority else "",
            priority.ideal_outcome if priority else "",
            anchor.opening_position if anchor else "",
        ]
        written = tuple(limit for text in texts for limit in written_limits(text))
        direction, own_walk_away = 0, None
        if issue.pk == headline and walk_away is not None:
            own_walk_away = walk_away
            direction = NumericPrep(
                target=parse_number(priority.ideal_outcome) if priority else None,
                walk_away=walk_away,
                opening_low=anchor.low if anchor else None,
                opening_high=anchor.high if anchor else None,
            ).direction()
        issues[issue.pk] = IssueLimits(
            issue.pk, issue.name, issue.unit, written, own_walk_away, direction
        )
    return SideLimits(issues, scoring)

"""Fill the blanks of a phrase template from a deal's issues.

Pure functions, no database: the templates page, the room's coach panel and
its "send into the room" button all call ``fill_template`` with what they
already hold.

Blanks are written in square brackets. Which blanks get filled, and from what:

=============================================  =================================
blank (case-insensitive)                       filled with
=============================================  =================================
``[shared goal]`` ``[goal]`` ``[X]``           ``shared_goal`` (the deal's purpose)
``[issue]`` ``[another issue]``                the next unused issue
``[term]`` ``[variable]`` ``[Y]`` ``[Z]``      the next unused *flexible* issue
``[their priority]`` ``[your priority]``       their first shared priority
``[our priority]`` ``[ours]``                  our first shared priority
``[Y/Z]`` (parts joined by ``/``)              each part as above, joined by "and"
anything else, e.g. ``[benefit]``              left as written, for the rep
=============================================  =================================

Each issue is used at most once per template, so "[issue] and [issue]" names
two different issues. A blank that cannot be filled stays exactly as written,
brackets included, so the rep sees what is still to complete. ``values`` fills
any blank by name and wins over everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

BLANK = re.compile(r"\[([^\[\]]+)\]")

GOAL_BLANKS = frozenset({"shared goal", "goal", "our shared goal", "x"})
ANY_ISSUE_BLANKS = frozenset({"issue", "another issue", "dimension"})
# Blanks that ask for something the sides can move: fixed issues never fit.
MOVABLE_ISSUE_BLANKS = frozenset({"term", "variable", "y", "z", "lever"})
THEIR_PRIORITY_BLANKS = frozenset({"their priority", "your priority"})
OUR_PRIORITY_BLANKS = frozenset({"our priority", "ours"})


class IssueLike(Protocol):
    name: str


@dataclass(frozen=True)
class _Issue:
    name: str
    flexible: bool


def _as_issue(issue: IssueLike | str) -> _Issue:
    if isinstance(issue, str):
        return _Issue(issue.strip(), True)
    flexibility = getattr(issue, "flexibility", "flexible")
    return _Issue(issue.name.strip(), flexibility != "fixed")


def _normal(blank: str) -> str:
    return " ".join(blank.lower().split())


def blanks_in(template: str) -> list[str]:
    """The blanks of ``template``, as written, in order."""
    return BLANK.findall(template)


def split_blanks(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_blank) parts, so a page can mark the
    blanks still to fill (``[benefit]``) without marking user text as HTML."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in BLANK.finditer(text):
        if match.start() > position:
            parts.append((text[position : match.start()], False))
        parts.append((match.group(0), True))
        position = match.end()
    if position < len(text):
        parts.append((text[position:], False))
    return parts


def fill_template(
    template: str,
    deal_issues: Iterable[IssueLike | str],
    *,
    shared_goal: str = "",
    their_priorities: Sequence[IssueLike | str] = (),
    our_priorities: Sequence[IssueLike | str] = (),
    values: Mapping[str, str] | None = None,
) -> str:
    """``template`` with its blanks filled where the deal says what belongs
    there; other blanks are left visible (see the module doc).

    ``deal_issues`` are Issue rows (or their names) in agenda order;
    ``their_priorities`` / ``our_priorities`` are the issues each side has
    shared as most important, best first.
    """
    agenda = [issue for issue in map(_as_issue, deal_issues) if issue.name]
    # Flexible issues first: they are the ones a sentence can propose to move.
    issues = sorted(agenda, key=lambda issue: not issue.flexible)
    explicit = {_normal(name): value for name, value in (values or {}).items()}
    used: set[str] = set()

    def take(candidates: Iterable[_Issue], *, movable_only: bool) -> str | None:
        for issue in candidates:
            if not issue.name or issue.name.lower() in used:
                continue
            if movable_only and not issue.flexible:
                continue
            used.add(issue.name.lower())
            return issue.name
        return None

    def fill_one(blank: str) -> str | None:
        name = _normal(blank)
        if explicit.get(name):
            return explicit[name]
        if name in GOAL_BLANKS:
            # The template carries its own punctuation.
            return shared_goal.strip().rstrip(".;!") or None
        if name in THEIR_PRIORITY_BLANKS:
            return take(map(_as_issue, their_priorities), movable_only=False)
        if name in OUR_PRIORITY_BLANKS:
            return take(map(_as_issue, our_priorities), movable_only=False)
        if name in ANY_ISSUE_BLANKS:
            return take(issues, movable_only=False)
        if name in MOVABLE_ISSUE_BLANKS:
            return take(issues, movable_only=True)
        return None

    # Priority blanks claim their issues first, so that a generic [issue]
    # earlier in the sentence does not take the issue a priority names.
    matches = list(BLANK.finditer(template))
    filled: dict[int, str] = {}
    priority_first = sorted(
        range(len(matches)),
        key=lambda i: (
            _normal(matches[i].group(1))
            not in THEIR_PRIORITY_BLANKS | OUR_PRIORITY_BLANKS
        ),
    )
    for index in priority_first:
        blank = matches[index].group(1)
        parts = [part for part in blank.split("/") if part.strip()]
        if len(parts) > 1 and _normal(blank) not in explicit:
            pieces = [fill_one(part) for part in parts]
            if any(pieces):
                filled[index] = " and ".join(
                    piece or f"[{part.strip()}]"
                    for piece, part in zip(pieces, parts, strict=True)
                )
            continue
        value = fill_one(blank)
        if value:
            filled[index] = value

    out, position = [], 0
    for index, match in enumerate(matches):
        out.append(template[position : match.start()])
        out.append(filled.get(index, match.group(0)))
        position = match.end()
    out.append(template[position:])
    return "".join(out)

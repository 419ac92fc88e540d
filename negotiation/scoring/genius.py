"""Reading a GENIUS negotiation domain and its additive profiles (XML).

GENIUS (the negotiation research platform) describes a domain in one file
(``<negotiation_template><utility_space><objective>`` holding ``<issue>``
elements, each with its ``<item value="…"/>`` values) and each side's
preferences in another (the same issues, each item with an ``evaluation``,
per-issue weights, a ``<reservation value="…"/>``). Its additive utility is
the sum over issues of weight × (the value's evaluation ÷ the issue's highest
evaluation), which is what ``Profile`` computes once the evaluations are so
normalised here.

Only discrete issues are read. Weights are accepted where GENIUS files put
them: ``<weight index="i" value="…"/>`` beside the issues (``i`` the issue's
index), a ``<weight value="…"/>`` inside an issue, or a ``weight`` attribute
on the issue; they are scaled to add up to exactly 1 (files often say
0.33 + 0.33 + 0.34 or leave a rounding error). A missing reservation is 0.
Every problem raises ``GeniusError`` with a sentence naming the file.

Parsing goes through defusedxml, so a file with entity tricks or a DTD is
refused rather than expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from negotiation.scoring.profiles import (
    Domain,
    IssueScoring,
    OptionIssue,
    Profile,
    exact,
)


class GeniusError(ValueError):
    """A GENIUS file that cannot be read, with the reason in plain words."""


@dataclass(frozen=True)
class GeniusIssue:
    """An issue as the files name it: GENIUS matches weights by index."""

    index: str
    name: str
    element: Element


def _root(path: Path) -> Element:
    try:
        return SafeTree.parse(path).getroot()
    except FileNotFoundError:
        raise GeniusError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise GeniusError(f"{path} is a folder, not a file.") from None
    except ParseError as error:
        raise GeniusError(f"{path} is not well-formed XML ({error}).") from None
    except DefusedXmlException:
        raise GeniusError(
            f"{path} declares a DTD or entities, which are refused for safety."
        ) from None


def _issues(root: Element, path: Path) -> list[GeniusIssue]:
    issues = []
    for element in root.iter("issue"):
        name = (element.get("name") or "").strip()
        if not name:
            raise GeniusError(f"{path}: an issue has no name.")
        kinds = {element.get(key, "discrete") for key in ("type", "etype", "vtype")}
        if kinds - {"discrete"}:
            raise GeniusError(
                f"{path}: the issue “{name}” is {' / '.join(sorted(kinds))}; "
                "only discrete issues can be read."
            )
        issues.append(GeniusIssue(element.get("index", ""), name, element))
    if not issues:
        raise GeniusError(f"{path} holds no issue.")
    names = [issue.name for issue in issues]
    if len(set(names)) != len(names):
        raise GeniusError(f"{path}: two issues share a name.")
    return issues


def _number(text: str | None, what: str, path: Path) -> Fraction:
    try:
        number = exact(text)
    except ValueError:
        raise GeniusError(f"{path}: {what} is “{text}”, not a number.") from None
    if number < 0:
        raise GeniusError(f"{path}: {what} is negative.")
    return number


def read_domain(path: str | Path) -> Domain:
    """The domain a GENIUS domain file describes (discrete issues)."""
    path = Path(path)
    issues = []
    for issue in _issues(_root(path), path):
        values = [item.get("value") for item in issue.element.iter("item")]
        if not values:
            raise GeniusError(f"{path}: the issue “{issue.name}” has no values.")
        if None in values:
            raise GeniusError(f"{path}: a value of “{issue.name}” has no name.")
        if len(set(values)) != len(values):
            raise GeniusError(f"{path}: the issue “{issue.name}” lists a value twice.")
        issues.append(OptionIssue(issue.name, tuple(values)))
    return Domain(tuple(issues))


def _weights(root: Element, issues: list[GeniusIssue], path: Path) -> list[Fraction]:
    by_index = {issue.index: issue.name for issue in issues if issue.index}
    objectives = {element.get("index") for element in root.iter("objective")}
    found: dict[str, Fraction] = {}

    def note(name: str, text: str | None) -> None:
        weight = _number(text, f"the weight of “{name}”", path)
        if name in found and found[name] != weight:
            raise GeniusError(f"{path} gives “{name}” two different weights.")
        found[name] = weight

    inside = set()
    for issue in issues:
        if issue.element.get("weight") is not None:
            note(issue.name, issue.element.get("weight"))
        for element in issue.element.iter("weight"):
            inside.add(element)
            note(issue.name, element.get("value"))
    for element in root.iter("weight"):
        if element in inside:
            continue
        index = element.get("index")
        if index is None:
            raise GeniusError(f"{path}: a weight outside the issues names no issue.")
        if index in by_index:
            note(by_index[index], element.get("value"))
        elif index not in objectives:
            raise GeniusError(
                f"{path}: a weight refers to issue {index}, which is not there."
            )
    missing = [issue.name for issue in issues if issue.name not in found]
    if missing:
        raise GeniusError(f"{path}: no weight for {', '.join(missing)}.")
    total = sum(found.values())
    if total == 0:
        raise GeniusError(f"{path}: the weights add up to 0.")
    return [found[issue.name] / total for issue in issues]


def read_profile(path: str | Path, domain: Domain) -> Profile:
    """One side's additive profile over ``domain`` from a GENIUS profile."""
    path = Path(path)
    root = _root(path)
    issues = {issue.name: issue for issue in _issues(root, path)}
    if set(issues) != set(domain.names):
        missing = sorted(set(domain.names) - set(issues))
        extra = sorted(set(issues) - set(domain.names))
        problem = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"not in the domain: {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise GeniusError(f"{path} does not describe the domain's issues ({problem}).")
    ordered = [issues[name] for name in domain.names]
    weights = _weights(root, ordered, path)
    scorings = []
    for issue, domain_issue, weight in zip(
        ordered, domain.issues, weights, strict=True
    ):
        evaluations: dict[str, Fraction] = {}
        for item in issue.element.iter("item"):
            value = item.get("value")
            if value not in domain_issue.options:
                raise GeniusError(
                    f"{path}: “{value}” is not a value of “{issue.name}” in the domain."
                )
            evaluations[value] = _number(
                item.get("evaluation"), f"the evaluation of “{value}”", path
            )
        unrated = [value for value in domain_issue.options if value not in evaluations]
        if unrated:
            raise GeniusError(
                f"{path}: no evaluation for {', '.join(unrated)} of “{issue.name}”."
            )
        highest = max(evaluations.values())
        ratings = tuple(
            (value, evaluation / highest if highest else Fraction(0))
            for value, evaluation in evaluations.items()
        )
        scorings.append(IssueScoring(weight, ratings=ratings))
    reservation = root.find(".//reservation")
    value = Fraction(0)
    if reservation is not None:
        value = _number(reservation.get("value"), "the reservation value", path)
        if value > 1:
            raise GeniusError(f"{path}: the reservation value is above 1.")
    return Profile(domain, tuple(scorings), value)


def read_negotiation(
    domain_path: str | Path, profile_a: str | Path, profile_b: str | Path
) -> tuple[Domain, Profile, Profile]:
    """A GENIUS domain file and the two sides' profile files, read together."""
    domain = read_domain(domain_path)
    return domain, read_profile(profile_a, domain), read_profile(profile_b, domain)

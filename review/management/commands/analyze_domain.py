"""The Pareto frontier and the Nash point of a GENIUS negotiation.

    python manage.py analyze_domain DOMAIN.xml PROFILE_A.xml PROFILE_B.xml [--json]

With ``--json`` it prints one JSON object: ``issues`` (each with its values),
``outcomes`` (how many complete packages the domain holds), ``frontier``
(every efficient package with its two utilities, on GENIUS's 0–1 scale,
sorted by side A's), ``nash`` (or null when no package clears both
reservations) and ``seconds`` (the time the frontier and the Nash point
took, the files' reading excluded). Without it, a short summary for people.
"""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from negotiation.scoring.frontier import FrontierPoint, frontier_of
from negotiation.scoring.genius import GeniusError, read_negotiation


def _point(point: FrontierPoint) -> dict:
    return {
        "outcome": {name: str(value) for name, value in point.outcome.items()},
        "utilities": list(point.utilities),
    }


class Command(BaseCommand):
    help = "Print the Pareto frontier and the Nash point of a GENIUS domain."

    def add_arguments(self, parser) -> None:
        parser.add_argument("domain", help="The GENIUS domain file (XML).")
        parser.add_argument("profile_a", help="Side A's GENIUS profile (XML).")
        parser.add_argument("profile_b", help="Side B's GENIUS profile (XML).")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object."
        )

    def handle(self, *args, **options) -> None:
        try:
            domain, a, b = read_negotiation(
                options["domain"], options["profile_a"], options["profile_b"]
            )
        except GeniusError as error:
            raise CommandError(str(error)) from None
        except ValueError as error:
            raise CommandError(
                f"The files do not make a usable domain: {error}"
            ) from None
        started = time.perf_counter()
        frontier = frontier_of(a, b)
        nash = frontier.nash
        seconds = time.perf_counter() - started
        points = frontier.points()
        nash_point = None if nash is None else points[nash]
        if options["json"]:
            report = {
                "issues": [
                    {"name": issue.name, "values": list(issue.values)}
                    for issue in domain.issues
                ],
                "outcomes": domain.outcomes,
                "frontier": [_point(point) for point in points],
                "nash": None if nash_point is None else _point(nash_point),
                "seconds": round(seconds, 6),
            }
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(
            f"{len(domain.issues)} issues, {domain.outcomes} packages, "
            f"{len(points)} on the Pareto frontier ({seconds:.4f} s)."
        )
        if nash_point is None:
            self.stdout.write("No package clears both reservations: no ZOPA.")
        else:
            terms = ", ".join(f"{k}: {v}" for k, v in nash_point.outcome.items())
            ua, ub = nash_point.utilities
            self.stdout.write(f"Nash point: {terms} (A {ua:.3f}, B {ub:.3f}).")

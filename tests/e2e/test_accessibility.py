"""axe-core on every page of the tour, for each role: nothing serious or critical.

Each stop of the README's tour (``tests/e2e/conftest.py``: ``Tour``) is opened
in its role's own browser (a visitor, the demo rep, the counterpart who joins
through the share link, the demo manager) and checked by axe-core, through
axe-playwright-python (which bundles axe-core). Every page's violations, by
impact, are printed and written to ``test-results/axe.json``; any violation of
impact "serious" or "critical" fails the test, naming the rule and the nodes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.e2e.conftest import TourStop, walk_tour

BLOCKING = {"serious", "critical"}
REPORT = Path("test-results") / "axe.json"


def _node(node: dict) -> str:
    """Where a violation is, and axe's own words for what is wrong there."""
    checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
    words = "; ".join(check["message"] for check in checks)
    return f"{', '.join(node['target'])}: {words}"


@pytest.mark.django_db(transaction=True)
def test_no_page_of_the_tour_has_a_serious_or_critical_axe_violation(
    tour, context_factory
):
    axe = Axe()
    results: list[dict] = []
    failures: list[str] = []

    def check(stop: TourStop, page: Page) -> None:
        violations = axe.run(page).response["violations"]
        by_impact = Counter(v["impact"] for v in violations)
        results.append(
            {
                "role": stop.role,
                "page": stop.name,
                "url": page.url,
                "violations": dict(by_impact),
                "rules": {
                    f"{v['id']} ({v['impact']})": [_node(n) for n in v["nodes"]]
                    for v in violations
                },
            }
        )
        for violation in violations:
            if violation["impact"] in BLOCKING:
                targets = [", ".join(node["target"]) for node in violation["nodes"]]
                failures.append(
                    f"{stop.role} · {stop.name}: {violation['id']} "
                    f"({violation['impact']}) on {targets[:5]}"
                )

    walk_tour(tour, context_factory, check)

    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(results, indent=2), encoding="utf-8")
    for row in results:
        print(f"axe {row['role']:<11} {row['page']:<28} {row['violations'] or 'none'}")
    assert len(results) == len(tour.stops)
    assert not failures, "\n".join(failures)

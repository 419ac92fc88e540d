"""Chart labels read at 12 px or more, on a laptop and on a phone.

The manager's stops of the tour (the dashboard, a closed deal's review) are
measured at 1366 and 390 px wide: every ``<text>`` of every chart, at its
rendered size (its font size times the chart's scale on screen).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import TourStop, walk_tour

SMALLEST_PX = 12
WIDTHS = (1366, 390)

RENDERED_TEXT = """() => [...document.querySelectorAll("svg.chart text")]
  .map((text) => ({
  text: text.textContent,
  chart: text.closest("svg").querySelector("title").textContent,
  px: parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a,
}))"""


@pytest.mark.django_db(transaction=True)
def test_every_chart_label_is_at_least_12_px(tour, context_factory):
    measured: dict[str, int] = {}
    too_small: list[str] = []

    def measure(stop: TourStop, page: Page) -> None:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(50)
            labels = page.evaluate(RENDERED_TEXT)
            measured[f"{stop.name}@{width}"] = len(labels)
            too_small.extend(
                f"{stop.name} at {width}px: “{label['text']}” in "
                f"{label['chart']} is {label['px']:.1f} px"
                for label in labels
                if label["px"] < SMALLEST_PX - 0.01
            )

    walk_tour(tour, context_factory, measure, roles={"manager"})

    assert measured["dashboard@1366"] > 0
    assert measured["review@1366"] > 0
    assert not too_small, "\n".join(too_small)

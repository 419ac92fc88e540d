"""No page of the tour scrolls sideways on a phone (360 and 390 px wide).

Every stop of the tour (deal, preparation, room for both sides, review,
dashboard, playbooks, join…) is loaded and measured at both widths:
``document.documentElement.scrollWidth`` must not exceed ``innerWidth``. A
failure names the elements that stick out past the right edge.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import TourStop, walk_tour

PHONE_WIDTHS = (360, 390)

OVERFLOW = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  culprits: [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    // The outermost element that sticks out, unless it scrolls inside its box.
    .filter((el) => el.parentElement.getBoundingClientRect().right
      <= window.innerWidth + 0.5)
    .filter((el) => !el.parentElement.closest(".table-wrap, .chart-frame"))
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (el.className && typeof el.className === "string"
         ? "." + el.className.trim().split(/\\s+/).join(".") : "")
      + " (" + Math.round(el.getBoundingClientRect().right) + "px)"),
})"""


# Through the CSSOM: the CSP forbids style attributes, not this.
WIDEN = """() => {
  const wide = document.createElement("div");
  wide.id = "too-wide";
  wide.style.setProperty("width", "1000px");
  document.body.append(wide);
}"""


@pytest.mark.django_db(transaction=True)
def test_no_page_of_the_tour_scrolls_sideways_at_phone_width(tour, context_factory):
    measured: list[str] = []
    too_wide: list[str] = []

    def measure(stop: TourStop, page: Page) -> None:
        if not measured:  # the probe itself catches a page that is too wide
            page.set_viewport_size({"width": PHONE_WIDTHS[0], "height": 780})
            page.evaluate(WIDEN)
            assert page.evaluate(OVERFLOW)["culprits"] == ["div#too-wide (1000px)"]
            page.evaluate("document.getElementById('too-wide').remove()")
        for width in PHONE_WIDTHS:
            page.set_viewport_size({"width": width, "height": 780})
            page.wait_for_timeout(50)  # one layout after the resize
            found = page.evaluate(OVERFLOW)
            measured.append(f"{stop.role}/{stop.name}@{width}")
            if found["scrollWidth"] > found["innerWidth"]:
                too_wide.append(
                    f"{stop.role} · {stop.name} at {width}px: "
                    f"{found['scrollWidth']}px wide; {found['culprits']}"
                )

    walk_tour(
        tour,
        context_factory,
        measure,
        viewport={"width": PHONE_WIDTHS[-1], "height": 780},
    )

    assert len(measured) == len(tour.stops) * len(PHONE_WIDTHS)
    assert not too_wide, "\n".join(too_wide)

"""The tour leaves the browser console clean: no error, no CSP violation.

Every page of the tour is opened in its role's browser with listeners on the
console (messages of type "error"), on uncaught page errors and on the
document's ``securitypolicyviolation`` events (reported through a binding, so
a violation during a later swap or navigation is caught too). In the room,
each side also sends a message, so the live updates the other side receives
are part of the run.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import LIVE_TIMEOUT, TourStop, walk_tour

REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__parleyCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


# What the CSP forbids: a style attribute written as markup.
INLINE_STYLE = """() => document.body.insertAdjacentHTML(
  "beforeend", '<p style="color: red">x</p>')"""


@pytest.mark.django_db(transaction=True)
def test_the_tour_logs_no_console_error_and_no_csp_violation(tour, context_factory):
    problems: list[str] = []
    rooms: dict[str, Page] = {}
    visited: list[str] = []

    def listen(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                problems.append(f"console error on {page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.expose_function(
            "__parleyCspViolation",
            lambda text: problems.append(f"CSP violation on {page.url}: {text}"),
        )
        page.add_init_script(REPORT_CSP)

    def visit(stop: TourStop, page: Page) -> None:
        if not visited:  # the listeners do catch a violation
            page.evaluate(INLINE_STYLE)
            page.wait_for_timeout(100)
            assert problems, "a blocked inline style went unnoticed"
            problems.clear()
        visited.append(f"{stop.role}/{stop.name}")
        if stop.name == "room":
            rooms[stop.role] = page

    walk_tour(tour, context_factory, visit, on_new_page=listen)

    # Live updates: each side says something, the other side sees it arrive.
    room_url = f"/room/{tour.deal_id}/"
    for page in rooms.values():
        page.goto(room_url)
        expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    for sender, receiver, words in (
        ("rep", "counterpart", "Shall we start with the fee?"),
        ("counterpart", "rep", "Yes, and the payment terms next."),
    ):
        form = rooms[sender].locator("form:has(#message-body)")
        form.locator("#message-body").fill(words)
        form.get_by_role("button", name="Send", exact=True).click()
        expect(rooms[receiver].get_by_text(words)).to_be_visible(timeout=LIVE_TIMEOUT)

    assert len(visited) == len(tour.stops)
    assert not problems, "\n".join(problems)

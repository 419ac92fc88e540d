"""The priority matrix and the anchor worksheet lose no work, in a real browser.

Three issue cards are filled in; leaving the page then asks first (and staying
keeps every value typed); one save keeps all three, and once saved the page
lets the rep leave without asking. The anchor worksheet is one form too,
saved all or none.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from negotiation.models import AnchorEntry, PriorityEntry
from tests.e2e.conftest import PASSWORD
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

ROWS = {
    "Price": ("5 · essential", "A two-year term"),
    "Payment terms": ("3 · important", "Payment at 30 days"),
    "Onboarding": ("2 · useful", "A named contact"),
}


def _log_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile(r"^Username")).fill("riley")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deals")


@pytest.mark.django_db(transaction=True)
def test_three_cards_edited_then_saved_once_all_persist(page: Page):
    rep = UserFactory(username="riley")
    MembershipFactory(user=rep)
    deal = make_deal(owner=rep, title="Depot renewal")
    for position, name in enumerate(ROWS):
        IssueFactory(deal=deal, name=name, position=position)
    _log_in(page)
    page.goto(f"/deals/{deal.pk}/prep/matrix/")

    for name, (importance, want) in ROWS.items():
        card = page.get_by_role("article", name=name)
        card.get_by_label(re.compile(r"^Importance to you")).select_option(
            label=importance
        )
        wanted = card.get_by_label(re.compile(r"^What you want in return"))
        wanted.click()
        wanted.fill(want)

    # Leaving with unsaved edits asks first; staying keeps what was typed.
    asked: list[str] = []

    def stay(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.once("dialog", stay)
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Walk-away"
    ).click()
    for _ in range(40):
        if asked:
            break
        page.wait_for_timeout(50)
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/prep/matrix/$"))
    for name, (_, want) in ROWS.items():
        card = page.get_by_role("article", name=name)
        expect(
            card.get_by_label(re.compile(r"^What you want in return"))
        ).to_have_value(want)

    page.get_by_role("button", name="Save the matrix").click()

    expect(page.locator(".messages")).to_contain_text(
        "Priority matrix: “Price”, “Payment terms”, “Onboarding” saved."
    )
    saved = {
        entry.issue.name: (entry.importance, entry.want_get)
        for entry in PriorityEntry.objects.select_related("issue")
    }
    assert saved == {
        name: (int(importance[0]), want) for name, (importance, want) in ROWS.items()
    }
    for name, (importance, _) in ROWS.items():
        expect(
            page.get_by_role("article", name=name).locator(".card-head .badge")
        ).to_have_text(f"Importance {importance[0]} / 5")

    # Saved: nothing to lose, so leaving does not ask.
    page.on("dialog", lambda dialog: asked.append(dialog.type))
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Walk-away"
    ).click()
    expect(page).to_have_url(re.compile(r"/prep/walkaway/$"))
    assert asked == ["beforeunload"]


@pytest.mark.django_db(transaction=True)
def test_the_anchor_worksheet_saves_all_rows_or_none(page: Page):
    """Two ranges typed, one upside down: nothing is saved, the error shows
    on its card and both cards keep what was typed; fixed, one save keeps
    both."""
    rep = UserFactory(username="riley")
    MembershipFactory(user=rep)
    deal = make_deal(owner=rep, title="Depot renewal")
    for position, name in enumerate(("Price", "Payment terms")):
        IssueFactory(deal=deal, name=name, unit="", position=position)
    _log_in(page)
    page.goto(f"/deals/{deal.pk}/prep/anchors/")

    price = page.get_by_role("article", name="Price")
    terms = page.get_by_role("article", name="Payment terms")
    price.get_by_label(re.compile(r"^Low end")).fill("98000")
    price.get_by_label(re.compile(r"^High end")).fill("115000")
    terms.get_by_label(re.compile(r"^Low end")).fill("60")
    terms.get_by_label(re.compile(r"^High end")).fill("30")
    page.get_by_role("button", name="Save the worksheet").click()

    expect(terms.locator(".error-text")).to_contain_text(
        "The high end must not be below the low end"
    )
    expect(price.locator(".error-text")).to_have_count(0)
    expect(price.get_by_label(re.compile(r"^High end"))).to_have_value("115000")
    assert not AnchorEntry.objects.exists()

    terms.get_by_label(re.compile(r"^High end")).fill("90")
    page.get_by_role("button", name="Save the worksheet").click()
    expect(page.locator(".messages")).to_contain_text(
        "Anchor worksheet: “Price”, “Payment terms” saved."
    )
    saved = {e.issue.name: (e.low, e.high) for e in AnchorEntry.objects.all()}
    assert saved == {"Price": (98000, 115000), "Payment terms": (60, 90)}

"""A new share link has a Copy button, in a real browser.

With the clipboard API allowed, Copy puts the link on the clipboard and says
so; without it, Copy selects the whole link for the keyboard and says that.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import PASSWORD
from tests.factories import MembershipFactory, UserFactory, make_deal

NO_CLIPBOARD = "Object.defineProperty(navigator, 'clipboard', {value: undefined})"


def _new_link(page: Page) -> str:
    rep = UserFactory(username="riley")
    MembershipFactory(user=rep)
    deal = make_deal(owner=rep, title="Depot renewal")
    page.goto("/accounts/login/")
    page.get_by_label(re.compile(r"^Username")).fill("riley")
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.goto(f"/deals/{deal.pk}/invites/")
    page.get_by_label(re.compile(r"^Who is this link for")).fill("Dana")
    page.get_by_role("button", name="Create link").click()
    link = page.get_by_label("Send this link to the person it is for:")
    expect(link).to_have_value(re.compile(r"/join/#"))
    return link.input_value()


@pytest.mark.django_db(transaction=True)
def test_copy_puts_the_new_link_on_the_clipboard(
    context_factory: Callable[..., BrowserContext],
):
    context = context_factory()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    link = _new_link(page)

    page.get_by_role("button", name="Copy", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link


@pytest.mark.django_db(transaction=True)
def test_without_the_clipboard_api_copy_selects_the_link(
    context_factory: Callable[..., BrowserContext],
):
    page = context_factory().new_page()
    page.add_init_script(NO_CLIPBOARD)
    link = _new_link(page)

    page.get_by_role("button", name="Copy", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="selected")).to_be_visible()
    field = page.get_by_label("Send this link to the person it is for:")
    expect(field).to_be_focused()
    selected = field.evaluate("(f) => f.value.slice(f.selectionStart, f.selectionEnd)")
    assert selected == link

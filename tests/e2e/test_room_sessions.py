"""A rep who logs out in another tab sees the room say so, and it stays shut."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

PASSWORD = "correct-horse-9"  # UserFactory's


@pytest.mark.django_db(transaction=True)
def test_logging_out_in_another_tab_ends_the_live_room_with_a_clear_message(
    context_factory: Callable[..., BrowserContext],
) -> None:
    rep = MembershipFactory(user=UserFactory(username="leaving-rep")).user
    deal = make_deal(owner=rep, title="Renewal")
    IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
    context = context_factory()
    room = context.new_page()
    room.goto("/accounts/login/")
    room.get_by_label(re.compile(r"^Username")).fill("leaving-rep")
    room.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    room.locator("main").get_by_role("button", name="Log in").click()
    room.goto(f"/room/{deal.pk}/")
    status = room.locator("#live-status")
    expect(status).to_have_text("Live")

    other_tab = context.new_page()
    other_tab.goto("/deals/")
    other_tab.get_by_role("button", name=re.compile(r"^Log out")).click()

    expect(status).to_have_text(
        "You are signed out. Reload the page to sign in again.", timeout=2_000
    )
    other_tab.wait_for_timeout(1_500)  # longer than the first reconnect delay
    expect(status).to_have_text(re.compile(r"^You are signed out"))

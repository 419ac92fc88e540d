"""The guest's attention box and tab title follow the host's trade live; a
guest who comes back after being away reads what happened meanwhile."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal
from room.services import invite_create
from tests.e2e.conftest import enter_room
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal


def _propose(rep: Page, give: str, ask: str) -> None:
    form = rep.locator("#region-trades > form.trade-form")
    form.get_by_label(re.compile(r"^What we give")).fill(give)
    form.get_by_label(re.compile(r"^Issue we give on")).select_option(label="Price")
    form.get_by_label(re.compile(r"^What we ask for")).fill(ask)
    form.get_by_label(re.compile(r"^Issue we ask on")).select_option(
        label="Payment terms"
    )
    form.get_by_role("button", name="Propose this trade").click()


@pytest.mark.django_db(transaction=True)
def test_the_guest_sees_what_waits_live_and_what_happened_while_away(
    context_factory: Callable[..., BrowserContext],
) -> None:
    rep = UserFactory(username="riley")
    MembershipFactory(user=rep)
    deal = make_deal(owner=rep, title="Fleet renewal")
    IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
    IssueFactory(deal=deal, name="Payment terms", unit="days", position=1)
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
    _, token = invite_create(access=deal_access_for_user(rep, deal.pk))
    host_page = context_factory().new_page()
    guest_page = context_factory().new_page()
    enter_room(host_page, guest_page, deal.pk, token)

    box = guest_page.locator("#room-attention")
    expect(box).to_contain_text("Your next move")
    expect(guest_page).to_have_title(re.compile(r"^Fleet renewal"))

    _propose(host_page, "5% off", "30 days sooner")

    expect(box).to_contain_text("Waiting for you", timeout=5_000)
    expect(box).to_have_attribute("data-count", "1")
    expect(box.get_by_role("link", name="Answer their trade")).to_be_visible()
    expect(guest_page).to_have_title(re.compile(r"^\(1\) Fleet renewal"))
    # The proposer waits for nothing: its own box keeps the suggested move.
    expect(host_page.locator("#room-attention")).to_contain_text("Your next move")

    # The guest goes away (its socket closes); the host proposes again.
    guest_page.goto("/playbooks/")
    guest_page.wait_for_timeout(1_000)
    _propose(host_page, "8% off", "45 days sooner")
    expect(host_page.locator("#trade-list > li.trade")).to_have_count(2)

    guest_page.goto(f"/room/{deal.pk}/")
    away = guest_page.locator("#room-away")
    expect(away).to_contain_text("While you were away")
    expect(away).to_contain_text("8% off")
    expect(away).not_to_contain_text("5% off")  # seen before leaving
    expect(guest_page).to_have_title(re.compile(r"^\(2\) Fleet renewal"))
    newest = guest_page.locator("#trade-list > li.trade").first
    expect(newest).to_have_class(re.compile(r"\bunread\b"))

    away.get_by_role("button", name="Got it").click()
    expect(away).to_have_count(0)
    expect(newest).not_to_have_class(re.compile(r"\bunread\b"))
    guest_page.reload()
    expect(guest_page.locator("#room-away")).to_have_count(0)


@pytest.mark.django_db(transaction=True)
def test_a_revoked_guests_room_goes_inert_and_the_next_page_says_access_ended(
    context_factory: Callable[..., BrowserContext],
) -> None:
    rep = UserFactory(username="riley")
    MembershipFactory(user=rep)
    deal = make_deal(owner=rep, title="Fleet renewal")
    IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
    _, token = invite_create(access=deal_access_for_user(rep, deal.pk))
    host_page = context_factory().new_page()
    guest_page = context_factory().new_page()
    enter_room(host_page, guest_page, deal.pk, token)
    expect(guest_page.locator("header")).to_contain_text("Sam Rivera")
    expect(guest_page.locator("header")).not_to_contain_text("Sign up")

    host_page.goto(f"/deals/{deal.pk}/invites/")
    host_page.get_by_role("button", name=re.compile(r"^Revoke and remove Sam")).click()

    expect(guest_page.locator(".room-ended-notice")).to_contain_text(
        "Your access to this room ended", timeout=5_000
    )
    expect(guest_page.locator(".room-grid")).to_have_attribute("inert", "")
    guest_page.reload()
    expect(guest_page.locator("h1")).to_have_text("Your access to this room has ended")

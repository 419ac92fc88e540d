"""Sharing a matrix cell that holds the walk-away figure, in a real browser:
the rep ticks "share" on a cell that says "€104k" (the walk-away is 104,000),
is held back next to the form, and the figure reaches the other side only
once the rep confirms."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, Party, Preparation, PriorityEntry
from room.models import SharedPosition
from room.services import invite_create
from tests.e2e.conftest import LIVE_TIMEOUT, enter_room
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

CELL = "We can go down to €104k on the yearly fee"


def _set_up() -> tuple[Deal, str]:
    rep = UserFactory(username="riley", first_name="Riley")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(owner=rep, title="Depot renewal", counterpart_organisation="Acme")
    price = IssueFactory(deal=deal, name="Yearly fee", unit="EUR", position=0)
    IssueFactory(deal=deal, name="Payment terms", unit="days", position=1)
    host = deal.parties.get(side=Party.Side.HOST)
    Preparation.objects.filter(party=host).update(reservation_value=Decimal(104000))
    PriorityEntry.objects.create(party=host, issue=price, importance=5, can_give=CELL)
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.FIRST_MOVE)
    _, token = invite_create(access=deal_access_for_user(rep, deal.pk), label="Sam")
    return deal, token


def _share(rep: Page) -> None:
    form = rep.locator("form[data-action='position.update']")
    form.get_by_label("share “can give”").check()
    form.get_by_role("button", name="Share with the other side").click()


@pytest.mark.django_db(transaction=True)
def test_a_shared_cell_holding_the_walk_away_is_held_back_until_confirmed(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token = _set_up()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    enter_room(rep, guest, deal.pk, token)

    _share(rep)

    notice = rep.locator("#room-notice")
    expect(notice).to_contain_text("walk-away figure", timeout=LIVE_TIMEOUT)
    # Next to the form the rep used, not at the top of the page.
    assert notice.evaluate(
        "(n) => n.previousElementSibling"
        " && n.previousElementSibling.dataset.action === 'position.update'"
    )
    guest.wait_for_timeout(500)
    expect(guest.locator("main")).not_to_contain_text("104k")
    assert not SharedPosition.objects.filter(party__deal=deal).exists()

    # Left alone (the rep reloads): nothing was shared, nothing is pending.
    rep.reload()
    expect(rep.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    expect(rep.locator("#room-notice")).to_be_empty()

    # Confirmed: now the cell reaches the other side.
    _share(rep)
    notice.get_by_role("button", name="Send it anyway").click()
    expect(guest.locator("main")).to_contain_text(CELL, timeout=LIVE_TIMEOUT)
    shared = SharedPosition.objects.get(party__deal=deal, party__side="host")
    assert shared.shared_matrix

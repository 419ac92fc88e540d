"""The over-sharing guard and the coach, in a real browser with both sides."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, Party, Preparation
from room.models import Message, Nudge
from room.services import invite_create
from tests.e2e.conftest import LIVE_TIMEOUT, enter_room
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal


def _set_up() -> tuple[Deal, str]:
    rep = UserFactory(username="riley", first_name="Riley")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(owner=rep, title="Depot renewal", counterpart_organisation="Acme")
    IssueFactory(deal=deal, name="Price", unit="EUR")
    IssueFactory(deal=deal, name="Payment terms", unit="days")
    Preparation.objects.filter(party__deal=deal, party__side=Party.Side.HOST).update(
        batna="Hand the depots to our Nordbank partner programme instead",
        reservation_value=Decimal("186500"),
    )
    _, token = invite_create(access=deal_access_for_user(rep, deal.pk), label="Sam")
    return deal, token


@pytest.mark.django_db(transaction=True)
def test_typing_the_walk_away_figure_warns_and_shares_nothing_until_confirmed(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token = _set_up()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    enter_room(rep, guest, deal.pk, token)

    discussion = rep.locator("#region-discussion")
    discussion.get_by_label("Message", exact=True).fill(
        "Between us, we could live with 186,500 a year."
    )
    discussion.get_by_role("button", name="Send").click()

    notice = rep.locator("#room-notice")
    expect(notice).to_contain_text("walk-away figure", timeout=LIVE_TIMEOUT)
    expect(notice.get_by_role("button", name="Send it anyway")).to_be_visible()
    # Next to the form that was held back, with the focus, and the text kept.
    assert notice.evaluate("(n) => n.previousElementSibling.id") == "message-form"
    assert rep.evaluate(
        "document.getElementById('room-notice').contains(document.activeElement)"
    )
    expect(discussion.get_by_label("Message", exact=True)).to_have_value(
        "Between us, we could live with 186,500 a year."
    )
    # Nothing reached the other side, and nothing was saved.
    guest.wait_for_timeout(500)
    expect(guest.locator("#region-discussion")).not_to_contain_text("186,500")
    assert not Message.objects.filter(deal=deal).exists()
    # A held message leaves nothing behind, the warning included.
    assert not Nudge.objects.filter(deal=deal).exists()

    notice.get_by_role("button", name="Send it anyway").click()
    expect(guest.locator("#region-discussion")).to_contain_text(
        "we could live with 186,500", timeout=LIVE_TIMEOUT
    )
    assert Message.objects.filter(deal=deal).count() == 1
    # Sent: the held-back text is cleared from the box it was typed in.
    expect(discussion.get_by_label("Message", exact=True)).to_have_value("")
    # Sent anyway: the host's coach records it, privately.
    expect(rep.locator("#region-coach")).to_contain_text(
        "Over-sharing", timeout=LIVE_TIMEOUT
    )
    expect(guest.locator("#region-coach")).not_to_contain_text("Over-sharing")


@pytest.mark.django_db(transaction=True)
def test_the_batna_wording_is_caught_in_the_shared_purpose_too(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token = _set_up()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    enter_room(rep, guest, deal.pk, token)

    rep.locator("#purpose").fill(
        "Otherwise we hand the depots to our Nordbank partner programme."
    )
    rep.get_by_role("button", name="Save purpose and rules").click()
    expect(rep.locator("#room-notice")).to_contain_text("BATNA", timeout=LIVE_TIMEOUT)
    guest.wait_for_timeout(500)
    expect(guest.locator("#region-setup")).not_to_contain_text("Nordbank")
    deal.refresh_from_db()
    assert deal.shared_purpose == ""

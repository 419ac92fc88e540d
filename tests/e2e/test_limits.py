"""Never below your own walk-away without knowing it, in a real browser: the
rep accepts a trade that puts the price below its walk-away figure, is
stopped next to the button with a warning only it sees, and goes ahead on a
second confirmation."""

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, WebSocket, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, Party, Preparation, PriorityEntry
from room.models import Nudge, TermSheetEntry, Trade
from room.services import invite_create
from tests.e2e.conftest import LIVE_TIMEOUT, enter_room
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal


def _set_up() -> tuple[Deal, str, Trade]:
    """A seller with a walk-away of EUR 48,000 (aiming for 55,000), and an
    open trade from the buyer that would put the price at 45,000."""
    rep = UserFactory(username="riley", first_name="Riley")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(owner=rep, title="Depot renewal", counterpart_organisation="Acme")
    price = IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
    terms = IssueFactory(deal=deal, name="Payment terms", unit="days", position=1)
    host = deal.parties.get(side=Party.Side.HOST)
    Preparation.objects.filter(party=host).update(reservation_value=Decimal(48000))
    PriorityEntry.objects.create(
        party=host, issue=price, importance=5, ideal_outcome="55,000"
    )
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
    _, token = invite_create(access=deal_access_for_user(rep, deal.pk), label="Sam")
    return deal, token, (price, terms)


@pytest.mark.django_db(transaction=True)
def test_accepting_below_the_walk_away_takes_a_second_confirmation(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token, (price, terms) = _set_up()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    guest_frames: list[str] = []

    def listen(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: guest_frames.append(str(payload)))

    guest.on("websocket", listen)
    enter_room(rep, guest, deal.pk, token)

    # The buyer proposes, in the room: 30 days of payment terms for 45,000.
    proposal = guest.locator("form[data-action='trade.propose']").first
    proposal.get_by_label("What we give", exact=True).fill("30 days")
    proposal.get_by_label("Issue we give on").select_option(str(terms.pk))
    proposal.get_by_label("What we ask for", exact=True).fill("EUR 45,000")
    proposal.get_by_label("Issue we ask on").select_option(str(price.pk))
    proposal.get_by_role("button").click()

    accept = rep.locator("form[data-action='trade.accept']")
    expect(accept).to_be_visible(timeout=LIVE_TIMEOUT)
    trade = Trade.objects.get(deal=deal)
    accept.get_by_role("checkbox").check()
    accept.get_by_role("button", name=re.compile("Accept")).click()

    # Stopped, right under the button that was pressed, naming its figure.
    warning = rep.locator("#room-notice")
    expect(warning).to_contain_text(
        "below your walk-away figure of 48,000 EUR", timeout=LIVE_TIMEOUT
    )
    assert warning.evaluate(
        "(notice) => notice.previousElementSibling"
        " && notice.previousElementSibling.dataset.action === 'trade.accept'"
    )
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN
    assert not TermSheetEntry.objects.filter(deal=deal).exists()

    warning.get_by_role("button", name="Go ahead anyway").click()

    expect(guest.locator(f"#trade-{trade.pk}")).to_contain_text(
        "Accepted", timeout=LIVE_TIMEOUT
    )
    expect(rep.locator("#room-notice")).to_be_empty()
    trade.refresh_from_db()
    assert trade.status == Trade.Status.ACCEPTED
    assert TermSheetEntry.objects.get(issue=price).value == "EUR 45,000"
    # The rep's own coach keeps it for the review; the buyer has no record.
    nudge = Nudge.objects.get(deal=deal)
    assert (nudge.party.side, nudge.kind) == ("host", Nudge.Kind.BELOW_LIMIT)
    expect(rep.locator("#region-coach")).to_contain_text(
        "Went past your own limit", timeout=LIVE_TIMEOUT
    )

    # The buyer saw nothing of it: not in its page, not in any frame.
    guest.reload()
    expect(guest.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    for seen in [guest.content(), *guest_frames]:
        assert "48,000" not in seen
        assert "48000" not in seen
        assert "walk-away figure" not in seen.lower()
        assert "past your own limit" not in seen.lower()
